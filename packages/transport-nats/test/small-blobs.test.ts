/**
 * Small blobs are one message each in the small-blob stream (decisions/0031): put, get, has, list
 * (with sizes), names and delete work on them without the object store, a name lives in one place when
 * its size class changes, and blobs written as objects by older builds are still read, listed and
 * deleted.
 */
import { randomBytes } from 'node:crypto';
import { type NatsServerHandle, startNatsServer } from '@mrm/testkit';
import {
  blobBucketName,
  DEFAULT_NATS_PREFIX,
  NatsTransport,
  SMALL_BLOB_MAX_BYTES,
  smallBlobStreamName,
} from '@mrm/transport-nats';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('NatsTransport small blobs', () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(() => server.stop());

  it('keeps a small blob as one message, lists it with its size and deletes it without a trace', async () => {
    const transport = await NatsTransport.connect({ servers: server.url });
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      const small = randomBytes(4000);
      await transport.blobs.put('s/p0/v1', small);
      await transport.blobs.put('s/p1/v1', new Uint8Array(0));
      const stream = smallBlobStreamName(DEFAULT_NATS_PREFIX);
      expect((await jsm.streams.info(stream)).state.messages).toBe(2);
      // Nothing of them in the object store (it may not even exist yet).
      const objects = await jsm.streams.info(`OBJ_${blobBucketName(DEFAULT_NATS_PREFIX)}`).catch(() => undefined);
      expect(objects?.state.messages ?? 0).toBe(0);

      expect(Buffer.from((await transport.blobs.get('s/p0/v1')) ?? []).equals(small)).toBe(true);
      expect((await transport.blobs.get('s/p1/v1'))?.byteLength).toBe(0);
      expect(await transport.blobs.has('s/p0/v1')).toBe(true);
      expect(await transport.blobs.get('s/p2/v1')).toBeUndefined();
      expect(await transport.blobs.has('s/p2/v1')).toBe(false);
      const listed = await transport.blobs.list('s/');
      expect(listed.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
        { name: 's/p0/v1', bytes: 4000 },
        { name: 's/p1/v1', bytes: 0 },
      ]);
      expect(await transport.blobs.list('s/p1')).toEqual([{ name: 's/p1/v1', bytes: 0 }]);
      expect((await transport.blobs.names('s/')).sort()).toEqual(['s/p0/v1', 's/p1/v1']);

      // A put replaces: still one message for the name.
      const again = randomBytes(100);
      await transport.blobs.put('s/p0/v1', again);
      expect(Buffer.from((await transport.blobs.get('s/p0/v1')) ?? []).equals(again)).toBe(true);
      expect((await jsm.streams.info(stream)).state.messages).toBe(2);

      await transport.blobs.delete('s/p0/v1');
      await transport.blobs.delete('s/p1/v1');
      await transport.blobs.delete('s/never-written');
      expect(await transport.blobs.get('s/p0/v1')).toBeUndefined();
      expect(await transport.blobs.list('s/')).toEqual([]);
      expect((await jsm.streams.info(stream)).state.messages).toBe(0);
    } finally {
      await nc.close();
      await transport.close();
    }
  });

  it('keeps a name in one place when its size class changes, and reads, lists and deletes objects of older builds', async () => {
    const transport = await NatsTransport.connect({ servers: server.url });
    const nc = await connect({ servers: server.url });
    try {
      const big = randomBytes(SMALL_BLOB_MAX_BYTES + 1);
      const small = randomBytes(10);
      // Small, then large: the object replaces the message.
      await transport.blobs.put('m/a', small);
      await transport.blobs.put('m/a', big);
      expect(Buffer.from((await transport.blobs.get('m/a')) ?? []).equals(big)).toBe(true);
      expect(await transport.blobs.list('m/')).toEqual([{ name: 'm/a', bytes: big.byteLength }]);
      // Large, then small: the message shadows the object, and a delete removes both.
      await transport.blobs.put('m/a', small);
      expect(Buffer.from((await transport.blobs.get('m/a')) ?? []).equals(small)).toBe(true);
      expect(await transport.blobs.list('m/')).toEqual([{ name: 'm/a', bytes: small.byteLength }]);
      await transport.blobs.delete('m/a');
      expect(await transport.blobs.get('m/a')).toBeUndefined();
      expect(await transport.blobs.has('m/a')).toBe(false);
      expect(await transport.blobs.list('m/')).toEqual([]);

      // A small blob written as an object, as every build before small blobs did.
      const store = await new Objm(nc).create(blobBucketName(DEFAULT_NATS_PREFIX));
      await store.putBlob({ name: 'm/old' }, small);
      expect(Buffer.from((await transport.blobs.get('m/old')) ?? []).equals(small)).toBe(true);
      expect(await transport.blobs.has('m/old')).toBe(true);
      expect(await transport.blobs.list('m/')).toEqual([{ name: 'm/old', bytes: small.byteLength }]);
      await transport.blobs.put('m/new', small);
      expect((await transport.blobs.names('m/')).sort()).toEqual(['m/new', 'm/old']);
      await transport.blobs.delete('m/new');
      await transport.blobs.delete('m/old');
      expect(await transport.blobs.get('m/old')).toBeUndefined();
      expect(await store.info('m/old')).toBeNull();
    } finally {
      await nc.close();
      await transport.close();
    }
  });
});
