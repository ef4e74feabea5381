/**
 * Checkpoints kept off the machine. Every checkpoint a merge worker writes of a partition is also
 * copied into the blob store (JetStream's object store on a cluster) as a {@link CheckpointCopy}:
 * the changed keys and the batch ids of that version (a delta), or every live key (a full
 * snapshot, once the deltas since the last one outweigh the partition: {@link fullCopyDue}, so
 * that a restore never replays much more than twice the partition). A version commits only once
 * its copies are durable.
 *
 * Ownership of each (job, partition) is a lease in the {@link LEASES_BUCKET} key/value bucket,
 * written by the coordinator; its revision is the fencing token. A copy's blob name carries the
 * token it was written under, and the coordinator's {@link CopyManifest} (one entry per job in
 * {@link CHECKPOINTS_BUCKET}) names the copies of committed versions: a deposed owner's late
 * copies are never part of a chain.
 */

import { decode, encode } from './codec.js';
import type { StoredDeadLetter } from './dead-letter.js';
import { ErrorCode, MrmError } from './errors.js';
import type { CanonicalKey } from './key.js';
import type { StateDigest } from './state-digest.js';

/** Key/value bucket of partition leases (`leaseKey` → owner). */
export const LEASES_BUCKET = 'leases';
/** Key/value bucket of copy manifests (job name → {@link CopyManifest}). */
export const CHECKPOINTS_BUCKET = 'checkpoints';

/**
 * A partition's next copy is a full snapshot once the deltas shipped since its last full snapshot
 * add up to this many times the partition's size (decisions/0047): the full snapshots' bytes are
 * then at most the deltas' bytes divided by this, and a restore reads at most the partition's
 * size times (1 + this), plus one delta.
 */
export const FULL_COPY_DELTA_RATIO = 1;

/**
 * A restore chain (full snapshot included) holds at most this many copies: with many small deltas
 * (a version per batch over a large partition) the chain's length, not its bytes, bounds a restore
 * and what JetStream keeps (decisions/0047).
 */
export const MAX_COPY_CHAIN = 50;

/** What a partition's restore chain holds after its full snapshot. */
export interface CopyChainSize {
  /** Copies in the chain, its full snapshot included (0: no chain). */
  readonly copies: number;
  /** Encoded bytes of the chain's deltas (those after the full snapshot). */
  readonly deltaBytes: number;
}

/**
 * True when a partition whose chain is `chain` and whose state is `partitionBytes` bytes (its
 * digest's) should ship a full snapshot as its next copy: it has no chain, the deltas since the
 * last full snapshot outweigh the partition ({@link FULL_COPY_DELTA_RATIO}), or one more delta
 * would make the chain longer than {@link MAX_COPY_CHAIN}.
 */
export function fullCopyDue(chain: CopyChainSize, partitionBytes: number): boolean {
  return (
    chain.copies === 0 || chain.copies >= MAX_COPY_CHAIN || chain.deltaBytes > FULL_COPY_DELTA_RATIO * partitionBytes
  );
}

/** What a merge worker needs to copy and restore one partition it owns in a run. */
export interface PartitionCopyPlan {
  readonly partition: number;
  /** Revision of the partition's lease: copies are written under it, and refused once it changes. */
  readonly token: number;
  /**
   * The lease revision at which this owner's unbroken hold of the partition began (equal to
   * `token` in the run that gave it the partition). Every run takes a new `token`, but the tenure
   * stays while the owner does: a store that committed the partition under this tenure holds the
   * committed state and needs no restore (decisions/0025). Absent from older coordinators: `token`.
   */
  readonly tenure?: number;
  /** Blob names to restore the partition at the run's base version from, full snapshot first. */
  readonly chain: readonly string[];
  /**
   * Encoded bytes of the deltas in `chain` (after its full snapshot): where the cadence of full
   * snapshots ({@link fullCopyDue}) starts this run. Absent from older coordinators, and for
   * copies whose size the manifest does not know: counted as 0.
   */
  readonly deltaBytes?: number;
  /** True when no complete chain exists: the first copy of the run must be a full snapshot. */
  readonly shipFull: boolean;
}

/** One copied checkpoint of one partition. */
export interface CheckpointCopy {
  readonly version: number;
  readonly partition: number;
  /** True: `entries` are every live key at `version`; false: the keys changed since the version before. */
  readonly full: boolean;
  /** Flat list: canonical key, value, canonical key, value… */
  readonly entries: unknown[];
  /** Keys deleted at this version (deltas only). */
  readonly deleted: CanonicalKey[];
  /** Ids of the batches merged at this version (deltas), or recorded so far (full snapshots). */
  readonly batches: string[];
  readonly keyCount: number;
  /** Keys, bytes and hash of the partition at `version` (absent in copies made before they were kept). */
  readonly digest?: StateDigest;
  /**
   * The partition's dead letters recorded at this version (deltas), or at every version up to it
   * (full snapshots), each with the version that recorded it.
   */
  readonly deadLetters?: StoredDeadLetter[];
}

/** One copy of a committed version, as the manifest lists it. */
export interface ManifestEntry {
  readonly version: number;
  readonly token: number;
  readonly full: boolean;
  /** The copy's encoded bytes (absent in manifests written before decisions/0047). */
  readonly bytes?: number;
}

/** Per partition, the copies of committed versions from the newest full snapshot on. */
export interface CopyManifest {
  readonly partitions: ManifestEntry[][];
}

/** Key of the lease of one partition of a job. */
export function leaseKey(job: string, partition: number): string {
  return `${job}/p${partition}`;
}

/** Prefix of the blob names of every copy of a job (job names never contain `/`). */
export function checkpointBlobPrefix(job: string): string {
  return `checkpoints/${job}/`;
}

/** Blob name of a copy. */
export function checkpointBlobName(job: string, partition: number, version: number, token: number): string {
  return `${checkpointBlobPrefix(job)}p${partition}/v${version}-t${token}`;
}

/** The blob names of every copy a manifest lists: the copies a restore may still read. */
export function manifestBlobNames(job: string, manifest: CopyManifest): Set<string> {
  const names = new Set<string>();
  manifest.partitions.forEach((entries, p) => {
    for (const e of entries) names.add(checkpointBlobName(job, p, e.version, e.token));
  });
  return names;
}

/**
 * The blob names to restore `partition` at `version` from: the newest full snapshot at or below
 * it, then every delta up to it, each version once. Empty when the manifest holds no unbroken
 * chain ending at `version`.
 */
export function restoreChain(
  job: string,
  manifest: CopyManifest | undefined,
  partition: number,
  version: number,
): string[] {
  return restoreChainEntries(manifest, partition, version).map((c) =>
    checkpointBlobName(job, partition, c.version, c.token),
  );
}

/** The manifest entries of {@link restoreChain}'s chain, full snapshot first (empty: no chain). */
export function restoreChainEntries(
  manifest: CopyManifest | undefined,
  partition: number,
  version: number,
): ManifestEntry[] {
  const entries = (manifest?.partitions[partition] ?? []).filter((e) => e.version <= version);
  const chain: ManifestEntry[] = [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i] as ManifestEntry;
    const expected = version - chain.length;
    if (e.version !== expected) return [];
    chain.unshift(e);
    if (e.full) return chain;
  }
  return [];
}

/** The size of a chain of {@link restoreChainEntries} (a delta of unknown size counts 0 bytes). */
export function chainSize(chain: readonly ManifestEntry[]): CopyChainSize {
  let deltaBytes = 0;
  for (const e of chain) if (!e.full) deltaBytes += e.bytes ?? 0;
  return { copies: chain.length, deltaBytes };
}

/**
 * Encodes a copy for the blob store. `encoded`, when given, holds the MessagePack encoding of
 * values in `copy.entries`, by key (the bytes a merge worker already made for the digest): those
 * go in as they are instead of being encoded again. Either way the bytes decode to `copy`.
 */
export function encodeCheckpointCopy(
  copy: CheckpointCopy,
  encoded?: ReadonlyMap<CanonicalKey, Uint8Array>,
): Uint8Array {
  if (encoded === undefined || encoded.size === 0) return encode(copy);
  const { entries, ...rest } = copy;
  const fields = Object.entries(rest).filter(([, v]) => v !== undefined);
  // A MessagePack map is its header then key, value, key, value…: `entries` goes last.
  const parts: Uint8Array[] = [lengthHeader(fields.length + 1, MAP_HEADERS)];
  for (const [name, value] of fields) parts.push(encode(name), encode(value));
  parts.push(encode('entries'), lengthHeader(entries.length, ARRAY_HEADERS));
  for (let i = 0; i < entries.length; i += 2) {
    const key = entries[i] as CanonicalKey;
    parts.push(encode(key), encoded.get(key) ?? encode(entries[i + 1]));
  }
  return concatBytes(parts);
}

/** MessagePack header bytes of a map or array: the fix form's base, then the 16- and 32-bit forms. */
const MAP_HEADERS = [0x80, 0xde, 0xdf] as const;
const ARRAY_HEADERS = [0x90, 0xdc, 0xdd] as const;

function lengthHeader(n: number, [fix, b16, b32]: readonly [number, number, number]): Uint8Array {
  if (n < 16) return Uint8Array.of(fix | n);
  if (n < 0x10000) return Uint8Array.of(b16, n >>> 8, n & 0xff);
  return Uint8Array.of(b32, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.byteLength;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Decodes a copy; throws `E_STATE` naming the blob when it is not one. */
export function decodeCheckpointCopy(bytes: Uint8Array, name: string): CheckpointCopy {
  let c: CheckpointCopy;
  try {
    c = decode<CheckpointCopy>(bytes);
  } catch (e) {
    throw new MrmError(ErrorCode.State, `checkpoint copy ${name} is not readable`, { cause: e });
  }
  if (typeof c !== 'object' || c === null || !Array.isArray(c.entries) || typeof c.version !== 'number') {
    throw new MrmError(ErrorCode.State, `checkpoint copy ${name} is not a checkpoint copy`);
  }
  return c;
}
