/**
 * NatsTransport on a real three-node JetStream cluster: what it creates has three replicas (or
 * the replicas asked for), and its key/value state and blobs survive the SIGKILL of the node
 * leading their streams, the operations under way waiting out the election of a new leader. While
 * the dead node stays away, blob reads, listings and stream reads stay fast and do not fail (they
 * used to wait on a consumer placed on the dead peer: decisions/0034).
 */
import { type NatsClusterHandle, startNatsCluster } from '@mrm/testkit';
import {
  blobBucketName,
  defaultReplicas,
  inputStreamName,
  kvBucketName,
  NatsTransport,
  SMALL_BLOB_MAX_BYTES,
  smallBlobStreamName,
} from '@mrm/transport-nats';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

describe('defaultReplicas', () => {
  it('is 1 for a server alone, else the size of its cluster up to 3', () => {
    expect(defaultReplicas({}, 1)).toBe(1);
    expect(defaultReplicas({ connect_urls: ['a:1'] }, 3)).toBe(1);
    expect(defaultReplicas({ cluster: 'c', connect_urls: ['a:1', 'b:1', 'c:1'] }, 1)).toBe(3);
    expect(defaultReplicas({ cluster: 'c', connect_urls: ['a:1', 'b:1'] }, 3)).toBe(3);
    expect(defaultReplicas({ cluster: 'c', connect_urls: ['a:1', 'b:1'] }, 1)).toBe(2);
    expect(defaultReplicas({ cluster: 'c', connect_urls: ['1', '2', '3', '4', '5'] }, 5)).toBe(3);
  });
});

describe('NatsTransport on a three-node NATS cluster', () => {
  let nats: NatsClusterHandle;
  beforeAll(async () => {
    nats = await startNatsCluster({ nodes: 3 });
  }, 100_000); // up to three start attempts of 20 s each (startNatsCluster's retries)
  afterAll(async () => {
    await nats?.stop();
  });

  /**
   * Replicas and current leader of the stream `name`, asked of the cluster directly. Asked again
   * for up to 30 s while the cluster elects leaders after a kill (JetStream's API times out then:
   * a CI flake), as the transport itself waits out an election.
   */
  async function streamCluster(name: string): Promise<{ replicas: number; leader: string }> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const nc = await connect({ servers: nats.nodes.filter((n) => n.running).map((n) => n.url) });
      try {
        const info = await (await jetstreamManager(nc)).streams.info(name);
        if (info.cluster?.leader !== undefined || Date.now() >= deadline) {
          return { replicas: info.config.num_replicas, leader: info.cluster?.leader ?? '' };
        }
      } catch (error) {
        if (Date.now() >= deadline) throw error;
      } finally {
        await nc.close();
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  it('creates buckets, blobs and streams with 3 replicas by default, or with the replicas asked for', async () => {
    // One URL is enough to learn the cluster's size (the server advertises every node).
    const t = await NatsTransport.connect({ servers: nats.nodes[1]?.url ?? '', prefix: 'rthree' });
    const one = await NatsTransport.connect({ servers: nats.url, prefix: 'rone', replicas: 1 });
    try {
      // The server adds its peers to what it advertises as the routes come up: right after the
      // cluster formed, a client may know two of three for a moment (seen once in CI).
      for (const until = Date.now() + 20_000; t.replicas < 3 && Date.now() < until; ) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(t.replicas).toBe(3);
      await (await t.bucket('state')).put('k', encoder.encode('v'));
      await t.blobs.put('b', encoder.encode('blob'));
      await t.blobs.put('large', new Uint8Array(SMALL_BLOB_MAX_BYTES + 1));
      await t.streams.ensure('rthree.input');
      expect((await streamCluster(`KV_${kvBucketName('rthree', 'state')}`)).replicas).toBe(3);
      expect((await streamCluster(`OBJ_${blobBucketName('rthree')}`)).replicas).toBe(3);
      expect((await streamCluster(smallBlobStreamName('rthree'))).replicas).toBe(3);
      expect((await streamCluster(inputStreamName('rthree.input'))).replicas).toBe(3);

      expect(one.replicas).toBe(1);
      await (await one.bucket('state')).put('k', encoder.encode('v'));
      expect((await streamCluster(`KV_${kvBucketName('rone', 'state')}`)).replicas).toBe(1);
    } finally {
      await t.close();
      await one.close();
    }
  });

  it('keeps key/value state and blobs, and goes on writing, when the node leading them is killed', async () => {
    const t = await NatsTransport.connect({ servers: nats.url, prefix: 'failover' });
    try {
      const kv = await t.bucket('leases');
      await kv.put('before', encoder.encode('1'));
      const created = await kv.create('fenced', encoder.encode('a'));
      const blob = new Uint8Array(300_000).map((_, i) => i % 251);
      await t.blobs.put('copy', blob);
      const small = blob.slice(0, 1000);
      await t.blobs.put('small-copy', small);

      const { leader } = await streamCluster(`KV_${kvBucketName('failover', 'leases')}`);
      const victim = nats.nodes.find((n) => n.name === leader);
      expect(victim, `leader '${leader}' is a node`).toBeDefined();
      await victim?.kill();

      // Straight after the kill: these wait out the election instead of failing.
      await kv.put('after', encoder.encode('2'));
      const updated = await kv.update('fenced', encoder.encode('b'), created);
      expect(updated).toBeGreaterThan(created);
      expect(decoder.decode((await kv.get('before'))?.value)).toBe('1');
      expect(decoder.decode((await kv.get('after'))?.value)).toBe('2');
      expect(decoder.decode((await kv.get('fenced'))?.value)).toBe('b');
      expect(await t.blobs.get('copy')).toEqual(blob);
      expect(await t.blobs.get('small-copy')).toEqual(small);
      await t.blobs.put('copy-2', blob);
      expect(await t.blobs.has('copy-2')).toBe(true);
      await t.blobs.put('small-copy-2', small);
      expect(await t.blobs.get('small-copy-2')).toEqual(small);
      const { leader: now } = await streamCluster(`KV_${kvBucketName('failover', 'leases')}`);
      expect(now).not.toBe(leader);
    } finally {
      await t.close();
    }
  }, 90_000);
});

describe('NatsTransport on a NATS cluster with one node dead', () => {
  let nats: NatsClusterHandle;
  beforeAll(async () => {
    nats = await startNatsCluster({ nodes: 3 });
  }, 100_000); // up to three start attempts of 20 s each (startNatsCluster's retries)
  afterAll(async () => {
    await nats?.stop();
  });

  it('reads blobs, lists keys and blobs and reads a stream, each time, without waiting on the dead peer', async () => {
    const t = await NatsTransport.connect({ servers: nats.url, prefix: 'degraded' });
    try {
      const kv = await t.bucket('keys');
      const blob = (i: number) => new Uint8Array(5_000).fill(i);
      for (let i = 0; i < 5; i++) {
        await kv.put(`k${i}`, encoder.encode(String(i)));
        await t.blobs.put(`b${i}`, blob(i));
      }
      await kv.delete('k4');
      await t.blobs.delete('b4');
      await t.streams.ensure('degraded.input');
      await t.streams.append(
        'degraded.input',
        Array.from({ length: 500 }, (_, i) => encoder.encode(`record ${i}`)),
      );
      await nats.nodes[1]?.kill();
      // The streams it led elect new leaders: waited out here, not measured.
      await kv.put('after', encoder.encode('x'));
      await t.blobs.put('after', blob(9));
      await t.blobs.delete('after');
      await kv.delete('after');

      const slow: string[] = [];
      const timed = async <T>(what: string, op: () => Promise<T>): Promise<T> => {
        const started = performance.now();
        const result = await op();
        // A consumer placed on the dead peer cost the 5 s request timeout, each time it happened.
        if (performance.now() - started > 3_000) slow.push(`${what} ${Math.round(performance.now() - started)} ms`);
        return result;
      };
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 4; i++) {
          const got = await timed(`get b${i}`, () => t.blobs.get(`b${i}`));
          expect(got !== undefined && Buffer.from(got).equals(blob(i))).toBe(true);
        }
        expect((await timed('keys', () => kv.keys())).sort()).toEqual(['k0', 'k1', 'k2', 'k3']);
        const listed = await timed('list', () => t.blobs.list('b'));
        expect(listed.map((b) => [b.name, b.bytes]).sort()).toEqual(['b0', 'b1', 'b2', 'b3'].map((n) => [n, 5_000]));
        let records = 0;
        for await (const r of t.streams.read('degraded.input', 1, 500)) {
          expect(decoder.decode(r.data)).toBe(`record ${r.seq - 1}`);
          records++;
        }
        expect(records).toBe(500);
      }
      expect(slow).toEqual([]);
    } finally {
      await t.close();
    }
  }, 120_000);
});
