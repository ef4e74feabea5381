/**
 * The copies of a run's partitions kept off the machine (see core's checkpoint-copy.ts): restores
 * a partition from its chain of copies when the local store is not current, copies every
 * checkpoint into the blob store, and refuses to go on under a lease that is no longer current.
 */
import {
  type BlobStore,
  type CanonicalKey,
  type CheckpointCopy,
  type CopyChainSize,
  checkpointBlobName,
  decodeCheckpointCopy,
  ErrorCode,
  encodeCheckpointCopy,
  fullCopyDue,
  type KeyValueBucket,
  type Logger,
  leaseKey,
  MrmError,
  type PartitionCopyPlan,
  type StateDigest,
  type StateStore,
  type StoredDeadLetter,
} from '@mrm/core';
import { fetchAhead, forEachConcurrently } from './concurrently.js';
import { packCopy, unpackCopy } from './copy-compression.js';
import type { CheckpointLayer } from './partition-merger.js';

/** Partitions restored from their copies at the same time. */
const RESTORE_CONCURRENCY = 2;
/** Copies of a restore chain requested before the one being applied is decoded. */
const RESTORE_FETCH_AHEAD = 2;

/** Where copies go and where leases are read. */
export interface CopyTarget {
  readonly blobs: BlobStore;
  readonly leases: KeyValueBucket;
}

/** What {@link PartitionCopies.ship} put: a full snapshot or a delta, and its bytes. */
export interface ShippedCopy {
  readonly full: boolean;
  /** Its encoded bytes before compression: what a restore decodes, and what {@link fullCopyDue} counts. */
  readonly bytes: number;
  /** The bytes stored in the blob store (compressed when that paid: copy-compression.ts). */
  readonly storedBytes: number;
}

/** Local metadata: the committed version this store holds a partition at, and under which lease. */
const currentAtName = (partition: number) => `copy-at/p${partition}`;

/** The value of a `copy-at` record. */
interface CurrentAt {
  readonly version: number;
  /** The owner's tenure of the lease when it was committed here (see PartitionCopyPlan.tenure). */
  readonly token: number;
  /**
   * The version this store restored the partition at, in this tenure: older versions of it are
   * not here (a restore writes the state of one version). Absent: built here from the start.
   */
  readonly from?: number;
}

/**
 * Throws unless this store can answer for `partition` of `job` as of `version`: a store that holds
 * nothing of the job (it was never an owner, or came back empty under the same id) or holds the
 * partition only from a later version on (restored from copies) would answer with missing keys,
 * silently. Stores without copies (`copy-at` records) are trusted once they hold a version of the job.
 */
export async function assertHeld(
  store: StateStore,
  workerId: string,
  job: string,
  partition: number,
  version: number,
): Promise<void> {
  const at = await store.getMeta<Partial<CurrentAt> | number>(job, currentAtName(partition));
  if (at === undefined && (await store.latestVersion(job)) === undefined) {
    throw new MrmError(
      ErrorCode.NotFound,
      `merge worker ${workerId} holds no state of partition ${partition} of job '${job}' (it is not the partition's owner, or its store is new)`,
    );
  }
  const from = typeof at === 'object' ? at.from : undefined;
  if (from !== undefined && version < from) {
    throw new MrmError(
      ErrorCode.NotFound,
      `partition ${partition} of job '${job}' moved to merge worker ${workerId}, which restored it at version ${from}: version ${version} of it is no longer kept on the cluster`,
    );
  }
}

/** The tenure a plan's partition is held under (a plan of an older coordinator: its token). */
const tenureOf = (plan: PartitionCopyPlan): number => plan.tenure ?? plan.token;

/**
 * True when a `copy-at` record says this store holds the partition at `version` or later under the
 * owner's tenure `tenure`. A lease taken again (the partition moved away and back, or `--reset`
 * deleted the job's leases) starts a new tenure: whatever this store holds of it may be stale then.
 */
function isCurrent(record: unknown, tenure: number, version: number): boolean {
  if (typeof record !== 'object' || record === null) return false; // older records: a number
  const at = record as Partial<CurrentAt>;
  return at.token === tenure && typeof at.version === 'number' && at.version >= version;
}

/** Copies of the partitions one merge worker owns in one run. */
export class PartitionCopies {
  private readonly plans = new Map<number, PartitionCopyPlan>();
  /**
   * Per partition, its chain as the copies shipped so far leave it (from the plan's at the start;
   * none when the plan says the first copy must be a full snapshot):
   * updated as each copy is decided (its bytes once encoded), so the next version's decision
   * counts it even while its put goes on.
   */
  private readonly chains = new Map<number, CopyChainSize>();
  /** Per partition, the version this store restored it at in the current tenure (see {@link CurrentAt.from}). */
  private readonly restoredAt = new Map<number, number>();

  constructor(
    private readonly target: CopyTarget,
    private readonly store: StateStore,
    private readonly jobName: string,
    plans: readonly PartitionCopyPlan[],
    private readonly logger: Logger,
  ) {
    for (const plan of plans) {
      this.plans.set(plan.partition, plan);
      const copies = plan.shipFull ? 0 : plan.chain.length;
      this.chains.set(plan.partition, { copies, deltaBytes: plan.deltaBytes ?? 0 });
    }
  }

  /**
   * {@link restoreIfStale} for each of `partitions`, two at a time: one partition's download
   * overlaps another's decoding and LMDB write. Returns the bytes downloaded.
   */
  async restoreAllIfStale(partitions: readonly number[], version: number): Promise<number> {
    let bytes = 0;
    await forEachConcurrently(partitions, RESTORE_CONCURRENCY, async (partition) => {
      bytes += await this.restoreIfStale(partition, version);
    });
    return bytes;
  }

  /**
   * Makes the local store hold `partition` at `version` (the run's base, after discardAbove):
   * nothing to do when this store committed it at that version or later in the owner's current
   * tenure (this worker has owned it since); otherwise (it moved here, the store came back empty, or the job was
   * reset) the partition is replaced by its chain of copies. Returns the number of bytes downloaded.
   */
  async restoreIfStale(partition: number, version: number): Promise<number> {
    const { store, jobName } = this;
    if (version === 0) return 0;
    const plan = this.plans.get(partition);
    const local = await store.getMeta<unknown>(jobName, currentAtName(partition));
    // Committed here through a version at or above `version` (perhaps above what the coordinator
    // committed): after discardAbove(version), the local partition is exactly `version`.
    if (plan !== undefined && isCurrent(local, tenureOf(plan), version)) {
      const from = (local as Partial<CurrentAt>).from;
      if (from !== undefined) this.restoredAt.set(partition, from);
      return 0;
    }
    if (plan === undefined || plan.chain.length === 0) {
      throw new MrmError(
        ErrorCode.State,
        `partition ${partition} of job '${jobName}' is not current in this worker's store and has no copy at version ${version} to restore from`,
      );
    }
    const entries = new Map<CanonicalKey, unknown>();
    let batches: string[] = [];
    let deadLetters: StoredDeadLetter[] = [];
    let keyCount = 0;
    let digest: StateDigest | undefined;
    let bytes = 0;
    // The chain's copies are fetched a few ahead of the one being applied: downloading the next
    // overlaps decoding this one (at most RESTORE_FETCH_AHEAD + 1 copies in memory).
    for await (const [name, data] of fetchAhead(this.target.blobs, plan.chain, RESTORE_FETCH_AHEAD)) {
      if (data === undefined) {
        throw new MrmError(
          ErrorCode.State,
          `checkpoint copy ${name} of job '${jobName}' is missing from the blob store`,
        );
      }
      bytes += data.length;
      const copy = decodeCheckpointCopy(await unpackCopy(data, name), name);
      if (copy.full) {
        entries.clear();
        batches = [];
        deadLetters = [];
      }
      for (let i = 0; i < copy.entries.length; i += 2)
        entries.set(copy.entries[i] as CanonicalKey, copy.entries[i + 1]);
      for (const k of copy.deleted) entries.delete(k);
      batches.push(...copy.batches);
      deadLetters.push(...(copy.deadLetters ?? []));
      keyCount = copy.keyCount;
      // The last copy's digest is the partition's at `version` (none: it is computed by a scan).
      digest = copy.digest;
    }
    await store.restorePartition({
      job: jobName,
      partition,
      version,
      changes: entries,
      batches,
      keyCount,
      deadLetters,
      ...(digest !== undefined ? { digest } : {}),
    });
    this.restoredAt.set(partition, version);
    await this.markCurrent([partition], version);
    this.logger.info('restored a partition from its copies', {
      job: jobName,
      partition,
      version,
      localAt: (local as Partial<CurrentAt> | undefined)?.version ?? 'none',
      copies: plan.chain.length,
      bytes,
    });
    return bytes;
  }

  /** Records that the local store holds `partitions` at the committed `version`, in this run's tenures. */
  async markCurrent(partitions: Iterable<number>, version: number): Promise<void> {
    // Written all at once: the store batches them into one transaction and one flush (a record
    // each, written one after the other, cost a flush each on every commit).
    await Promise.all(
      [...partitions].map((p) => {
        const from = this.restoredAt.get(p);
        const record: CurrentAt = { version, token: tenureOf(this.planOf(p)), ...(from !== undefined ? { from } : {}) };
        return this.store.putMeta(this.jobName, currentAtName(p), record);
      }),
    );
  }

  /**
   * Copies a checkpoint into the blob store (durably, before it resolves) and checks the lease is
   * still ours; returns whether the copy is a full snapshot, and its bytes. It is one when the
   * partition has no chain yet or when its chain is due one ({@link fullCopyDue}: the deltas since
   * the last outweigh the partition, whose size is the layer's digest). `written` is the
   * checkpoint's local write: a delta (the layer itself) ships while it goes on, and so does a
   * full snapshot of version 1 (the layer is the whole partition); a later full snapshot waits for
   * the write and reads the partition's batch records and dead letters from the store, and its
   * keys too unless the layer holds every live key (decisions/0053). The lease is read while the copy is put: a copy put
   * under a lease that moved on is never counted (this throws `E_FENCED`), never in a manifest,
   * and its name carries this run's token, so it replaces nobody's copy (the next run's sweep
   * deletes it; 0023).
   */
  async ship(
    partition: number,
    version: number,
    layer: CheckpointLayer,
    written: Promise<unknown> = Promise.resolve(),
  ): Promise<ShippedCopy> {
    const lease = this.assertLease(partition);
    // Awaited below with the put; a rejection before then is not unhandled.
    lease.catch(() => {});
    const plan = this.planOf(partition);
    const chain = this.chains.get(partition) ?? { copies: 0, deltaBytes: 0 };
    const full = fullCopyDue(chain, layer.digest.bytes);
    // Decided before anything is awaited: the next version's checkpoint may ship meanwhile.
    this.chains.set(partition, full ? { copies: 1, deltaBytes: 0 } : { ...chain, copies: chain.copies + 1 });
    const { keyCount, digest } = layer;
    // The layer's live keys (its changes, and keys written ahead of it read back) and, for a
    // delta, the keys it deleted: all a delta needs, and never waits for the local write.
    const entries: unknown[] = [];
    const deleted: CanonicalKey[] = [];
    for (const [k, v] of layer.changes) {
      if (v !== undefined) entries.push(k, v);
      else if (!full) deleted.push(k);
    }
    // Keys written into the version ahead of its checkpoint (over the memory budget): read back.
    const earlier = layer.earlier.filter((k) => !layer.changes.has(k));
    const values = earlier.length > 0 ? await this.store.getMany(this.jobName, partition, earlier, version) : [];
    for (let i = 0; i < earlier.length; i++) {
      const k = earlier[i] as CanonicalKey;
      if (values[i] !== undefined) entries.push(k, values[i]);
      else if (!full) deleted.push(k);
    }
    /** Encoded values to reuse (the layer's: the digest encoded them already). */
    let encoded: ReadonlyMap<CanonicalKey, Uint8Array> | undefined = layer.encoded;
    let copy: CheckpointCopy;
    if (!full || version === 1) {
      // Version 1 is the job's first: the partition held nothing before it (the run discarded
      // everything above version 0), so its layer is the whole partition and a full snapshot needs
      // no read of the store, nor waiting for the write.
      const deadLetters = layer.deadLetters.map((d) => ({ ...d, version, partition }));
      copy = { version, partition, full, entries, deleted, batches: [...layer.batches], keyCount, digest, deadLetters };
    } else {
      // A later full snapshot carries the partition's batch records and dead letters as the store
      // holds them after the write. Its keys: the layer's when they are every live key (each key
      // changed since the checkpoint before: distinct live keys, as many as the partition has),
      // else a scan of the store (decisions/0053).
      await written;
      const covers = entries.length / 2 === keyCount;
      if (!covers) {
        entries.length = 0;
        encoded = undefined;
        for await (const [k, v] of this.store.scan(this.jobName, partition, { asOf: version })) entries.push(k, v);
      }
      const batches = [...(await this.store.mergedBatches(this.jobName, partition))];
      const deadLetters: StoredDeadLetter[] = [];
      for await (const d of this.store.deadLetters(this.jobName, version))
        if (d.partition === partition) deadLetters.push(d);
      copy = { version, partition, full, entries, deleted: [], batches, keyCount, digest, deadLetters };
    }
    const bytes = encodeCheckpointCopy(copy, encoded);
    if (!full) {
      const now = this.chains.get(partition) as CopyChainSize;
      this.chains.set(partition, { ...now, deltaBytes: now.deltaBytes + bytes.byteLength });
    }
    const stored = await packCopy(bytes);
    await Promise.all([
      lease,
      this.target.blobs.put(checkpointBlobName(this.jobName, partition, version, plan.token), stored),
    ]);
    return { full, bytes: bytes.byteLength, storedBytes: stored.byteLength };
  }

  /** Throws `E_FENCED` when the partition's lease has moved on from the token of this run. */
  async assertLease(partition: number): Promise<void> {
    const plan = this.planOf(partition);
    const lease = await this.target.leases.get(leaseKey(this.jobName, partition));
    if (lease?.revision !== plan.token) {
      throw new MrmError(
        ErrorCode.Fenced,
        `partition ${partition} of job '${this.jobName}' is leased to another worker now (lease ${lease?.revision ?? 'gone'}, this run wrote under ${plan.token}): its writes here are refused`,
      );
    }
  }

  private planOf(partition: number): PartitionCopyPlan {
    const plan = this.plans.get(partition);
    if (plan === undefined) throw new MrmError(ErrorCode.Internal, `no copy plan for partition ${partition}`);
    return plan;
  }
}
