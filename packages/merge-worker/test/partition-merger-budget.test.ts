/**
 * A partition's memory budget in bytes (docs/decisions/0040): cached values are evicted by size,
 * changed values past the budget are written into the pending version ahead of its checkpoint,
 * and through all of it reads, checkpoints, digests, committed versions and a rollback after a
 * crash stay exact. Runs on the in-memory store and on LMDB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CanonicalKey, canonicalKey, type StateStore } from '@mrm/core';
import { MemoryStateStore } from '@mrm/runtime';
import { LmdbStateStore } from '@mrm/store-lmdb';
import { afterEach, describe, expect, it } from 'vitest';
import { DigestTracker } from '../src/digest-tracker.js';
import { PartitionMerger } from '../src/partition-merger.js';
import { ValueBuffer } from '../src/value-buffer.js';
import { approxBytes } from '../src/value-bytes.js';
import { PAD, paddedCountJob } from './padded-count-job.js';

const JOB = 'budget';
/** Room for about 30 of the job's values. */
const BUDGET = 32 * 1024;
const job = paddedCountJob(JOB);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A store of each kind, reopenable (LMDB: the same directory, as after a crash). */
const stores: Array<[string, () => () => Promise<StateStore>]> = [
  [
    'memory',
    () => {
      const store = new MemoryStateStore();
      return async () => store;
    },
  ],
  [
    'LMDB',
    () => {
      const path = mkdtempSync(join(tmpdir(), 'mrm-budget-'));
      dirs.push(path);
      return () => LmdbStateStore.open({ path, noSync: true });
    },
  ],
];

/** Batches of `keys` keys drawn from `space`, the same for the same seed. */
function batches(seed: number, count: number, keys: number, space: number): CanonicalKey[][] {
  let x = seed;
  const out: CanonicalKey[][] = [];
  for (let b = 0; b < count; b++) {
    const batch: CanonicalKey[] = [];
    for (let i = 0; i < keys; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      batch.push(canonicalKey(`k${(x >>> 8) % space}`));
    }
    out.push(batch);
  }
  return out;
}

function bufferOf(keys: readonly CanonicalKey[]): ValueBuffer {
  const buffer = new ValueBuffer(job);
  for (const k of keys) buffer.add(k, 1);
  return buffer;
}

async function stateOf(store: StateStore, asOf: number): Promise<Map<CanonicalKey, number>> {
  const out = new Map<CanonicalKey, number>();
  for await (const [k, v] of store.scan(JOB, 0, { asOf })) out.set(k, (v as { n: number }).n);
  return out;
}

async function scratchDigest(store: StateStore, asOf: number) {
  const tracker = DigestTracker.from(undefined);
  let keys = 0;
  for await (const [k, v] of store.scan(JOB, 0, { asOf })) {
    tracker.add(k, v);
    keys++;
  }
  return tracker.digest(keys);
}

async function commit(store: StateStore, version: number): Promise<void> {
  await store.commitVersion(JOB, { version, createdAtMs: 0, base: 0, batches: 0, records: 0, keys: 0, label: 'test' });
}

/** Merges `list` into version `version` the way a merge run does (relieving after each batch). */
async function mergeAll(
  merger: PartitionMerger,
  version: number,
  list: CanonicalKey[][],
  counts: Map<string, number>,
  budget = BUDGET,
) {
  for (const [i, keys] of list.entries()) {
    await merger.mergeBatch(`v${version}-b${i}`, bufferOf(keys));
    for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
    await merger.relieve(version);
    expect(merger.heldBytes).toBeLessThanOrEqual(budget);
  }
}

describe('approxBytes', () => {
  it('counts what grows with the data', () => {
    expect(approxBytes(undefined)).toBe(0);
    expect(approxBytes(7)).toBe(8);
    expect(approxBytes('x'.repeat(1000))).toBeGreaterThanOrEqual(1000);
    expect(approxBytes({ n: 1, pad: PAD })).toBeGreaterThan(1000);
    expect(approxBytes(new Uint8Array(5000))).toBeGreaterThanOrEqual(5000);
  });

  it('sizes long collections by a sample, within the right order of magnitude', () => {
    const list = Array.from({ length: 10_000 }, (_, i) => `item-${i}-${'z'.repeat(i % 100)}`);
    const exact = list.reduce((n, s) => n + s.length, 0);
    const bytes = approxBytes(list);
    expect(bytes).toBeGreaterThan(exact);
    expect(bytes).toBeLessThan(exact * 3);
    expect(approxBytes(new Set(list))).toBeGreaterThan(exact / 2);
    expect(approxBytes(new Map(list.map((s) => [s, s])))).toBeGreaterThan(exact);
  });
});

describe('PartitionMerger memory budget', () => {
  for (const [kind, makeStore] of stores) {
    it(`keeps within its bytes, evicting and writing ahead, and every version stays exact (${kind})`, async () => {
      const store = await makeStore()();
      const merger = await PartitionMerger.open(
        { store, jobName: JOB, job, partition: 0, copied: true },
        { maxStateBytes: BUDGET },
      );
      const counts = new Map<string, number>();
      let wroteAhead = 0;
      for (let version = 1; version <= 4; version++) {
        const list = batches(version, 5, 40, 300);
        await mergeAll(merger, version, list, counts);
        const layer = await merger.checkpoint(version);
        await commit(store, version);
        wroteAhead += layer.earlier.length;
        expect(merger.heldBytes).toBeLessThanOrEqual(BUDGET);
        // The layer names every key the version changed (what a copy off the machine needs).
        const changed = new Set(list.flat());
        expect(new Set([...layer.changes.keys(), ...layer.earlier])).toEqual(changed);
        expect(await store.mergedBatches(JOB, 0)).toEqual(
          new Set(Array.from({ length: version * 5 }, (_, i) => `v${Math.floor(i / 5) + 1}-b${i % 5}`)),
        );
        expect(await stateOf(store, version)).toEqual(counts);
        expect(layer.digest).toEqual(await scratchDigest(store, version));
      }
      // 300 keys of ~1 KB in a 32 KiB budget: most changes went to the store ahead of their checkpoint.
      expect(wroteAhead).toBeGreaterThan(100);
      await store.close();
    });

    it(`writes ahead into the pending version only: committed versions do not see it, and a rollback after a crash replays exactly (${kind})`, async () => {
      const reopen = makeStore();
      let store = await reopen();
      const merger = await PartitionMerger.open({ store, jobName: JOB, job, partition: 0 }, { maxStateBytes: BUDGET });
      const counts = new Map<string, number>();
      await mergeAll(merger, 1, batches(11, 3, 40, 200), counts);
      await merger.checkpoint(1);
      await commit(store, 1);
      const committed = new Map(counts);
      const v2 = batches(12, 4, 60, 200);
      const after = new Map(counts);
      await mergeAll(merger, 2, v2, after);
      // Written ahead: the store holds version 2's values as of Infinity, version 1 is untouched.
      const k = v2[3]?.[0] as CanonicalKey;
      expect(((await store.get(JOB, 0, k, Number.POSITIVE_INFINITY)) as { n: number }).n).toBe(after.get(k));
      expect(await stateOf(store, 1)).toEqual(committed);
      expect((await store.latestVersion(JOB))?.version).toBe(1);
      expect(await store.mergedBatches(JOB, 0)).toEqual(new Set(['v1-b0', 'v1-b1', 'v1-b2']));

      // A crash here (LMDB: the store is opened again from disk), then the run's rollback and replay.
      if (kind === 'LMDB') {
        await store.close();
        store = await reopen();
      }
      await store.discardAbove(JOB, 1);
      expect(await stateOf(store, Number.POSITIVE_INFINITY)).toEqual(committed);
      const again = await PartitionMerger.open({ store, jobName: JOB, job, partition: 0 }, { maxStateBytes: BUDGET });
      const replayed = new Map(committed);
      await mergeAll(again, 2, v2, replayed);
      expect(replayed).toEqual(after);
      const layer = await again.checkpoint(2);
      await commit(store, 2);
      expect(await stateOf(store, 2)).toEqual(after);
      expect(await stateOf(store, 1)).toEqual(committed);
      expect(layer.digest).toEqual(await scratchDigest(store, 2));
      // Not copied: the layer lists no keys written ahead.
      expect(layer.earlier).toEqual([]);
      await store.close();
    });
  }

  it('reads a key back from the store after it was evicted or written ahead, merging on from its stored value', async () => {
    const store = new MemoryStateStore();
    const merger = await PartitionMerger.open({ store, jobName: JOB, job, partition: 0 }, { maxStateBytes: BUDGET });
    const hot = canonicalKey('hot');
    const counts = new Map<string, number>();
    // The hot key changes in every batch; 60 other keys per batch push it out of memory each time.
    const list = batches(5, 8, 60, 1000).map((keys) => [hot, ...keys]);
    await mergeAll(merger, 1, list, counts);
    const layer = await merger.checkpoint(1);
    await commit(store, 1);
    expect(((await store.get(JOB, 0, hot, 1)) as { n: number }).n).toBe(8);
    expect(await stateOf(store, 1)).toEqual(counts);
    expect(layer.digest).toEqual(await scratchDigest(store, 1));
  });

  it('leaves the cache alone while within budget (nothing written ahead)', async () => {
    const store = new MemoryStateStore();
    const merger = await PartitionMerger.open(
      { store, jobName: JOB, job, partition: 0, copied: true },
      { maxStateBytes: 64 * 1024 * 1024 },
    );
    await mergeAll(merger, 1, batches(3, 3, 40, 100), new Map(), 64 * 1024 * 1024);
    const layer = await merger.checkpoint(1);
    expect(layer.earlier).toEqual([]);
    expect(merger.heldBytes).toBeGreaterThan(40 * 1000);
  });
});
