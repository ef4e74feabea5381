/**
 * `mrm up`'s wait for its workers (local-readiness.ts) against a real nats-server and a real
 * coordinator: a worker process that runs but never sends a heartbeat (stuck on its way to its
 * first one) fails the wait at the deadline with one line naming it, what it logged last and its
 * log (decisions/0043).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { isMrmError } from '@mrm/core';
import { type NatsServerHandle, startNatsServer } from '@mrm/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterPaths } from '../src/cluster/local-cluster-files.js';
import { waitForWorkers } from '../src/cluster/local-readiness.js';
import { MRM_BIN, tempDir } from './cli-helpers.js';

describe("mrm up's wait for workers", () => {
  let nats: NatsServerHandle;
  let temp: { dir: string; cleanup: () => void };
  const children: ChildProcess[] = [];

  /** Starts `node args…` with stdout and stderr appended to the cluster log of `name`. */
  const start = (name: string, args: readonly string[]): number => {
    const paths = clusterPaths(temp.dir);
    mkdirSync(paths.logs, { recursive: true });
    const log = openSync(paths.log(name), 'a');
    const child = spawn(process.execPath, [...args], { stdio: ['ignore', log, log] });
    children.push(child);
    return child.pid ?? 0;
  };

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: true });
    temp = tempDir();
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await nats.stop();
    temp.cleanup();
  });

  it('names a running worker the coordinator never listed, with its last log line and its log', async () => {
    const paths = clusterPaths(temp.dir);
    const pids = {
      coordinator: start('coordinator', [
        MRM_BIN,
        'coordinator',
        '--state',
        paths.state('coordinator'),
        '--nats',
        nats.url,
      ]),
      // Alive, and never a heartbeat: where a real worker would be stuck before its first beat.
      'merge-0': start('merge-0', ['-e', "console.error('opening partition state'); setInterval(() => {}, 1000);"]),
    };
    const timeoutMs = 12_000;
    const error = await waitForWorkers({ paths, deadline: Date.now() + timeoutMs, timeoutMs }, nats.url, pids, [
      'merge-0',
    ]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isMrmError(error)).toBe(true);
    expect((error as Error).message).toBe(
      `the local cluster in ${paths.root} was not ready after ${timeoutMs} ms: worker merge-0 running but not registered with the coordinator (merge-0 last logged: opening partition state) (read ${paths.log('merge-0')})`,
    );
  }, 60_000);
});
