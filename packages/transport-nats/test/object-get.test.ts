/**
 * Blobs above the small-blob limit are read chunk by chunk (object-get.ts): by direct get, which
 * answers raw bytes (decisions/0047), and from the stream's leader when a direct get finds nothing
 * or the stream does not allow direct access (a stream made without it). Either way the bytes are
 * the blob's, interleaved chunks of other blobs are skipped, and a damaged blob is refused.
 */
import { randomBytes } from 'node:crypto';
import { type NatsServerHandle, startNatsServer } from '@mrm/testkit';
import { blobBucketName, DEFAULT_NATS_PREFIX, NatsTransport } from '@mrm/transport-nats';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('NatsTransport blob gets', () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(() => server.stop());

  it('reads objects by direct get, and from the leader on a stream without direct access', async () => {
    const transport = await NatsTransport.connect({ servers: server.url });
    const nc = await connect({ servers: server.url });
    try {
      const stream = `OBJ_${blobBucketName(DEFAULT_NATS_PREFIX)}`;
      const blobs = Array.from({ length: 3 }, () => randomBytes(2 * 1024 * 1024 + 123));
      // Put together: their chunks interleave in the stream.
      await Promise.all(blobs.map((b, i) => transport.blobs.put(`copies/p${i}/v1`, b)));
      const jsm = await jetstreamManager(nc);
      const config = (await jsm.streams.info(stream)).config;
      expect(config.allow_direct).toBe(true);
      const readAll = async () => {
        const got = await Promise.all(blobs.map((_, i) => transport.blobs.get(`copies/p${i}/v1`)));
        return got.map((g, i) => Buffer.from(g ?? new Uint8Array()).equals(blobs[i] as Buffer));
      };
      expect(await readAll()).toEqual([true, true, true]);
      // A stream of a setup without direct access: the leader answers every chunk.
      await jsm.streams.update(stream, { ...config, allow_direct: false });
      expect((await jsm.streams.info(stream)).config.allow_direct).toBe(false);
      expect(await readAll()).toEqual([true, true, true]);
      expect(await transport.blobs.get('copies/p9/v1')).toBeUndefined();
    } finally {
      await nc.close();
      await transport.close();
    }
  });
});
