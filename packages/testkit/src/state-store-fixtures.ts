/** Small helpers shared by the StateStore conformance specifications. */
import { type CanonicalKey, canonicalKey, type StateStore, type VersionInfo } from '@mrm/core';

/** A version record with fixed fields, so tests can compare whole records. */
export function versionInfo(version: number, base = 0): VersionInfo {
  return {
    version,
    createdAtMs: 1_700_000_000_000 + version,
    base,
    batches: version,
    records: version * 10,
    keys: version,
    label: `version ${version}`,
  };
}

/** Every item of an async iterable, in order. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** Entries of string keys, in the order given: what a scan returns, or changes (undefined deletes). */
export function rows(entries: Record<string, unknown>): [CanonicalKey, unknown][] {
  return Object.entries(entries).map(([key, value]) => [canonicalKey(key), value]);
}

/** Writes `changes` (string keys, undefined deletes) into `version`'s layer of one partition. */
export function writeRows(
  store: StateStore,
  at: { readonly job: string; readonly partition: number; readonly version: number },
  changes: Record<string, unknown>,
): Promise<void> {
  return store.writePartition({ ...at, changes: rows(changes), batches: [] });
}
