/**
 * Copies on a real nats-server and LMDB (decisions/0031): a delta a merge worker ships is one
 * message of the small-blob stream, and a partition restores exactly from a chain that mixes the
 * forms — a full snapshot written as an object by an older build, a small delta, a delta too large
 * for one message (an object).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CanonicalKey,
  type CheckpointCopy,
  canonicalKey,
  chainSize,
  checkpointBlobName,
  decodeCheckpointCopy,
  EMPTY_STATE_DIGEST,
  encode,
  encodeCheckpointCopy,
  LEASES_BUCKET,
  leaseKey,
  type ManifestEntry,
  restoreChain,
  restoreChainEntries,
  silentLogger,
} from '@mrm/core';
import { LmdbStateStore } from '@mrm/store-lmdb';
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
import { assertHeld, PartitionCopies } from '../src/partition-copies.js';

const JOB = 'mixed';
const key = (s: string): CanonicalKey => canonicalKey(s);

/** A copy of partition 0 with `entries` as [key, value] pairs. */
function copy(version: number, full: boolean, entries: [string, unknown][], deleted: string[] = []): CheckpointCopy {
  return {
    version,
    partition: 0,
    full,
    entries: entries.flatMap(([k, v]) => [key(k), v]),
    deleted: deleted.map(key),
    batches: [`b${version}`],
    keyCount: 0,
    digest: EMPTY_STATE_DIGEST,
    deadLetters: [],
  };
}

describe('checkpoint copies as small blobs', () => {
  let server: NatsServerHandle;
  let dir: string;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
    dir = mkdtempSync(join(tmpdir(), 'mrm-copies-'));
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('restores a partition exactly from a chain of an old object, a small delta and a large delta', async () => {
    const transport = await NatsTransport.connect({ servers: server.url });
    const nc = await connect({ servers: server.url });
    const store = await LmdbStateStore.open({ path: join(dir, 'restore'), noSync: true });
    try {
      const leases = await transport.bucket(LEASES_BUCKET);
      const token = await leases.put(leaseKey(JOB, 0), encode({ owner: 'merge-0' }));
      const name = (v: number) => checkpointBlobName(JOB, 0, v, token);
      // Version 1, a full snapshot, as a build before small blobs wrote it: an object.
      const objects = await new Objm(nc).create(blobBucketName(DEFAULT_NATS_PREFIX));
      await objects.putBlob(
        { name: name(1) },
        encodeCheckpointCopy(
          copy(1, true, [
            ['a', 1],
            ['b', 2],
            ['c', 3],
          ]),
        ),
      );
      // Version 2, a small delta: one message.
      await transport.blobs.put(
        name(2),
        encodeCheckpointCopy(
          copy(
            2,
            false,
            [
              ['a', 10],
              ['d', 4],
            ],
            ['b'],
          ),
        ),
      );
      // Version 3, a delta too large for one message: an object again.
      const large = 'x'.repeat(SMALL_BLOB_MAX_BYTES);
      await transport.blobs.put(name(3), encodeCheckpointCopy(copy(3, false, [['e', large]], ['c'])));
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info(smallBlobStreamName(DEFAULT_NATS_PREFIX))).state.messages).toBe(1);

      const copies = new PartitionCopies(
        { blobs: transport.blobs, leases },
        store,
        JOB,
        [{ partition: 0, token, tenure: token, chain: [name(1), name(2), name(3)], shipFull: false }],
        silentLogger,
      );
      expect(await copies.restoreIfStale(0, 3)).toBeGreaterThan(SMALL_BLOB_MAX_BYTES);
      const state = new Map<string, unknown>();
      for await (const [k, v] of store.scan(JOB, 0, { asOf: 3 })) state.set(k, v);
      expect(state).toEqual(
        new Map<string, unknown>([
          [key('a'), 10],
          [key('d'), 4],
          [key('e'), large],
        ]),
      );
      expect([...(await store.mergedBatches(JOB, 0))].sort()).toEqual(['b1', 'b2', 'b3']);
      // Restored at version 3: older versions of the partition are not here, and a query of one fails.
      await expect(assertHeld(store, 'merge-0', JOB, 0, 3)).resolves.toBeUndefined();
      await expect(assertHeld(store, 'merge-0', JOB, 0, 2)).rejects.toThrow(
        /moved to merge worker merge-0, which restored it at version 3: version 2 of it is no longer kept/,
      );

      // The next delta this worker ships goes out as one message, and reads back as written. Keys
      // written into version 4 ahead of its checkpoint (over the memory budget) are read back into it.
      await store.writePartition({
        job: JOB,
        partition: 0,
        version: 4,
        changes: [
          [key('f'), 6],
          [key('a'), 99],
        ],
        batches: [],
      });
      await store.writePartition({ job: JOB, partition: 0, version: 4, changes: [[key('a'), 11]], batches: ['b4'] });
      const changes = new Map<CanonicalKey, unknown>([
        [key('a'), 11],
        [key('d'), undefined],
      ]);
      const { full } = await copies.ship(0, 4, {
        changes,
        earlier: [key('f'), key('a')],
        encoded: new Map([[key('a'), encode(11)]]),
        batches: ['b4'],
        keyCount: 2,
        digest: EMPTY_STATE_DIGEST,
        deadLetters: [],
        deadLetterCount: 0,
        lateRecords: 0,
      });
      expect(full).toBe(false);
      expect((await jsm.streams.info(smallBlobStreamName(DEFAULT_NATS_PREFIX))).state.messages).toBe(2);
      expect(await objects.info(name(4))).toBeNull();
      const shipped = await transport.blobs.get(name(4));
      expect(shipped).toBeDefined();
      const delta = decodeCheckpointCopy(shipped as Uint8Array, name(4));
      expect(delta.entries).toEqual([key('a'), 11, key('f'), 6]);
      expect(delta.deleted).toEqual([key('d')]);

      // Committed at 4 in the same tenure, the partition still counts as restored at 3; a later
      // run's copies find it current (nothing downloaded) and keep that.
      await copies.markCurrent([0], 4);
      const plan = { partition: 0, token, tenure: token, chain: [name(1), name(2), name(3)], shipFull: false };
      const later = new PartitionCopies({ blobs: transport.blobs, leases }, store, JOB, [plan], silentLogger);
      expect(await later.restoreIfStale(0, 4)).toBe(0);
      await later.markCurrent([0], 5);
      await expect(assertHeld(store, 'merge-0', JOB, 0, 5)).resolves.toBeUndefined();
      await expect(assertHeld(store, 'merge-0', JOB, 0, 2)).rejects.toThrow(/restored it at version 3/);
    } finally {
      await store.close();
      await nc.close();
      await transport.close();
    }
  });

  it('ships a delta and a first version while the local write goes on, a later full snapshot after it, and refuses a copy under a moved lease', async () => {
    const transport = await NatsTransport.connect({ servers: server.url });
    const store = await LmdbStateStore.open({ path: join(dir, 'overlap'), noSync: true });
    try {
      const job = 'overlap';
      const leases = await transport.bucket(LEASES_BUCKET);
      const token = await leases.put(leaseKey(job, 0), encode({ owner: 'merge-0' }));
      const copies = new PartitionCopies(
        { blobs: transport.blobs, leases },
        store,
        job,
        [{ partition: 0, token, tenure: token, chain: [], shipFull: true }],
        silentLogger,
      );
      /** `keys`: the partition's live keys after the layer (default: the layer's own). */
      const layer = (version: number, changes: [string, unknown][], bytes = 0, keys?: number) => ({
        changes: new Map<CanonicalKey, unknown>(changes.map(([k, v]) => [key(k), v])),
        earlier: [],
        encoded: new Map(changes.flatMap(([k, v]) => (v === undefined ? [] : [[key(k), encode(v)] as const]))),
        batches: [`b${version}`],
        keyCount: keys ?? changes.filter(([, v]) => v !== undefined).length,
        digest: { ...EMPTY_STATE_DIGEST, bytes },
        deadLetters: [],
        deadLetterCount: 0,
        lateRecords: 0,
      });
      const never = new Promise<void>(() => {});
      const read = async (version: number) => {
        const data = await transport.blobs.get(checkpointBlobName(job, 0, version, token));
        return data === undefined ? undefined : decodeCheckpointCopy(data, `v${version}`);
      };
      // Version 1 must be a full snapshot (no chain), and its layer is the whole partition: it
      // ships while its write has not even finished, without the key it deleted again.
      const first = layer(1, [
        ['a', 1],
        ['b', 2],
        ['gone', undefined],
      ]);
      expect((await copies.ship(0, 1, first, never)).full).toBe(true);
      expect(await read(1)).toMatchObject({ full: true, entries: [key('a'), 1, key('b'), 2], deleted: [] });
      await store.writePartition({ job, partition: 0, version: 1, changes: first.changes, batches: ['b1'] });
      // Version 2, a delta, the same way (the partition outweighs the deltas since its full snapshot).
      expect((await copies.ship(0, 2, layer(2, [['b', undefined]], 1000), never)).full).toBe(false);
      expect(await read(2)).toMatchObject({ full: false, entries: [], deleted: [key('b')] });
      // Version 10 is a full snapshot (the partition is now smaller than the deltas since the last
      // one), read from the store: it waits for its write.
      const tenth = layer(10, [['c', 3]], 1, 2);
      let finishWrite = () => {};
      const written = new Promise<void>((resolve) => {
        finishWrite = resolve;
      });
      let fullDone = false;
      const full = copies.ship(0, 10, tenth, written).then((f) => {
        fullDone = true;
        return f.full;
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(fullDone).toBe(false);
      expect(await read(10)).toBeUndefined();
      await store.writePartition({
        job,
        partition: 0,
        version: 2,
        changes: new Map([[key('b'), undefined]]),
        batches: ['b2'],
      });
      await store.writePartition({ job, partition: 0, version: 10, changes: tenth.changes, batches: ['b10'] });
      finishWrite();
      expect(await full).toBe(true);
      expect(await read(10)).toMatchObject({ full: true, entries: [key('a'), 1, key('c'), 3] });
      // The lease moves on: the copy put meanwhile is refused (never counted as written).
      const moved = await leases.put(leaseKey(job, 0), encode({ owner: 'merge-1' }));
      await expect(copies.ship(0, 11, layer(11, [['a', 5]]), never)).rejects.toMatchObject({
        code: 'E_FENCED',
      });
      // Whatever it put carries this run's token: no copy of the new owner's is touched.
      expect(await transport.blobs.get(checkpointBlobName(job, 0, 11, moved))).toBeUndefined();
    } finally {
      await store.close();
      await transport.close();
    }
  });

  it('ships a full snapshot once the deltas outweigh the partition, not by version number, and restores across it', async () => {
    const transport = await NatsTransport.connect({ servers: server.url });
    const source = await LmdbStateStore.open({ path: join(dir, 'cadence-source'), noSync: true });
    const target = await LmdbStateStore.open({ path: join(dir, 'cadence-target'), noSync: true });
    try {
      const job = 'cadence';
      const leases = await transport.bucket(LEASES_BUCKET);
      const token = await leases.put(leaseKey(job, 0), encode({ owner: 'merge-0' }));
      const plan = { partition: 0, token, tenure: token, chain: [], shipFull: true };
      const copies = new PartitionCopies({ blobs: transport.blobs, leases }, source, job, [plan], silentLogger);
      // The partition's state as the source store holds it, and its size as a digest would count it.
      const state = new Map<CanonicalKey, unknown>();
      const sizeOf = () => [...state].reduce((n, [k, v]) => n + k.length + encode(v).byteLength, 0);
      /** What the coordinator's manifest would list for partition 0 (decisions/0047: bytes too). */
      const entries: ManifestEntry[] = [];
      const version = async (v: number, changes: [string, unknown][]) => {
        const layerChanges = new Map<CanonicalKey, unknown>(changes.map(([k, x]) => [key(k), x]));
        for (const [k, x] of layerChanges) x === undefined ? state.delete(k) : state.set(k, x);
        await source.writePartition({ job, partition: 0, version: v, changes: layerChanges, batches: [`b${v}`] });
        const shipped = await copies.ship(0, v, {
          changes: layerChanges,
          earlier: [],
          encoded: new Map(),
          batches: [`b${v}`],
          keyCount: state.size,
          digest: { ...EMPTY_STATE_DIGEST, keys: state.size, bytes: sizeOf() },
          deadLetters: [],
          deadLetterCount: 0,
          lateRecords: 0,
        });
        entries.push({ version: v, token, full: shipped.full, bytes: shipped.bytes });
        return shipped.full;
      };
      // Version 1: 40 keys of ~100 bytes, a full snapshot (no chain yet).
      expect(
        await version(
          1,
          Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v'.repeat(100)]),
        ),
      ).toBe(true);
      // Versions 2–14 change one small key each: their deltas stay far below the partition's
      // ~4.4 KB, so version 10 is a delta like the others (it was a full snapshot by number).
      const fulls: number[] = [];
      for (let v = 2; v <= 14; v++) if (await version(v, [[`k${v}`, v]])) fulls.push(v);
      expect(fulls).toEqual([]);
      // Version 15 rewrites half the keys with large values and deletes one: a delta still (the
      // deltas so far do not outweigh the partition), but with it they do, so 16 is a full snapshot.
      const big: [string, unknown][] = Array.from({ length: 20 }, (_, i) => [`k${i}`, 'w'.repeat(300)]);
      expect(await version(15, [...big, ['k39', undefined]])).toBe(false);
      expect(await version(16, [['k20', 'x']])).toBe(true);
      expect(await version(17, [['k21', undefined]])).toBe(false);
      expect(await version(18, [['new', { n: 1 }]])).toBe(false);

      // The coordinator's chain at 18 starts at the full snapshot of 16, and carries its deltas' bytes.
      const manifest = { partitions: [entries] };
      const chain = restoreChain(job, manifest, 0, 18);
      expect(chain).toEqual([16, 17, 18].map((v) => checkpointBlobName(job, 0, v, token)));
      const { deltaBytes } = chainSize(restoreChainEntries(manifest, 0, 18));
      expect(deltaBytes).toBe((entries[16]?.bytes ?? 0) + (entries[17]?.bytes ?? 0));
      // Another worker restores it at 18: exactly the source's state.
      const other = new PartitionCopies(
        { blobs: transport.blobs, leases },
        target,
        job,
        [{ ...plan, chain, deltaBytes, shipFull: false }],
        silentLogger,
      );
      expect(await other.restoreIfStale(0, 18)).toBeGreaterThan(0);
      const restored = new Map<CanonicalKey, unknown>();
      for await (const [k, v] of target.scan(job, 0, { asOf: 18 })) restored.set(k, v);
      expect(restored).toEqual(state);
      // A run that starts from that chain goes on with deltas (the cadence carries over in the plan);
      // one told its chain's deltas already outweigh the partition ships a full snapshot.
      const layer19 = {
        changes: new Map<CanonicalKey, unknown>([[key('k0'), 1]]),
        earlier: [],
        encoded: new Map(),
        batches: ['b19'],
        keyCount: state.size,
        digest: { ...EMPTY_STATE_DIGEST, bytes: sizeOf() },
        deadLetters: [],
        deadLetterCount: 0,
        lateRecords: 0,
      };
      await target.writePartition({ job, partition: 0, version: 19, changes: layer19.changes, batches: ['b19'] });
      expect((await other.ship(0, 19, layer19)).full).toBe(false);
      const heavy = new PartitionCopies(
        { blobs: transport.blobs, leases },
        target,
        job,
        [{ ...plan, chain, deltaBytes: sizeOf() + 1, shipFull: false }],
        silentLogger,
      );
      expect((await heavy.ship(0, 19, layer19)).full).toBe(true);
    } finally {
      await source.close();
      await target.close();
      await transport.close();
    }
  });

  it('ships a large delta packed (decisions/0054) and restores exactly from a chain mixing it with an unpacked copy of an older build', async () => {
    const transport = await NatsTransport.connect({ servers: server.url });
    const source = await LmdbStateStore.open({ path: join(dir, 'packed-source'), noSync: true });
    const target = await LmdbStateStore.open({ path: join(dir, 'packed-target'), noSync: true });
    try {
      const job = 'packed';
      const leases = await transport.bucket(LEASES_BUCKET);
      const token = await leases.put(leaseKey(job, 0), encode({ owner: 'merge-0' }));
      const name = (v: number) => checkpointBlobName(job, 0, v, token);
      // Version 1, a full snapshot as a build before packing stored it: the encoded copy itself.
      await transport.blobs.put(
        name(1),
        encodeCheckpointCopy(
          copy(1, true, [
            ['a', 1],
            ['b', 2],
          ]),
        ),
      );
      await source.writePartition({
        job,
        partition: 0,
        version: 1,
        changes: [
          [key('a'), 1],
          [key('b'), 2],
        ],
        batches: ['b1'],
      });
      // Version 2: 300 keys of ~1 KB of text (`[count, first value]`, as the checkpoint-cost bench's).
      const text = (i: number) => `line ${i} of a log that repeats itself, as values in a state do. `.repeat(16);
      const changes = new Map<CanonicalKey, unknown>(
        Array.from({ length: 300 }, (_, i) => [key(`k${i}`), [i, text(i)]]),
      );
      changes.set(key('b'), undefined);
      await source.writePartition({ job, partition: 0, version: 2, changes, batches: ['b2'] });
      const plan = { partition: 0, token, tenure: token, chain: [name(1)], shipFull: false };
      const copies = new PartitionCopies({ blobs: transport.blobs, leases }, source, job, [plan], silentLogger);
      const shipped = await copies.ship(0, 2, {
        changes,
        earlier: [],
        encoded: new Map(),
        batches: ['b2'],
        keyCount: 301,
        digest: { ...EMPTY_STATE_DIGEST, bytes: 1e9 },
        deadLetters: [],
        deadLetterCount: 0,
        lateRecords: 0,
      });
      expect(shipped.full).toBe(false);
      const stored = (await transport.blobs.get(name(2))) as Uint8Array;
      // Stored packed: a fraction of its encoded bytes (which the full-snapshot cadence still counts).
      expect(stored.byteLength).toBeLessThan(shipped.bytes / 4);
      expect(shipped.storedBytes).toBe(stored.byteLength);
      expect(() => decodeCheckpointCopy(stored, name(2))).toThrow(/not readable/);
      // Another worker restores the chain: exactly the source's state.
      const other = new PartitionCopies(
        { blobs: transport.blobs, leases },
        target,
        job,
        [{ ...plan, chain: [name(1), name(2)] }],
        silentLogger,
      );
      const first = (await transport.blobs.get(name(1))) as Uint8Array;
      expect(await other.restoreIfStale(0, 2)).toBe(first.byteLength + stored.byteLength);
      const restored = new Map<CanonicalKey, unknown>();
      for await (const [k, v] of target.scan(job, 0, { asOf: 2 })) restored.set(k, v);
      const expected = new Map<CanonicalKey, unknown>();
      for await (const [k, v] of source.scan(job, 0, { asOf: 2 })) expected.set(k, v);
      expect(restored.size).toBe(301);
      expect(restored).toEqual(expected);
      expect([...(await target.mergedBatches(job, 0))].sort()).toEqual(['b1', 'b2']);
    } finally {
      await source.close();
      await target.close();
      await transport.close();
    }
  });

  it('builds a later full snapshot from its layer when the layer holds every live key, the same copy a scan of the store gives', async () => {
    const transport = await NatsTransport.connect({ servers: server.url });
    const store = await LmdbStateStore.open({ path: join(dir, 'covering'), noSync: true });
    try {
      const job = 'covering';
      const leases = await transport.bucket(LEASES_BUCKET);
      const token = await leases.put(leaseKey(job, 0), encode({ owner: 'merge-0' }));
      // The store as the copies see it, counting its scans.
      let scans = 0;
      const counted = new Proxy(store, {
        get(target, name, receiver) {
          if (name === 'scan') scans++;
          const v = Reflect.get(target, name, receiver);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
      const plan = { partition: 0, token, tenure: token, chain: [], shipFull: true };
      const copies = new PartitionCopies({ blobs: transport.blobs, leases }, counted, job, [plan], silentLogger);
      const letter = { stage: 'merge' as const, batchId: 'b1', key: key('x'), message: 'boom', atMs: 5 };
      const state = new Map<CanonicalKey, unknown>();
      /** Writes version v and ships its copy with a digest as large as `bytes` (forcing a full snapshot when tiny). */
      const version = async (v: number, changes: [string, unknown][], bytes: number, letters = 0) => {
        const layerChanges = new Map<CanonicalKey, unknown>(changes.map(([k, x]) => [key(k), x]));
        for (const [k, x] of layerChanges) x === undefined ? state.delete(k) : state.set(k, x);
        const deadLetters = letters > 0 ? [letter] : [];
        const written = store.writePartition({
          job,
          partition: 0,
          version: v,
          changes: layerChanges,
          batches: [`b${v}`],
          deadLetters,
        });
        const shipped = await copies.ship(
          0,
          v,
          {
            changes: layerChanges,
            earlier: [],
            encoded: new Map(),
            batches: [`b${v}`],
            keyCount: state.size,
            digest: { ...EMPTY_STATE_DIGEST, keys: state.size, bytes },
            deadLetters,
            deadLetterCount: deadLetters.length,
            lateRecords: 0,
          },
          written,
        );
        const data = await transport.blobs.get(checkpointBlobName(job, 0, v, token));
        return { full: shipped.full, copy: data === undefined ? undefined : decodeCheckpointCopy(data, `v${v}`) };
      };
      const sorted = (entries: unknown[]) => {
        const pairs: [string, unknown][] = [];
        for (let i = 0; i < entries.length; i += 2) pairs.push([entries[i] as string, entries[i + 1]]);
        return pairs.sort(([a], [b]) => (a < b ? -1 : 1));
      };
      expect(
        (
          await version(
            1,
            [
              ['a', 1],
              ['b', 2],
              ['c', 3],
            ],
            1000,
            1,
          )
        ).full,
      ).toBe(true);
      expect((await version(2, [['a', 10]], 1000)).full).toBe(false);
      // Version 3 changes every live key (and deletes one): a full snapshot (tiny digest), from the layer.
      const third = await version(
        3,
        [
          ['a', 11],
          ['b', 12],
          ['c', undefined],
          ['d', 4],
        ],
        1,
      );
      expect(third.full).toBe(true);
      expect(scans).toBe(0);
      const all = async (v: number) => {
        const out: unknown[] = [];
        for await (const [k, x] of store.scan(job, 0, { asOf: v })) out.push(k, x);
        return out;
      };
      expect(sorted(third.copy?.entries ?? [])).toEqual(sorted(await all(3)));
      expect(third.copy).toMatchObject({ full: true, deleted: [], keyCount: 3 });
      // Batch records and dead letters of every version so far, as the store holds them.
      expect([...(third.copy?.batches ?? [])].sort()).toEqual(['b1', 'b2', 'b3']);
      expect(third.copy?.deadLetters).toEqual([expect.objectContaining({ batchId: 'b1', version: 1, partition: 0 })]);
      // Version 5 changes one key of three: a full snapshot (after the delta of 4) must scan the
      // store for the others.
      expect((await version(4, [['d', 5]], 1)).full).toBe(false);
      const fifth = await version(5, [['a', 20]], 1);
      expect(fifth.full).toBe(true);
      expect(scans).toBe(1);
      expect(sorted(fifth.copy?.entries ?? [])).toEqual(sorted(await all(5)));
      expect(fifth.copy?.entries).toHaveLength(6);
      // Version 7 (after a delta) holds every live key with one of them written ahead of the
      // checkpoint (over the memory budget: in the store, listed in `earlier`): from the layer too.
      expect((await version(6, [['b', 30]], 1)).full).toBe(false);
      await store.writePartition({ job, partition: 0, version: 7, changes: new Map([[key('a'), 40]]), batches: [] });
      state.set(key('a'), 40);
      const rest = new Map<CanonicalKey, unknown>([
        [key('b'), 41],
        [key('d'), 42],
      ]);
      for (const [k, x] of rest) state.set(k, x);
      const seventh = await copies.ship(
        0,
        7,
        {
          changes: rest,
          earlier: [key('a')],
          encoded: new Map(),
          batches: ['b7'],
          keyCount: state.size,
          digest: { ...EMPTY_STATE_DIGEST, keys: state.size, bytes: 1 },
          deadLetters: [],
          deadLetterCount: 0,
          lateRecords: 0,
        },
        store.writePartition({ job, partition: 0, version: 7, changes: rest, batches: ['b7'] }),
      );
      expect(seventh.full).toBe(true);
      expect(scans).toBe(1);
      const data = await transport.blobs.get(checkpointBlobName(job, 0, 7, token));
      const copy7 = data === undefined ? undefined : decodeCheckpointCopy(data, 'v7');
      expect(sorted(copy7?.entries ?? [])).toEqual(sorted(await all(7)));
      expect(copy7?.entries).toHaveLength(6);
    } finally {
      await store.close();
      await transport.close();
    }
  });

  it('refuses a query of a partition its store holds nothing of, instead of answering it empty', async () => {
    const store = await LmdbStateStore.open({ path: join(dir, 'empty'), noSync: true });
    try {
      await expect(assertHeld(store, 'merge-9', JOB, 2, 1)).rejects.toThrow(
        /merge worker merge-9 holds no state of partition 2 of job 'mixed'/,
      );
    } finally {
      await store.close();
    }
  });
});
