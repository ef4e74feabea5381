import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ErrorCode } from '@mrm/core';
import { startNatsCluster } from '@mrm/testkit';
import { describe, expect, it } from 'vitest';

/** The cluster folders startNatsCluster leaves in the temporary directory. */
function clusterDirs(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('mrm-nats-cluster-'));
}

describe('startNatsCluster', () => {
  it('starts a cluster that did not come up again from scratch, and names every attempt when none does', async () => {
    const before = new Set(clusterDirs());
    // 1 ms is too short for any node to elect a metadata leader: every attempt fails.
    const failed = startNatsCluster({ nodes: 3, readyTimeoutMs: 1, retries: 2 });
    await expect(failed).rejects.toMatchObject({ code: ErrorCode.Transport });
    await expect(failed).rejects.toThrow(
      /was not ready after 1 ms \(after 2 earlier attempts: .*was not ready.*; .*was not ready/,
    );
    // Each attempt stopped its nodes and removed its folders.
    expect(clusterDirs().filter((name) => !before.has(name))).toEqual([]);
  });

  it('comes up on the first attempt when nothing is wrong', async () => {
    const nats = await startNatsCluster({ nodes: 3, retries: 0 });
    try {
      expect(nats.nodes.map((n) => n.running)).toEqual([true, true, true]);
    } finally {
      await nats.stop();
    }
  });
});
