/**
 * The state features on a cluster of real processes (nats-server, coordinator, one map and three
 * merge workers): the same version hash as embedded, dead letters listed through `--nats`, and
 * `--keep-versions` on `submit`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mrm, tempDir, writeJob } from './cli-helpers.js';
import { cleanEnv, copyInto, TestCluster } from './cluster-harness.js';
import { DAYS, POISON_JOB, perStatusSum, type VersionLine, versionsJson } from './state-helpers.js';

function parseLines<T>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as T);
}

describe('state features on a cluster', () => {
  let cluster: TestCluster | undefined;
  let cleanup: (() => void) | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    cleanup?.();
  });

  it('hashes like embedded with three merge workers, lists dead letters and prunes versions', async () => {
    const temp = tempDir();
    cleanup = temp.cleanup;
    const { dir } = temp;
    const days = copyInto(join(dir, 'in'), DAYS.slice(0, 2));
    const job = writeJob(dir, 'sum.ts', perStatusSum());
    // Embedded reference.
    const local = join(dir, 'local');
    const r = await mrm(['run', job, '--input', ...days, '--state', local, '--batch-size', '60', '-q'], {
      env: cleanEnv(),
    });
    expect(r.code, r.stderr).toBe(0);
    const embedded = (await versionsJson(local, 'per-status')).at(-1) as VersionLine;

    cluster = await TestCluster.start({ maps: 1, merges: 3 });
    const c = cluster;
    const submit = async (args: string[]) => {
      const s = await c.mrm(['submit', ...args, '--nats', c.url, '--wait']);
      if (s.code !== 0) throw new Error(`mrm submit failed (${s.code}): ${s.stderr}\n${c.logs()}`);
      return s;
    };
    await submit([job, '--input', days[0] as string, '--batch-size', '45', '--keep-versions', '1']);
    await submit([job, '--input', days[1] as string, '--batch-size', '45', '--keep-versions', '1']);
    const v = await c.mrm(['versions', '--nats', c.url, '--job', 'per-status', '--json']);
    expect(v.code, v.stderr).toBe(0);
    const versions = parseLines<VersionLine>(v.stdout);
    // --keep-versions 1: the older versions are gone, the newest has the embedded state's hash.
    expect(versions).toHaveLength(1);
    const last = versions[0] as VersionLine;
    expect(last.version).toBeGreaterThan(1);
    expect({ hash: last.hash, keys: last.keys, bytes: last.bytes }).toEqual({
      hash: embedded.hash,
      keys: embedded.keys,
      bytes: embedded.bytes,
    });

    const poison = writeJob(dir, 'poison.ts', POISON_JOB);
    const input = join(dir, 'poison.txt');
    writeFileSync(input, ['a b', 'POISON', 'boom c', 'c'].join('\n'));
    const s = await submit([poison, '--input', input, '--on-error', 'skip']);
    expect(s.stderr).toMatch(/2 dead letters/);
    const d = await c.mrm(['dead-letters', '--nats', c.url, '--job', 'poison']);
    expect(d.code, d.stderr).toBe(0);
    const letters = parseLines<Record<string, unknown>>(d.stdout);
    expect(letters).toHaveLength(2);
    expect(letters).toContainEqual(
      expect.objectContaining({ stage: 'map', line: 2, message: 'map threw: poisoned line' }),
    );
    expect(letters).toContainEqual(
      expect.objectContaining({ stage: 'reduce', key: 'boom', message: 'reduce threw: reduce cannot take boom' }),
    );
  }, 180_000);
});
