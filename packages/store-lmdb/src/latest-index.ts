/**
 * The `latest` database: each key's newest `state` entry, `[job, partition, key] → [version,
 * value]` (decisions/0036). It exists iff the key has a `state` entry, and always holds the
 * newest one; every function here runs inside the write transaction that changes `state`, so a
 * crash leaves both consistent. A scan as of the latest version reads it instead of every entry
 * of every version (docs/storage.md, "Reading").
 */
import type { CanonicalKey } from '@mrm/core';
import {
  type LatestEntry,
  type LmdbKey,
  latestKey,
  latestKeyOfState,
  parseStateKey,
  statePartition,
} from './key-layout.js';
import type { StoreDatabase } from './transactions.js';

/**
 * Inside a write transaction, after putting a `state` entry at `version`: makes it the key's
 * newest entry. `checkNewer`: first looks whether the key has a newer one (an older uncommitted
 * version written after a newer one), which only a partition with a write above `version` can have.
 */
export function noteWritten(
  latest: StoreDatabase,
  job: string,
  partition: number,
  key: CanonicalKey,
  version: number,
  value: unknown,
  checkNewer: boolean,
): void {
  const at = latestKey(job, partition, key);
  const newest = checkNewer ? (latest.get(at) as LatestEntry | undefined) : undefined;
  if (newest === undefined || newest[0] <= version) latest.put(at, [version, value]);
}

/** What a walk over a partition's `state` keys found a key's newest entry to become. */
export interface LatestRepair {
  /** The key in `latest`. */
  readonly at: LmdbKey;
  /** The `state` entry that becomes the newest, or undefined: the key leaves `latest`. */
  readonly entry: LmdbKey | undefined;
}

/**
 * The keys of one partition whose newest entry is above `version`, with the entry that becomes
 * the newest once every entry above `version` is gone (discardAbove). Calls `doomed` for each
 * `state` key above `version`. Walks the keys only (no values), newest entry of each key first.
 */
export function repairsAbove(
  state: StoreDatabase,
  job: string,
  partition: number,
  version: number,
  doomed: (key: LmdbKey) => void,
): LatestRepair[] {
  const repairs: LatestRepair[] = [];
  let current: CanonicalKey | undefined;
  // The latest key of the current key while its newest remaining entry is still to be found.
  let pending: LmdbKey | undefined;
  for (const key of state.getKeys(statePartition(job, partition))) {
    const parsed = parseStateKey(key);
    if (parsed.key !== current) {
      if (pending !== undefined) repairs.push({ at: pending, entry: undefined });
      current = parsed.key;
      pending = parsed.version > version ? latestKeyOfState(key) : undefined;
    }
    if (parsed.version > version) doomed(key);
    else if (pending !== undefined) {
      repairs.push({ at: pending, entry: key });
      pending = undefined;
    }
  }
  if (pending !== undefined) repairs.push({ at: pending, entry: undefined });
  return repairs;
}

/** Inside a write transaction, after the doomed `state` entries are removed: applies the repairs. */
export function applyRepairs(state: StoreDatabase, latest: StoreDatabase, repairs: readonly LatestRepair[]): void {
  for (const { at, entry } of repairs) {
    if (entry === undefined) latest.remove(at);
    else latest.put(at, [parseStateKey(entry).version, state.get(entry)]);
  }
}

/**
 * Inside a write transaction, after removing `state` entry `entry` (pruning): the key leaves
 * `latest` if that entry was its newest. Checked against `latest` itself, so a newer entry written
 * since the prune's read stays.
 */
export function noteRemoved(latest: StoreDatabase, entry: LmdbKey): void {
  const at = latestKeyOfState(entry);
  const newest = latest.get(at) as LatestEntry | undefined;
  if (newest !== undefined && newest[0] === parseStateKey(entry).version) latest.remove(at);
}

/**
 * Inside a write transaction: builds `latest` from `state` in one pass (the migration of a store
 * of layout 1). Resolves with the number of keys.
 */
export function buildLatest(state: StoreDatabase, latest: StoreDatabase): number {
  let keys = 0;
  let current: LmdbKey | undefined;
  // Keys only: a value is decoded for each key's newest entry alone.
  for (const key of state.getKeys({})) {
    const at = latestKeyOfState(key);
    if (current !== undefined && sameKey(current, at)) continue;
    current = at;
    latest.put(at, [parseStateKey(key).version, state.get(key)]);
    keys++;
  }
  return keys;
}

function sameKey(a: LmdbKey, b: LmdbKey): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}
