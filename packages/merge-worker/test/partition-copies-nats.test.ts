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
  checkpointBlobName,
  decodeCheckpointCopy,
  EMPTY_STATE_DIGEST,
  encode,
  encodeCheckpointCopy,
  LEASES_BUCKET,
  leaseKey,
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
      const full = await copies.ship(0, 4, {
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
      const layer = (version: number, changes: [string, unknown][]) => ({
        changes: new Map<CanonicalKey, unknown>(changes.map(([k, v]) => [key(k), v])),
        earlier: [],
        encoded: new Map(changes.flatMap(([k, v]) => (v === undefined ? [] : [[key(k), encode(v)] as const]))),
        batches: [`b${version}`],
        keyCount: changes.filter(([, v]) => v !== undefined).length,
        digest: EMPTY_STATE_DIGEST,
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
      expect(await copies.ship(0, 1, first, never)).toBe(true);
      expect(await read(1)).toMatchObject({ full: true, entries: [key('a'), 1, key('b'), 2], deleted: [] });
      await store.writePartition({ job, partition: 0, version: 1, changes: first.changes, batches: ['b1'] });
      // Version 2, a delta, the same way.
      expect(await copies.ship(0, 2, layer(2, [['b', undefined]]), never)).toBe(false);
      expect(await read(2)).toMatchObject({ full: false, entries: [], deleted: [key('b')] });
      // Version 10 is a full snapshot read from the store: it waits for its write.
      const tenth = layer(10, [['c', 3]]);
      let finishWrite = () => {};
      const written = new Promise<void>((resolve) => {
        finishWrite = resolve;
      });
      let fullDone = false;
      const full = copies.ship(0, 10, tenth, written).then((f) => {
        fullDone = true;
        return f;
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
