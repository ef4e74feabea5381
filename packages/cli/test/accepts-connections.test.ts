/**
 * `mrm up`'s probe of a starting nats-server (acceptsConnections) is bounded: a server whose
 * accept queue is full drops new connection attempts silently, and the kernel would retry such
 * an attempt for about two minutes, past any start-up deadline (decisions/0043).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { acceptsConnections } from '../src/cluster/local-processes.js';

/** A process listening on a loopback port with a backlog of 1 that never accepts (its loop is busy). */
async function stuckListener(): Promise<{ child: ChildProcess; port: number }> {
  const script = `const s = require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
    console.log(s.address().port);
    const end = Date.now() + 10000;
    while (Date.now() < end) {}
  });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) =>
    child.stdout?.once('data', (d) => resolve(Number(String(d).trim()))),
  );
  return { child, port };
}

describe('acceptsConnections', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('says true for a listening port and false for a closed one', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    expect(await acceptsConnections(port)).toBe(true);
    await new Promise((resolve) => server.close(resolve));
    expect(await acceptsConnections(port)).toBe(false);
  });

  it('says false within its timeout when the server drops the attempt', async () => {
    const { child, port } = await stuckListener();
    cleanups.push(() => child.kill('SIGKILL'));
    // Fill the accept queue: the kernel completes these handshakes, then drops further SYNs.
    const fillers: Socket[] = [];
    for (let i = 0; i < 4; i++) fillers.push(connect({ host: '127.0.0.1', port }).on('error', () => {}));
    cleanups.push(() => {
      for (const f of fillers) f.destroy();
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    expect(await acceptsConnections(port, 500)).toBe(false);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
