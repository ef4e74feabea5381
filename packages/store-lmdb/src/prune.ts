/**
 * Pruning old versions of a job (`--keep-versions`): removes the committed version records below
 * the oldest kept version and every state entry no kept version can read. Reads walk each
 * partition once, outside any write transaction; removals go in transactions of at most
 * {@link PRUNE_CHUNK} keys, so a large job never needs one huge transaction. Writes of newer
 * versions may go on meanwhile: they only add entries above every kept version, which never
 * changes what an older entry's fate is. Batch records of versions below the oldest kept one go too
 * (decisions/0049): nothing reads them to decide what to merge, and kept they grow by one per batch.
 */
import type { PruneResult } from '@mrm/core';
import {
  jobRange,
  type LmdbKey,
  parsePartStatKey,
  parseStateKey,
  statePartition,
  versionsDownFrom,
} from './key-layout.js';
import { noteRemoved } from './latest-index.js';
import type { StoreDatabase } from './transactions.js';

/** Most keys removed in one write transaction. */
export const PRUNE_CHUNK = 10_000;

/** The databases pruning touches. */
export interface PruneDatabases {
  readonly state: StoreDatabase;
  readonly latest: StoreDatabase;
  readonly versions: StoreDatabase;
  readonly partstats: StoreDatabase;
  readonly batches: StoreDatabase;
}

/**
 * The state entries of one partition that no version from `oldestKept` on reads. Per key, entries
 * come newest first: those above `oldestKept` stay; the first at or below it (the value as of
 * `oldestKept`) stays unless it is a tombstone or below `base`; every older one goes. A doomed
 * entry that was its key's newest goes into `newest` (the key leaves `latest` with it).
 */
function* doomedEntries(
  db: StoreDatabase,
  job: string,
  partition: number,
  oldestKept: number,
  base: number,
  newest: Set<LmdbKey>,
) {
  let current: string | undefined;
  let anchored = false;
  let newer = false;
  for (const { key: lmdbKey, value } of db.getRange(statePartition(job, partition))) {
    const { key, version } = parseStateKey(lmdbKey);
    if (key !== current) {
      current = key;
      anchored = false;
      newer = false;
    }
    if (version > oldestKept) {
      newer = true;
      continue;
    }
    if (anchored) {
      yield lmdbKey;
      continue;
    }
    anchored = true;
    // Absent as of oldestKept (and so at every later version that has no newer entry).
    if (value === undefined || version < base) {
      if (!newer) newest.add(lmdbKey);
      yield lmdbKey;
    }
  }
}

/**
 * Removes keys in transactions of at most {@link PRUNE_CHUNK}; resolves with how many. `removed`
 * runs in the transaction after each removal.
 */
async function removeAll(
  db: StoreDatabase,
  keys: Iterable<LmdbKey>,
  durable: boolean,
  removed?: (key: LmdbKey) => void,
): Promise<number> {
  let count = 0;
  let chunk: LmdbKey[] = [];
  const flush = async () => {
    const doomed = chunk;
    chunk = [];
    await db.transaction(() => {
      for (const key of doomed) {
        db.remove(key);
        removed?.(key);
      }
    });
    count += doomed.length;
  };
  for (const key of keys) {
    chunk.push(key);
    if (chunk.length >= PRUNE_CHUNK) await flush();
  }
  if (chunk.length > 0) await flush();
  if (count > 0 && durable) await db.flushed;
  return count;
}

/**
 * Prunes job `job` below `oldestKept` (a committed version whose base is `base`). The entries'
 * keys of one chunk are collected before its transaction starts (an open cursor must not see its
 * own deletions).
 */
export async function pruneJob(
  dbs: PruneDatabases,
  job: string,
  oldestKept: number,
  base: number,
  durable: boolean,
): Promise<PruneResult> {
  const partitions = new Set<number>();
  const doomedStats: LmdbKey[] = [];
  let lastPartition = -1;
  // partstats come per partition, oldest version first: keep every write from the newest one with
  // a count at or below oldestKept on (keyCount and partitionDigest read it), drop older ones.
  const statsBelow: { key: LmdbKey; counted: boolean }[] = [];
  const settleStats = () => {
    let anchored = false;
    for (let i = statsBelow.length - 1; i >= 0; i--) {
      const stat = statsBelow[i] as { key: LmdbKey; counted: boolean };
      if (anchored) doomedStats.push(stat.key);
      else if (stat.counted) anchored = true;
    }
    statsBelow.length = 0;
  };
  for (const { key, value } of dbs.partstats.getRange(jobRange(job))) {
    const { partition, version } = parsePartStatKey(key);
    if (partition !== lastPartition) {
      settleStats();
      lastPartition = partition;
      partitions.add(partition);
    }
    if (version <= oldestKept) statsBelow.push({ key, counted: value !== null && value !== undefined });
  }
  settleStats();
  let entries = 0;
  for (const partition of partitions) {
    const newest = new Set<LmdbKey>();
    const doomed = doomedEntries(dbs.state, job, partition, oldestKept, base, newest);
    entries += await removeAll(dbs.state, doomed, durable, (key) => {
      if (newest.delete(key)) noteRemoved(dbs.latest, key);
    });
  }
  await removeAll(dbs.partstats, doomedStats, durable);
  // A batch record's value is the version the batch was first merged at.
  const doomedBatches: LmdbKey[] = [];
  for (const { key, value } of dbs.batches.getRange(jobRange(job))) {
    if ((value as number) < oldestKept) doomedBatches.push(key);
  }
  await removeAll(dbs.batches, doomedBatches, durable);
  const doomedVersions = [...dbs.versions.getKeys({ ...versionsDownFrom(job, oldestKept), exclusiveStart: true })];
  const versions = await removeAll(dbs.versions, doomedVersions, durable);
  return { entries, versions };
}
