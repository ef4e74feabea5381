/**
 * Batch records go with the versions retention prunes (decisions/0049): an endless stream of tiny
 * batches, a version per batch as `--follow` and `mrm submit --stream` make them, keeps the
 * merge worker's batch records and the pages of LMDB holding them flat.
 */
import { canonicalKey } from '@mrm/core';
import { LmdbStateStore } from '@mrm/store-lmdb';
import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { info, tempDir } from './store-test-helpers.js';

const PARTITIONS = 4;
const KEEP = 20;

/** Pages the `batches` database of the environment uses, and its records. */
async function batchPages(dir: string): Promise<{ pages: number; records: number }> {
  const raw = open({ path: dir, maxDbs: 9 });
  try {
    const stats = raw.openDB('batches', { encoding: 'msgpack' }).getStats() as Record<string, number>;
    return {
      pages: (stats.treeBranchPageCount ?? 0) + (stats.treeLeafPageCount ?? 0) + (stats.overflowPages ?? 0),
      records: stats.entryCount ?? 0,
    };
  } finally {
    await raw.close();
  }
}

/** Versions `from..to`, one batch each (a 64-hex id, as stream segments have), pruned as merge workers prune. */
async function stream(dir: string, from: number, to: number): Promise<number[]> {
  const store = await LmdbStateStore.open({ path: dir, noSync: true });
  const counts: number[] = [];
  try {
    let oldest = (await store.listVersions('s'))[0]?.version ?? 1;
    for (let v = from; v <= to; v++) {
      const batch = v.toString(16).padStart(64, '0');
      for (let p = 0; p < PARTITIONS; p++) {
        const changes: [string, unknown][] = [[canonicalKey(`k${v % 50}`), v]];
        await store.writePartition({ job: 's', partition: p, version: v, changes, batches: [batch] });
      }
      await store.commitVersion('s', info(v));
      // Once a tenth of the kept count can go (as the merge worker does after a commit).
      if (v - KEEP + 1 - oldest >= KEEP / 10) {
        oldest = v - KEEP + 1;
        await store.pruneBelow('s', oldest);
      }
      if (v % 500 === 0) {
        let records = 0;
        for (let p = 0; p < PARTITIONS; p++) records += (await store.mergedBatches('s', p)).size;
        counts.push(records);
      }
    }
    // A version that is still kept has its batch records.
    const last = to.toString(16).padStart(64, '0');
    for (let p = 0; p < PARTITIONS; p++) expect(await store.isBatchMerged('s', p, last)).toBe(true);
    expect(await store.isBatchMerged('s', 0, (1).toString(16).padStart(64, '0'))).toBe(false);
  } finally {
    await store.close();
  }
  return counts;
}

describe('batch records on an endless stream', () => {
  it('stay as many as the kept versions hold, and so do the pages holding them', async () => {
    const dir = tempDir();
    const first = await stream(dir, 1, 2000);
    const middle = await batchPages(dir);
    const second = await stream(dir, 2001, 4000);
    const end = await batchPages(dir);
    // Kept, they would be 4 × 500, 4 × 1000, … 4 × 4000.
    for (const records of [...first, ...second]) expect(records).toBeLessThanOrEqual(PARTITIONS * (KEEP + KEEP / 10));
    expect(end.records).toBeLessThanOrEqual(PARTITIONS * (KEEP + KEEP / 10));
    expect(end.pages).toBeLessThanOrEqual(middle.pages + 1);
  }, 120_000);
});
