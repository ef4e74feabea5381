/**
 * Security set-ups for a test nats-server, built offline in a folder: TLS certificates made with
 * `openssl` (a CA, a server certificate for 127.0.0.1, a client certificate for mutual TLS), and
 * a decentralised-auth (operator mode) set-up with a user `.creds` file, as `nsc` would write it,
 * signed here with NKeys (no `nsc` needed). Each returns the nats-server configuration text to
 * pass to `startNatsServer({ config })`.
 *
 * ```ts
 * const tls = natsTlsFiles(dir);
 * const creds = natsOperatorCredentials(dir);
 * const server = await startNatsServer({ jetstream: true, config: tls.config + creds.config });
 * await NatsTransport.connect({ servers: server.url, security: { credsFile: creds.credsFile, tlsCaFile: tls.caFile } });
 * ```
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';

/** TLS files {@link natsTlsFiles} wrote. */
export interface NatsTlsFiles {
  /** The CA certificate (PEM) that signed both certificates: what clients trust. */
  readonly caFile: string;
  /** Client certificate and key (PEM) for mutual TLS. */
  readonly certFile: string;
  readonly keyFile: string;
  /** `tls { … }` of the server: its certificate, and client certificates required (`verify`). */
  readonly config: string;
}

/**
 * Writes a CA, a server certificate for 127.0.0.1/localhost and a client certificate into `dir`
 * (P-256 keys, valid two days). With `verify` (default true) the server asks every client for a
 * certificate signed by the CA.
 */
export function natsTlsFiles(dir: string, options: { readonly verify?: boolean } = {}): NatsTlsFiles {
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=mrm test CA',
  );
  const sign = (name: string, extensions: string) => {
    writeFileSync(f(`${name}.ext`), extensions);
    openssl('req', ...newKey, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=mrm test ${name}`);
    openssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f(`${name}.pem`),
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
    );
  };
  sign('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  sign('client', 'extendedKeyUsage=clientAuth\n');
  const q = JSON.stringify;
  const config = `tls {\n  cert_file: ${q(f('server.pem'))}\n  key_file: ${q(f('server.key'))}\n  ca_file: ${q(f('ca.pem'))}\n  verify: ${options.verify ?? true}\n  timeout: 5\n}\n`;
  return { caFile: f('ca.pem'), certFile: f('client.pem'), keyFile: f('client.key'), config };
}

/** What {@link natsOperatorCredentials} wrote. */
export interface NatsOperatorCredentials {
  /** A user's `.creds` file (its JWT and NKey seed) in an account with JetStream. */
  readonly credsFile: string;
  /** Server configuration: the operator, the system account and the account, preloaded in memory. */
  readonly config: string;
}

/** A JWT as nats-server reads it: ed25519-nkey, signed by `issuer`. */
function signedJwt(issuer: KeyPair, claims: Record<string, unknown>): string {
  const b64 = (text: string | Uint8Array) => Buffer.from(text).toString('base64url');
  const body: Record<string, unknown> = { iat: Math.floor(Date.now() / 1000), iss: issuer.getPublicKey(), ...claims };
  body.jti = createHash('sha256').update(JSON.stringify(body)).digest('base64url');
  const signed = `${b64(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }))}.${b64(JSON.stringify(body))}`;
  return `${signed}.${b64(issuer.sign(new TextEncoder().encode(signed)))}`;
}

/**
 * Writes an operator-mode set-up into `dir`: an operator, a system account, an account with
 * JetStream (no limits) and a user of it, whose `user.creds` the clients use. The server
 * resolves accounts from memory (`resolver: MEMORY`), so nothing else is needed.
 */
export function natsOperatorCredentials(dir: string): NatsOperatorCredentials {
  const operator = createOperator();
  const system = createAccount();
  const account = createAccount();
  const user = createUser();
  const unlimited = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
  const jetstream = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };
  const operatorJwt = signedJwt(operator, {
    sub: operator.getPublicKey(),
    name: 'mrm-test-operator',
    nats: { type: 'operator', version: 2 },
  });
  const systemJwt = signedJwt(operator, {
    sub: system.getPublicKey(),
    name: 'SYS',
    nats: { type: 'account', version: 2, limits: unlimited },
  });
  const accountJwt = signedJwt(operator, {
    sub: account.getPublicKey(),
    name: 'mrm',
    nats: { type: 'account', version: 2, limits: { ...unlimited, ...jetstream } },
  });
  const userJwt = signedJwt(account, {
    sub: user.getPublicKey(),
    name: 'mrm-user',
    nats: { type: 'user', version: 2, pub: {}, sub: {}, subs: -1, data: -1, payload: -1 },
  });
  const operatorFile = join(dir, 'operator.jwt');
  writeFileSync(operatorFile, operatorJwt);
  const credsFile = join(dir, 'user.creds');
  const seed = new TextDecoder().decode(user.getSeed());
  writeFileSync(
    credsFile,
    `-----BEGIN NATS USER JWT-----\n${userJwt}\n------END NATS USER JWT------\n\n` +
      `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`,
    { mode: 0o600 },
  );
  const q = JSON.stringify;
  const config =
    `operator: ${q(operatorFile)}\nsystem_account: ${system.getPublicKey()}\nresolver: MEMORY\n` +
    `resolver_preload: {\n  ${system.getPublicKey()}: ${q(systemJwt)}\n  ${account.getPublicKey()}: ${q(accountJwt)}\n}\n`;
  return { credsFile, config };
}
