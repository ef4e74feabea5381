/**
 * A worker whose start fails half-way (here: its metrics port is taken, as happened when `mrm up`
 * picked a port that another process bound first) prints one line and exits, having closed what
 * it opened. Before decisions/0043 it printed the line and lived on with its NATS connection
 * open, never sending a heartbeat, so `mrm up` waited for it until its deadline.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { type NatsServerHandle, startNatsServer } from '@mrm/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mrm, tempDir } from './cli-helpers.js';

/** A loopback port some other process listens on. */
function takenPort(): Promise<{ port: number; server: Server }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ port: typeof address === 'object' && address !== null ? address.port : 0, server });
    });
  });
}

describe('mrm worker whose start fails after it connected', () => {
  let nats: NatsServerHandle;
  let taken: { port: number; server: Server };
  let temp: { dir: string; cleanup: () => void };

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: true });
    taken = await takenPort();
    temp = tempDir();
  });

  afterAll(async () => {
    taken.server.close();
    await nats.stop();
    temp.cleanup();
  });

  it.each(['merge', 'map'] as const)('a %s worker exits with one line and releases its state dir', async (role) => {
    const state = join(temp.dir, role);
    const started = Date.now();
    const r = await mrm(
      [
        'worker',
        '--role',
        role,
        '--id',
        `${role}-0`,
        '--state',
        state,
        '--threads',
        '1',
        '--metrics-port',
        String(taken.port),
      ],
      { env: { MRM_NATS_URL: nats.url }, timeoutMs: 30_000 },
    );
    // Without the fix the process never exits: it is killed at the timeout.
    expect(r.signal, `still running after ${Date.now() - started} ms: ${r.stderr}`).toBeNull();
    expect(r.code).not.toBe(0);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('mrm: error: '));
    expect(errors).toEqual([`mrm: error: cannot listen for HTTP on 127.0.0.1:${taken.port}: EADDRINUSE`]);
    // What it had opened is closed, its state directory's lock included.
    expect(existsSync(join(state, 'LOCK'))).toBe(false);
  });
});
