/**
 * The LMDB key layout: every database name and every key and key range of the store is built here
 * and nowhere else (bullmq's `QueueKeys` habit), so the layout documented in docs/storage.md can be
 * checked against one file.
 *
 * Keys are arrays encoded by lmdb's ordered-binary: elements are joined by a 0 byte, strings are
 * their UTF-8 bytes (a first byte below 28 is escaped, never the case for canonical keys), numbers
 * are 9 order-preserving bytes starting with 0x08–0x17. So a key array sorts element by element,
 * strings by code point (the order of {@link compareCanonicalKeys}), and an array sorts just before
 * any longer array it is a prefix of.
 */
import { type CanonicalKey, ErrorCode, MrmError } from '@mrm/core';

/** Version of this layout, stored in the `store` database; bumped on any incompatible change. */
export const LAYOUT_VERSION = 1;

/** Names of the LMDB databases of one environment. */
export const DB_NAMES = Object.freeze({
  /** [job, partition, canonicalKey, -version] → value, or `undefined` for a deletion (tombstone). */
  state: 'state',
  /** [job, partition, batchId] → version that merged the batch. */
  batches: 'batches',
  /** [job, version] → VersionInfo of a committed version. */
  versions: 'versions',
  /**
   * [job, partition, version] → what the partition write gave: its `StateDigest` (keys, bytes,
   * hash), or only a keyCount (a number; stores written before digests), or `null`.
   */
  partstats: 'partstats',
  /** [job, version, partition, batchId, index] → a dead letter recorded with that partition write. */
  deadletters: 'deadletters',
  /** [job, name] → metadata value. */
  meta: 'meta',
  /** [namespace, partition, canonicalKey, epoch, seq] → array of parked values. */
  spill: 'spill',
  /** [name] → store-wide records: `layout` (layout version), `spillEpoch`. */
  store: 'store',
} as const);

/** One LMDB key of this layout. */
export type LmdbKey = (string | number | Uint8Array)[];

/** A forward (or, with `reverse`, backward) range of keys: `start` inclusive, `end` exclusive. */
export interface KeyRange {
  readonly start: LmdbKey;
  readonly end: LmdbKey;
  readonly reverse?: boolean;
  /** Leaves `start` itself out. */
  readonly exclusiveStart?: boolean;
  /** At most this many entries. */
  readonly limit?: number;
}

/** Longest key LMDB accepts with lmdb-js's default page size. */
export const MAX_KEY_BYTES = 1978;

/**
 * An element no encoded element starts with (they start below 0xF5): `[x, AFTER]` sorts after every
 * key `[x, …]` and before `[x + anything, …]`, so it closes a prefix range without a sentinel string.
 */
const AFTER = Uint8Array.of(0xff);

/** Key of the store-wide record holding the layout version. */
export const LAYOUT_RECORD: LmdbKey = ['layout'];
/** Key of the store-wide counter of opens, the first part of spill sequence numbers. */
export const SPILL_EPOCH_RECORD: LmdbKey = ['spillEpoch'];

/** Every key of a job in a database keyed by job first. */
export function jobRange(job: string): KeyRange {
  return { start: [job], end: [job, AFTER] };
}

/** Where to look for the next job after `job` when listing jobs by skipping (one seek per job). */
export function afterJob(job: string): LmdbKey {
  return [job, AFTER];
}

/** The job a key of a job-first database belongs to. */
export function jobOf(key: LmdbKey): string {
  return key[0] as string;
}

// --- state -----------------------------------------------------------------------------------

/** Key of a key's entry written at `version`. The negated version puts the newest entry first. */
export function stateKey(job: string, partition: number, key: CanonicalKey, version: number): LmdbKey {
  return [job, partition, key, -version];
}

/** The newest entry of one key at or below `asOf`: the one a read as of `asOf` sees. */
export function stateAsOf(job: string, partition: number, key: CanonicalKey, asOf: number): KeyRange {
  // -Infinity is the smallest number ordered-binary encodes, so asOf = Infinity starts at the newest.
  return { start: [job, partition, key, -asOf], end: [job, partition, key, 0], limit: 1 };
}

/** Every entry of a partition (each key newest first), from key `from` on when given. */
export function statePartition(job: string, partition: number, from?: CanonicalKey): KeyRange {
  return { start: from === undefined ? [job, partition] : [job, partition, from], end: [job, partition, AFTER] };
}

/** The canonical key and version of a state entry's key. */
export function parseStateKey(key: LmdbKey): { readonly key: CanonicalKey; readonly version: number } {
  return { key: key[2] as CanonicalKey, version: -(key[3] as number) };
}

// --- batches ---------------------------------------------------------------------------------

/** Key of the record of one batch merged into a partition. */
export function batchKey(job: string, partition: number, batchId: string): LmdbKey {
  return [job, partition, batchId];
}

/** Every batch record of a partition. */
export function batchPartition(job: string, partition: number): KeyRange {
  return { start: [job, partition], end: [job, partition, AFTER] };
}

/** The batch id of a batch record's key. */
export function batchIdOf(key: LmdbKey): string {
  return key[2] as string;
}

// --- versions --------------------------------------------------------------------------------

/** Key of a committed version's record. */
export function versionKey(job: string, version: number): LmdbKey {
  return [job, version];
}

/** Committed versions of a job at or below `asOf`, newest first. */
export function versionsDownFrom(job: string, asOf: number): KeyRange {
  return { start: [job, asOf], end: [job, 0], reverse: true };
}

/** Committed versions of a job above `version`, oldest first. */
export function versionsAbove(job: string, version: number): KeyRange {
  return { start: [job, version], end: [job, AFTER], exclusiveStart: true };
}

/** The version number of a version record's key. */
export function versionOf(key: LmdbKey): number {
  return key[1] as number;
}

// --- partstats -------------------------------------------------------------------------------

/** Key of the record of one partition write. */
export function partStatKey(job: string, partition: number, version: number): LmdbKey {
  return [job, partition, version];
}

/** Writes of a partition at or below `asOf`, newest first. */
export function partStatsDownFrom(job: string, partition: number, asOf: number): KeyRange {
  return { start: [job, partition, asOf], end: [job, partition, 0], reverse: true };
}

/** Partition and version of a partition write record's key. */
export function parsePartStatKey(key: LmdbKey): { readonly partition: number; readonly version: number } {
  return { partition: key[1] as number, version: key[2] as number };
}

/** Every write of a partition, oldest first. */
export function partStatsOf(job: string, partition: number): KeyRange {
  return { start: [job, partition], end: [job, partition, AFTER] };
}

// --- deadletters -----------------------------------------------------------------------------

/** Key of the `index`-th dead letter of a batch, written with a partition at a version. */
export function deadLetterKey(
  job: string,
  version: number,
  partition: number,
  batchId: string,
  index: number,
): LmdbKey {
  return [job, version, partition, batchId, index];
}

/** Dead letters of a job written at versions above `version`, oldest version first. */
export function deadLettersAbove(job: string, version: number): KeyRange {
  return { start: [job, version, AFTER], end: [job, AFTER] };
}

/** Dead letters of a job written at or below `asOf`, oldest version first. */
export function deadLettersUpTo(job: string, asOf: number): KeyRange {
  return { start: [job], end: [job, asOf, AFTER] };
}

/** Version and partition of a dead letter's key. */
export function parseDeadLetterKey(key: LmdbKey): { readonly version: number; readonly partition: number } {
  return { version: key[1] as number, partition: key[2] as number };
}

// --- meta ------------------------------------------------------------------------------------

/** Key of a metadata record. */
export function metaKey(job: string, name: string): LmdbKey {
  return [job, name];
}

/**
 * Metadata records of a job from names starting with `prefix` on; names with the prefix come
 * first and together, so a reader stops at the first name without it.
 */
export function metaFrom(job: string, prefix: string): KeyRange {
  return { start: [job, prefix], end: [job, AFTER] };
}

/** The name of a metadata record's key. */
export function metaNameOf(key: LmdbKey): string {
  return key[1] as string;
}

// --- spill -----------------------------------------------------------------------------------

/**
 * Key of one append of values for a key. `epoch` (counted per open of the environment) and `seq`
 * (counted per append within an open) keep appends in order across reopenings.
 */
export function spillKey(namespace: string, partition: number, key: CanonicalKey, epoch: number, seq: number): LmdbKey {
  return [namespace, partition, key, epoch, seq];
}

/** Every append of a partition under a namespace, by key, then in append order. */
export function spillPartition(namespace: string, partition: number): KeyRange {
  return { start: [namespace, partition], end: [namespace, partition, AFTER] };
}

/** Every append under a namespace. */
export function spillNamespace(namespace: string): KeyRange {
  return { start: [namespace], end: [namespace, AFTER] };
}

/** The canonical key of a spill key. */
export function spillKeyOf(key: LmdbKey): CanonicalKey {
  return key[2] as CanonicalKey;
}

// --- limits ----------------------------------------------------------------------------------

/** Encoded size of a key, rounded up (ordered-binary may add one escape byte per string). */
function encodedBytes(key: LmdbKey, bytesPerChar: (text: string) => number): number {
  let bytes = key.length - 1;
  for (const part of key) {
    if (typeof part === 'string') bytes += bytesPerChar(part) + 1;
    else if (typeof part === 'number') bytes += 9;
    else bytes += part.length;
  }
  return bytes;
}

/** At most 3 UTF-8 bytes per UTF-16 unit: enough to pass nearly every key without counting. */
const upperBound = (text: string): number => text.length * 3;
const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * Throws `E_BAD_KEY` when a key is too long for LMDB. Checked before a transaction starts, because
 * lmdb-js cannot roll back an asynchronous transaction half written.
 */
export function assertKeyFits(key: LmdbKey, what: string): void {
  if (encodedBytes(key, upperBound) <= MAX_KEY_BYTES) return;
  const bytes = encodedBytes(key, utf8);
  if (bytes > MAX_KEY_BYTES) {
    throw new MrmError(
      ErrorCode.BadKey,
      `${what} is ${bytes} bytes long as an LMDB key; LMDB keys are limited to ${MAX_KEY_BYTES} bytes`,
    );
  }
}
