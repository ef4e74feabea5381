/**
 * Blobs are written in the object store's own layout (object-put.ts) with their chunks'
 * acknowledgements awaited together: `@nats-io/obj` itself must read them back (it checks the
 * SHA-256 digest) and a replaced blob must leave no chunk of its old content in the stream. Only
 * blobs above the small-blob limit are objects (smaller ones: small-blobs.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { type NatsServerHandle, startNatsServer } from '@mrm/testkit';
import { blobBucketName, DEFAULT_NATS_PREFIX, NatsTransport, SMALL_BLOB_MAX_BYTES } from '@mrm/transport-nats';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('NatsTransport blob puts', () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(() => server.stop());

  it('writes what @nats-io/obj reads back, digest checked, and purges the chunks of a replaced blob', async () => {
    const transport = await NatsTransport.connect({ servers: server.url });
    const nc = await connect({ servers: server.url });
    try {
      const bucket = blobBucketName(DEFAULT_NATS_PREFIX);
      const big = randomBytes(3 * 1024 * 1024 + 17);
      await transport.blobs.put('copies/p0/v1', big);
      const store = await new Objm(nc).open(bucket);
      const info = await store.info('copies/p0/v1');
      expect(info?.size).toBe(big.byteLength);
      expect(info?.chunks).toBeGreaterThan(1);
      // getBlob verifies the digest the put recorded: a wrong one rejects.
      expect(Buffer.from((await store.getBlob('copies/p0/v1')) ?? new Uint8Array()).equals(big)).toBe(true);

      const smaller = randomBytes(SMALL_BLOB_MAX_BYTES + 1000);
      await transport.blobs.put('copies/p0/v1', smaller);
      expect(Buffer.from((await store.getBlob('copies/p0/v1')) ?? new Uint8Array()).equals(smaller)).toBe(true);
      const jsm = await jetstreamManager(nc);
      // One chunk and one metadata record: nothing of the 3 MB version is left.
      expect((await jsm.streams.info(`OBJ_${bucket}`)).state.messages).toBe(2);

      expect(await transport.blobs.list('copies/')).toEqual([{ name: 'copies/p0/v1', bytes: smaller.byteLength }]);
    } finally {
      await nc.close();
      await transport.close();
    }
  });
});
