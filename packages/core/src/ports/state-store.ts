/**
 * The StateStore port: a merge worker's durable, multi-versioned partition state.
 *
 * Model. Per job and partition, a map from canonical key to value, kept at every version. A
 * version is a checkpoint: a consistent cut across all partitions of a job. Writing version v
 * happens in two steps:
 *  1. {@link StateStore.writePartition} for each partition: the keys changed since the previous
 *     version and the ids of the batches merged into them, in ONE transaction (so a replayed batch
 *     is never merged twice);
 *  2. {@link StateStore.commitVersion} once every partition has written v: v becomes visible to
 *     readers and listed by {@link StateStore.listVersions}.
 * After a crash, {@link StateStore.discardAbove} removes partition writes of versions that never
 * committed. Reads name the version they read as of; a version whose `base` is b hides entries
 * written before b (a plain MapReduce re-run replaces the whole result).
 *
 * The store also keeps small metadata records for the coordinator (job shape, batch plans) and a
 * spill area where merge workers park values that do not fit their memory budget.
 */
import type { DeadLetter, StoredDeadLetter } from '../dead-letter.js';
import type { CanonicalKey } from '../key.js';
import type { StateDigest } from '../state-digest.js';

/** One committed version of a job's state. */
export interface VersionInfo {
  /** 1, 2, 3… per job; what `--version` takes. */
  readonly version: number;
  /** When it was committed. */
  readonly createdAtMs: number;
  /** Entries written at versions below `base` are not visible at this version (0: all are). */
  readonly base: number;
  /** Batches merged into the state as of this version, in total. */
  readonly batches: number;
  /** Input records merged as of this version, in total. */
  readonly records: number;
  /** Keys in the state at this version (all partitions). */
  readonly keys: number;
  /** Free text: what produced the version (e.g. `run of 3 inputs`). */
  readonly label: string;
  /** Per-version digest over all partitions, for determinism checks (invariant 5). */
  readonly digest?: string;
  /**
   * Hash of the whole state as of this version (32 hex digits, see {@link StateDigest}): the same
   * for the same job and input whatever the number of partitions or workers. Absent for versions
   * written before hashes were kept.
   */
  readonly hash?: string;
  /** Bytes of the state as of this version (keys' canonical UTF-8 bytes plus encoded values). */
  readonly bytes?: number;
  /**
   * A windowed job with allowed lateness: the watermark after the version's last batch (ms since
   * the epoch; windows ending at or before it are final). Absent before any event time.
   */
  readonly watermarkMs?: number;
  /** A windowed job with allowed lateness: late records (not merged) as of this version, in total. */
  readonly lateRecords?: number;
}

/** The writes of one partition at one version. */
export interface PartitionWrite {
  readonly job: string;
  readonly partition: number;
  readonly version: number;
  /** Keys changed since the previous version; `undefined` deletes the key. */
  readonly changes: Iterable<readonly [CanonicalKey, unknown]>;
  /** Stable ids of the batches merged into this partition at this version. */
  readonly batches: Iterable<string>;
  /** Number of live keys in the partition after this write (reported back in version info). */
  readonly keyCount?: number;
  /**
   * Keys, bytes and hash of the whole partition after this write (kept with the write; its `keys`
   * wins over `keyCount`). Read back by {@link StateStore.partitionDigest}.
   */
  readonly digest?: StateDigest;
  /** Records and keys set aside in the batches of this write (`onError: 'skip'`). */
  readonly deadLetters?: readonly DeadLetter[];
}

/**
 * A partition restored from its copies: every live key at `version`, its batch record, digest, and
 * its dead letters, each at the version that recorded it.
 */
export interface PartitionRestore extends Omit<PartitionWrite, 'deadLetters'> {
  readonly deadLetters?: readonly StoredDeadLetter[];
}

/** What {@link StateStore.pruneBelow} removed. */
export interface PruneResult {
  /** State entries removed (shadowed values and tombstones no kept version reads). */
  readonly entries: number;
  /** Version records removed. */
  readonly versions: number;
}

/** Values parked in the spill area, grouped by key in key order. */
export interface SpillArea {
  /** Appends values for keys of one partition under a namespace, in one transaction. */
  append(
    namespace: string,
    partition: number,
    entries: Iterable<readonly [CanonicalKey, readonly unknown[]]>,
  ): Promise<void>;
  /** Every key of the partition with all its appended values (in append order), sorted by key. */
  read(namespace: string, partition: number): AsyncIterable<readonly [CanonicalKey, unknown[]]>;
  /** Removes a namespace. */
  clear(namespace: string): Promise<void>;
  /** Bytes currently held (approximate). */
  bytes(namespace?: string): number;
}

/** Options for {@link StateStore.scan}. */
export interface ScanOptions {
  /** Read as of this version (a committed version, or `Infinity` for the latest written). */
  readonly asOf: number;
  /** Start at this canonical key (inclusive). */
  readonly start?: CanonicalKey;
}

/** Lifecycle of a store. */
export type StoreState = 'open' | 'closed';

/** Durable, multi-versioned state of merge workers. */
export interface StateStore {
  readonly state: StoreState;

  /** Committed versions of a job, oldest first. */
  listVersions(job: string): Promise<VersionInfo[]>;
  /** The newest committed version, or undefined when the job has none. */
  latestVersion(job: string): Promise<VersionInfo | undefined>;

  /** Value of one key as of a version; undefined when absent. */
  get(job: string, partition: number, key: CanonicalKey, asOf: number): Promise<unknown>;
  /** Values of many keys of one partition as of a version, in the order asked. */
  getMany(job: string, partition: number, keys: readonly CanonicalKey[], asOf: number): Promise<unknown[]>;
  /** Live entries of a partition as of a version, in canonical key order. */
  scan(job: string, partition: number, options: ScanOptions): AsyncIterable<readonly [CanonicalKey, unknown]>;

  /**
   * True when the batch is recorded as merged into the partition at a version written and not
   * pruned (a record of the partition's state, shipped with its copies; decisions/0049).
   */
  isBatchMerged(job: string, partition: number, batchId: string): Promise<boolean>;
  /** Ids of every batch recorded as merged into the partition. */
  mergedBatches(job: string, partition: number): Promise<Set<string>>;
  /**
   * The `keyCount` of the newest write of the partition at or below `asOf` that gave one (0 when
   * none did): how many live keys the partition had then, without scanning it.
   */
  keyCount(job: string, partition: number, asOf: number): Promise<number>;

  /**
   * The digest given with the newest write of the partition at or below `asOf` that gave a key
   * count; undefined when none did, or when that write gave a count without a digest.
   */
  partitionDigest(job: string, partition: number, asOf: number): Promise<StateDigest | undefined>;

  /**
   * Writes a partition's changes and batch record at a version, in one transaction. Writes and
   * commits take effect in the order they were called, awaited or not: a commit called after this
   * lands after it, and once the commit has resolved (durable) so has this write, if it succeeded
   * (a merge worker commits without awaiting its checkpoint writes, decisions/0050).
   */
  writePartition(write: PartitionWrite): Promise<void>;
  /**
   * Replaces everything of one partition by `restore` (every live key at `restore.version`, the
   * batch record, the digest, and the partition's dead letters at their own versions, none above
   * `restore.version`): a partition restored from its copies after it moved to this store. Older
   * versions of the partition are gone here afterwards. Not bound to versions above the latest
   * committed one.
   */
  restorePartition(restore: PartitionRestore): Promise<void>;
  /**
   * Makes a version visible: every partition has written it. Versions commit in increasing order.
   * A version committed already with exactly this info is a repeat and is skipped (idempotent, see
   * `isSameVersion`); one at or below the latest committed version otherwise is `E_STATE`.
   */
  commitVersion(job: string, info: VersionInfo): Promise<void>;
  /**
   * Makes several versions visible in one write (group commit: one transaction and one flush for
   * all of them): all or none. `infos` go in increasing order, the first above the latest
   * committed version, each rejected with `E_STATE` as {@link commitVersion} would reject it
   * (and each repeat skipped).
   */
  commitVersions(job: string, infos: readonly VersionInfo[]): Promise<void>;
  /** Removes every partition write and version above `version` (crash recovery, failed runs). */
  discardAbove(job: string, version: number): Promise<void>;
  /**
   * Forgets the committed versions below `oldestKept` and every state entry no version from
   * `oldestKept` on can read: an entry shadowed by a newer entry at or below `oldestKept`, an entry
   * below the base of `oldestKept`, and a tombstone with nothing older left. Every version from
   * `oldestKept` on reads exactly as before. Batch records of versions below `oldestKept` go too
   * (decisions/0049: what is merged is decided from the coordinator's records, never from these);
   * dead letters stay. Runs in bounded transactions; safe to run while newer versions are written.
   */
  pruneBelow(job: string, oldestKept: number): Promise<PruneResult>;
  /** Dead letters of a job recorded at or below `asOf` (oldest version first). */
  deadLetters(job: string, asOf: number): AsyncIterable<StoredDeadLetter>;
  /** Removes everything of a job. */
  dropJob(job: string): Promise<void>;

  /** A small metadata record (job shape, batch plans); undefined when absent. */
  getMeta<T = unknown>(job: string, name: string): Promise<T | undefined>;
  /** Writes a metadata record (durably, before it resolves). */
  putMeta(job: string, name: string, value: unknown): Promise<void>;
  /** Deletes a metadata record. */
  deleteMeta(job: string, name: string): Promise<void>;
  /** Names of a job's metadata records that start with `prefix`. */
  listMeta(job: string, prefix: string): Promise<string[]>;
  /** Names of every job with state or metadata in the store. */
  listJobs(): Promise<string[]>;

  /** Where merge workers park values beyond their memory budget. */
  readonly spill: SpillArea;

  /** Waits for pending writes and closes. */
  close(): Promise<void>;
}

/**
 * The part of a {@link StateStore} a coordinator keeps its own records in: committed versions and
 * small metadata records (job shapes, plans, batch records, submissions, history), no partition
 * state. The embedded engine's LMDB store is one; a cluster coordinator keeps them in JetStream
 * key/value buckets instead, so that another coordinator can take over (decisions/0020).
 */
export type RecordStore = Pick<
  StateStore,
  | 'listVersions'
  | 'latestVersion'
  | 'commitVersion'
  | 'commitVersions'
  | 'discardAbove'
  | 'pruneBelow'
  | 'getMeta'
  | 'putMeta'
  | 'deleteMeta'
  | 'listMeta'
  | 'close'
>;
