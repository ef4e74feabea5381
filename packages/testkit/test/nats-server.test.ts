import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { ErrorCode } from '@mrm/core';
import { startNatsServer } from '@mrm/testkit';
import { describe, expect, it } from 'vitest';

/** Resolves with the first line the server sends on a new TCP connection (NATS starts with INFO). */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('error', reject);
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk.toString('utf8').split('\r\n')[0] ?? '');
    });
  });
}

/** True while a process with `pid` exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startNatsServer', () => {
  it('serves NATS on a loopback port until stopped, then leaves no process or store dir behind', async () => {
    const server = await startNatsServer({ jetstream: true });
    const { storeDir } = server;
    try {
      expect(server.port).not.toBe(4222);
      expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
      expect(await greeting(server.port)).toMatch(/^INFO \{.*"jetstream":true/);
      expect(storeDir !== undefined && existsSync(storeDir)).toBe(true);
    } finally {
      await server.stop();
    }
    expect(alive(server.pid)).toBe(false);
    expect(storeDir !== undefined && existsSync(storeDir)).toBe(false);
  });

  it('restarts on the same port and store dir', async () => {
    const server = await startNatsServer({ jetstream: true });
    try {
      const [pid, port, storeDir] = [server.pid, server.port, server.storeDir ?? ''];
      expect(readdirSync(storeDir)).toContain('jetstream');
      await server.restart();
      expect(alive(pid)).toBe(false);
      expect(server.pid).not.toBe(pid);
      expect(server.port).toBe(port);
      expect(await greeting(port)).toMatch(/^INFO /);
      expect(readdirSync(storeDir)).toContain('jetstream');
    } finally {
      await server.stop();
    }
  });

  it('runs without JetStream when not asked for it', async () => {
    const server = await startNatsServer();
    try {
      expect(server.storeDir).toBeUndefined();
      expect(await greeting(server.port)).not.toMatch(/"jetstream":true/);
    } finally {
      await server.stop();
    }
  });

  it('rejects with a clear E_TRANSPORT when the binary is missing', async () => {
    await expect(startNatsServer({ binary: '/nonexistent/nats-server' })).rejects.toMatchObject({
      code: ErrorCode.Transport,
      message: 'nats-server is not installed at /nonexistent/nats-server (no executable file there)',
    });
  });

  it('refuses port 4222, which belongs to the system server', async () => {
    await expect(startNatsServer({ port: 4222 })).rejects.toMatchObject({ code: ErrorCode.BadOption });
  });
});
