/**
 * Blobs are written in the object store's own layout (object-put.ts) with their chunks'
 * acknowledgements awaited together: `@nats-io/obj` itself must read them back (it checks the
 * SHA-256 digest), a replaced blob must leave no chunk of its old content in the stream, and an
 * empty blob must round-trip.
 */
import { randomBytes } from 'node:crypto';
import { type NatsServerHandle, startNatsServer } from '@mrm/testkit';
import { blobBucketName, DEFAULT_NATS_PREFIX, NatsTransport } from '@mrm/transport-nats';
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

      const small = randomBytes(1000);
      await transport.blobs.put('copies/p0/v1', small);
      expect(Buffer.from((await store.getBlob('copies/p0/v1')) ?? new Uint8Array()).equals(small)).toBe(true);
      const jsm = await jetstreamManager(nc);
      // One chunk and one metadata record: nothing of the 3 MB version is left.
      expect((await jsm.streams.info(`OBJ_${bucket}`)).state.messages).toBe(2);

      await transport.blobs.put('copies/p0/empty', new Uint8Array(0));
      expect((await transport.blobs.get('copies/p0/empty'))?.byteLength).toBe(0);
      expect((await store.info('copies/p0/empty'))?.size).toBe(0);
      expect((await transport.blobs.list('copies/')).map((b) => b.name).sort()).toEqual([
        'copies/p0/empty',
        'copies/p0/v1',
      ]);
    } finally {
      await nc.close();
      await transport.close();
    }
  });
});
