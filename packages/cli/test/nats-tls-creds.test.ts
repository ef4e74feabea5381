/**
 * A cluster on a real nats-server as production runs it: TLS with client certificates required
 * (a CA and certificates made with openssl) and decentralised auth (operator mode, a user's
 * `.creds` file). Every process gets the files through its environment; a client gives them as
 * flags; a client missing any one of them is refused with one line.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { natsOperatorCredentials, natsTlsFiles } from '@mrm/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, writeJob } from './cli-helpers.js';
import { copyInto, expectSameResult, TestCluster } from './cluster-harness.js';
import { referenceWordcount, slowWordcount } from './cluster-scenarios.js';

const BOOKS = [new URL('../../../examples/wordcount/data/pg-metamorphosis.txt', import.meta.url).pathname];

describe('a cluster on a nats-server requiring TLS client certificates and a creds file', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  it('runs a job when every process has the files, and refuses a client missing any of them', async () => {
    const files = tempDir();
    cleanups.push(files.cleanup);
    const tls = natsTlsFiles(files.dir);
    const creds = natsOperatorCredentials(files.dir);
    const env = {
      MRM_NATS_CREDS: creds.credsFile,
      MRM_NATS_TLS_CA: tls.caFile,
      MRM_NATS_TLS_CERT: tls.certFile,
      MRM_NATS_TLS_KEY: tls.keyFile,
    };
    const c = await TestCluster.start({
      nats: { config: tls.config + creds.config },
      env,
      url: (server) => `tls://127.0.0.1:${server.port}`,
    });
    cleanups.push(() => c.stop());

    // The client gives everything as flags (an empty variable counts as not set).
    const none = { MRM_NATS_CREDS: '', MRM_NATS_TLS_CA: '', MRM_NATS_TLS_CERT: '', MRM_NATS_TLS_KEY: '' };
    const job = writeJob(c.dir, 'count.ts', slowWordcount(join(c.dir, 'marker')));
    const books = copyInto(join(c.dir, 'books'), BOOKS);
    const out = join(c.dir, 'out.jsonl');
    const flags = ['--nats-creds', creds.credsFile, '--nats-tls-ca', tls.caFile];
    const clientCert = ['--nats-tls-cert', tls.certFile, '--nats-tls-key', tls.keyFile];
    const submitted = await c.mrm(
      ['submit', job, '--input', ...books, '--wait', '--out', out, '--nats', c.url, ...flags, ...clientCert],
      none,
    );
    expect(submitted.code, submitted.stderr).toBe(0);
    const reference = join(c.dir, 'reference.jsonl');
    writeFileSync(reference, referenceWordcount(books));
    expectSameResult(out, reference);

    const status = (url: string, extra: NodeJS.ProcessEnv) => c.mrm(['status', '--json', '--nats', url], extra);
    // A nats:// URL is upgraded to TLS too, since the server requires it.
    expect((await status(`nats://127.0.0.1:${c.nats.port}`, {})).code).toBe(0);
    for (const [what, missing] of [
      ['the creds file', { MRM_NATS_CREDS: '' }],
      ['the CA', { MRM_NATS_TLS_CA: '' }],
      ['the client certificate', { MRM_NATS_TLS_CERT: '', MRM_NATS_TLS_KEY: '' }],
      ['everything', none],
    ] as const) {
      const refused = await status(c.url, missing);
      expect(refused.code, `without ${what}`).not.toBe(0);
      expect(refused.stderr.trim().split('\n'), `without ${what}: ${refused.stderr}`).toHaveLength(1);
      expect(refused.stderr, `without ${what}`).toMatch(/NATS/);
    }
  }, 180_000);
});
