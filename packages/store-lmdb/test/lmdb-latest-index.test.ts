/** The `latest` database (decisions/0036): kept equal to each key's newest `state` entry, and migrated into. */
import { canonicalKey } from '@mrm/core';
import { LAYOUT_VERSION, LmdbStateStore } from '@mrm/store-lmdb';
import { writeRows } from '@mrm/testkit/conformance';
import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { info, scanAll, tempDir } from './store-test-helpers.js';

const [a, b] = ['a', 'b'].map((key) => canonicalKey(key)) as [string, string];

/** The `latest` database as stored, and what it must be: each key's newest `state` entry. */
async function latestAndNewest(dir: string): Promise<{ latest: unknown[]; newest: unknown[] }> {
  const raw = open({ path: dir, maxDbs: 9 });
  try {
    const newest: unknown[] = [];
    let last = '';
    for (const { key, value } of raw.openDB('state', { encoding: 'msgpack' }).getRange({})) {
      const [job, partition, canonical, negated] = key as [string, number, string, number];
      const id = JSON.stringify([job, partition, canonical]);
      if (id === last) continue;
      last = id;
      newest.push([
        [job, partition, canonical],
        [-negated, value],
      ]);
    }
    const latest = [...raw.openDB('latest', { encoding: 'msgpack' }).getRange({})].map(({ key, value }) => [
      key,
      value,
    ]);
    return { latest, newest };
  } finally {
    await raw.close();
  }
}

/** A job with tombstones, a reset, a pruned history, a discarded layer and a restored partition. */
async function writeHistory(store: LmdbStateStore): Promise<void> {
  await writeRows(store, { job: 'j', partition: 0, version: 1 }, { a: 1, b: 1, c: 1 });
  await writeRows(store, { job: 'j', partition: 1, version: 1 }, { a: 10 });
  await store.commitVersion('j', info(1));
  await writeRows(store, { job: 'j', partition: 0, version: 2 }, { a: undefined, b: 2 });
  await store.commitVersion('j', info(2));
  // Version 3 re-runs from scratch (base 3): c, written at 1 only, is below the base from now on.
  await writeRows(store, { job: 'j', partition: 0, version: 3 }, { b: 3, d: 3 });
  await store.commitVersion('j', info(3, 3));
  await writeRows(store, { job: 'j', partition: 0, version: 4 }, { d: undefined });
  await store.commitVersion('j', info(4, 3));
}

describe('the latest database', () => {
  it('holds exactly each key’s newest state entry through writes, discards, prunes, restores and drops', async () => {
    const dir = tempDir();
    const store = await LmdbStateStore.open({ path: dir, noSync: true });
    await writeHistory(store);
    // An uncommitted layer over every kind of key, discarded again.
    await writeRows(store, { job: 'j', partition: 0, version: 5 }, { a: 5, c: 5, d: 5 });
    await store.discardAbove('j', 4);
    // Pruning below 4 removes newest entries too: the tombstones of a (at 2) and d (at 4), and the
    // entries of c and of partition 1's a, below the base.
    const pruned = await store.pruneBelow('j', 4);
    expect(pruned.versions).toBe(3);
    expect(await scanAll(store, 'j', 0, 4)).toEqual([[b, 3]]);
    await store.restorePartition({ job: 'j', partition: 1, version: 4, changes: [[b, 40]], batches: [], keyCount: 1 });
    await writeRows(store, { job: 'other', partition: 0, version: 1 }, { a: 1 });
    await store.close();
    const after = await latestAndNewest(dir);
    expect(after.latest).toEqual(after.newest);
    expect(after.latest).toEqual([
      [
        ['j', 0, b],
        [3, 3],
      ],
      [
        ['j', 1, b],
        [4, 40],
      ],
      [
        ['other', 0, a],
        [1, 1],
      ],
    ]);

    const reopened = await LmdbStateStore.open({ path: dir, noSync: true });
    await reopened.dropJob('j');
    await reopened.close();
    expect(await latestAndNewest(dir)).toEqual({
      latest: [
        [
          ['other', 0, a],
          [1, 1],
        ],
      ],
      newest: [
        [
          ['other', 0, a],
          [1, 1],
        ],
      ],
    });
  });

  it('is built at a writable open of a store of layout 1, which a read-only open reads as it is', async () => {
    const dir = tempDir();
    const store = await LmdbStateStore.open({ path: dir, noSync: true });
    await writeHistory(store);
    await writeRows(store, { job: 'j', partition: 0, version: 5 }, { a: 5, b: undefined });
    const expected = async (s: LmdbStateStore) =>
      Promise.all([1, 2, 3, 4, Number.POSITIVE_INFINITY].map((v) => scanAll(s, 'j', 0, v)));
    const before = await expected(store);
    await store.close();
    // What layout 1 wrote: no `latest` database.
    const raw = open({ path: dir, maxDbs: 9 });
    await raw.openDB({ name: 'latest' }).drop();
    await raw.openDB('store', { encoding: 'msgpack' }).put(['layout'], 1);
    await raw.close();

    const reader = await LmdbStateStore.open({ path: dir, readOnly: true });
    expect(await expected(reader)).toEqual(before);
    await reader.close();

    const migrated = await LmdbStateStore.open({ path: dir, noSync: true });
    expect(await expected(migrated)).toEqual(before);
    await migrated.close();
    const built = await latestAndNewest(dir);
    expect(built.latest).toEqual(built.newest);
    expect(built.latest.length).toBe(5);
    const check = open({ path: dir, maxDbs: 9 });
    expect(check.openDB('store', { encoding: 'msgpack' }).get(['layout'])).toBe(LAYOUT_VERSION);
    await check.close();
  });

  it('scans as of the latest committed version from the snapshot it started from, across an uncommitted layer', async () => {
    const store = await LmdbStateStore.open({ path: tempDir(), noSync: true });
    const keys = Array.from({ length: 200 }, (_, i) => canonicalKey(`k${String(i).padStart(3, '0')}`));
    await store.writePartition({ job: 'j', partition: 0, version: 1, changes: keys.map((k) => [k, 1]), batches: [] });
    await store.commitVersion('j', info(1));
    // Every other key has an uncommitted newer entry: the scan reads those keys' history.
    const odd = keys.filter((_, i) => i % 2 === 1);
    await store.writePartition({ job: 'j', partition: 0, version: 2, changes: odd.map((k) => [k, 2]), batches: [] });
    const seen: unknown[] = [];
    for await (const [, value] of store.scan('j', 0, { asOf: 1 })) {
      seen.push(value);
      if (seen.length === 10) {
        await store.discardAbove('j', 1);
        await store.writePartition({
          job: 'j',
          partition: 0,
          version: 2,
          changes: keys.map((k) => [k, 3]),
          batches: [],
        });
        await store.commitVersion('j', info(2));
        await store.pruneBelow('j', 2);
      }
    }
    expect(seen).toEqual(keys.map(() => 1));
    expect((await scanAll(store, 'j', 0, 2)).map(([, v]) => v)).toEqual(keys.map(() => 3));
    await store.close();
  });
});
