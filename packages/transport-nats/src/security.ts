/** NATS credentials and TLS: MRM's security options turned into nats.js connection options. */
import { readFile } from 'node:fs/promises';
import { ErrorCode, MrmError } from '@mrm/core';
import { type ConnectionOptions, credsAuthenticator, type TlsOptions } from '@nats-io/transport-node';
import type { NatsSecurityOptions } from './options.js';

async function readOption(what: string, file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (e) {
    throw new MrmError(
      ErrorCode.BadOption,
      `cannot read the NATS ${what} '${file}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      {
        cause: e,
      },
    );
  }
}

/** Connection options for `security` (reads the creds file; checks the TLS files exist). */
export async function connectionSecurity(security: NatsSecurityOptions): Promise<Partial<ConnectionOptions>> {
  const out: { -readonly [K in keyof ConnectionOptions]?: ConnectionOptions[K] } = {};
  if (security.credsFile !== undefined) {
    out.authenticator = credsAuthenticator(await readOption('creds file', security.credsFile));
  }
  if (security.user !== undefined) {
    out.user = security.user;
    if (security.pass !== undefined) out.pass = security.pass;
  }
  if (security.token !== undefined) out.token = security.token;
  const tls: TlsOptions = {};
  let useTls = false;
  for (const [key, what, file] of [
    ['caFile', 'TLS CA file', security.tlsCaFile],
    ['certFile', 'TLS certificate', security.tlsCertFile],
    ['keyFile', 'TLS key', security.tlsKeyFile],
  ] as const) {
    if (file === undefined) continue;
    await readOption(what, file);
    tls[key] = file;
    useTls = true;
  }
  if (useTls) out.tls = tls;
  return out;
}
