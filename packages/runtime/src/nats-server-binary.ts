/**
 * Finding the nats-server binary and a free loopback port: `mrm up` needs both at run time, and
 * the test launcher in @mrm/testkit uses the same two.
 */
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { ErrorCode, MrmError } from '@mrm/core';

const FALLBACK_BINARY = '/usr/sbin/nats-server';

/**
 * The nats-server binary: the one given, else the first on PATH, else the Debian location; a
 * clear `E_TRANSPORT` error when there is none.
 */
export function findNatsServer(binary?: string): string {
  const candidates =
    binary !== undefined
      ? [binary]
      : [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin'].map((dir) =>
          join(dir, 'nats-server'),
        );
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here: try the next one
    }
  }
  throw new MrmError(
    ErrorCode.Transport,
    binary !== undefined
      ? `nats-server is not installed at ${binary} (no executable file there)`
      : `nats-server is not installed: not on PATH nor at ${FALLBACK_BINARY} (install it, e.g. apt-get install nats-server)`,
  );
}

/** A loopback port nobody listens on right now (the OS picks it; it is released for the caller). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `n` free loopback ports, all different (each is released before the next is asked for). */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}
