/**
 * One partition of an incremental job on a merge worker: merges batches in order into a
 * write-back layer of changed keys, and at each checkpoint hands that layer to the store
 * asynchronously while merging goes on into a fresh one. Reads look in the newest layer first,
 * then in layers still being written, then in the store.
 */
import { type CanonicalKey, ErrorCode, errorMessage, MrmError, type ResolvedJob, type StateStore } from '@mrm/core';
import { keyOfCanonical } from './key-cache.js';
import type { ValueBuffer } from './value-buffer.js';

/** What a partition needs to know about its job. */
export interface PartitionContext {
  readonly store: StateStore;
  readonly jobName: string;
  readonly job: ResolvedJob;
  readonly partition: number;
}

/** What one checkpoint of a partition wrote. */
export interface CheckpointLayer {
  /** Keys changed since the checkpoint before; `undefined` deletes. */
  readonly changes: ReadonlyMap<CanonicalKey, unknown>;
  readonly batches: readonly string[];
  /** Live keys after the write. */
  readonly keyCount: number;
}

/**
 * Merges batches of one partition and writes its checkpoints.
 *
 * Reads of previous state go through `cache` (current value of every key seen, `undefined` for
 * known-absent keys). While `cacheComplete` holds (the partition was empty when opened and nothing
 * was evicted since) a key missing from the cache is absent without asking the store. Eviction
 * only drops keys whose latest value is already durable (not in `dirty` or a layer being written).
 */
export class PartitionMerger {
  private dirty = new Map<CanonicalKey, unknown>();
  private readonly flushing: Array<Map<CanonicalKey, unknown>> = [];
  private readonly cache = new Map<CanonicalKey, unknown>();
  private cacheComplete: boolean;
  private batchesSinceCut: string[] = [];
  /** Checkpoint writes still in flight (each removes itself when it settles). */
  private readonly pendingWrites = new Set<Promise<void>>();

  private constructor(
    private readonly ctx: PartitionContext,
    /** Live keys in the partition (after everything merged so far). */
    public keyCount: number,
    /** Most keys the cache holds before evicting. */
    private readonly maxCachedKeys: number,
  ) {
    this.cacheComplete = keyCount === 0;
  }

  /** Opens a partition at the store's latest written state. */
  static async open(ctx: PartitionContext, maxCachedKeys = 100_000): Promise<PartitionMerger> {
    const keys = await ctx.store.keyCount(ctx.jobName, ctx.partition, Number.POSITIVE_INFINITY);
    return new PartitionMerger(ctx, keys, maxCachedKeys);
  }

  private async previous(keys: Iterable<CanonicalKey>): Promise<void> {
    if (this.cacheComplete) return;
    const missing: CanonicalKey[] = [];
    for (const k of keys) if (!this.cache.has(k)) missing.push(k);
    if (missing.length === 0) return;
    const { store, jobName, partition } = this.ctx;
    const values = await store.getMany(jobName, partition, missing, Number.POSITIVE_INFINITY);
    for (let i = 0; i < missing.length; i++) this.cache.set(missing[i] as CanonicalKey, values[i]);
  }

  /** Drops durable keys from the cache when it has grown past its bound. */
  private evict(): void {
    if (this.cache.size <= this.maxCachedKeys) return;
    this.cacheComplete = false;
    const target = this.maxCachedKeys / 2;
    for (const k of this.cache.keys()) {
      if (this.cache.size <= target) break;
      if (this.dirty.has(k) || this.flushing.some((layer) => layer.has(k))) continue;
      this.cache.delete(k);
    }
  }

  /**
   * Reduces one batch's values and merges them into the state; then merges the reduced partials
   * of salted hot keys (`[key, partial, …]` lists from the partitions that held their sub-keys).
   */
  async mergeBatch(batchId: string, buffer: ValueBuffer, partials: readonly unknown[][] = []): Promise<void> {
    const { job } = this.ctx;
    const merge = job.merge;
    if (merge === undefined) throw new MrmError(ErrorCode.Internal, 'mergeBatch on a job without merge');
    await this.previous(buffer.values.keys());
    if (partials.length > 0) await this.previous([...partialEntries(partials)].map(([k]) => k));
    const { cache, dirty } = this;
    const reduce = job.reduce;
    let fn = 'reduce';
    let ck: CanonicalKey = '';
    let added = 0;
    try {
      // One try around the loop (not a closure per call): this is the merge hot path.
      for (const [k, values] of buffer.values) {
        ck = k;
        const key = keyOfCanonical(k);
        fn = 'reduce';
        const reduced = reduce(key, values);
        const before = cache.get(k);
        fn = 'merge';
        const after = merge(key, before, reduced);
        if (before === undefined) {
          if (after !== undefined) added++;
        } else if (after === undefined) added--;
        dirty.set(k, after);
        cache.set(k, after);
      }
    } catch (e) {
      throw userCodeError(fn, ck, batchId, e);
    } finally {
      this.keyCount += added;
    }
    if (partials.length > 0) this.mergePartials(batchId, merge, partials);
    this.batchesSinceCut.push(batchId);
  }

  /** Folds partials into their keys' state one after another (salting, decisions/0011). */
  private mergePartials(
    batchId: string,
    merge: NonNullable<ResolvedJob['merge']>,
    partials: readonly unknown[][],
  ): void {
    const { cache, dirty } = this;
    for (const [k, partial] of partialEntries(partials)) {
      const before = cache.get(k);
      const after = callUser('merge', k, batchId, () => merge(keyOfCanonical(k), before, partial));
      if (before === undefined && after !== undefined) this.keyCount++;
      else if (before !== undefined && after === undefined) this.keyCount--;
      dirty.set(k, after);
      cache.set(k, after);
    }
  }

  /**
   * Starts writing the changes since the last checkpoint as `version`; resolves when durable, with
   * what was written (for the copy kept off the machine).
   */
  checkpoint(version: number): Promise<CheckpointLayer> {
    const { store, jobName, partition } = this.ctx;
    const layer = this.dirty;
    this.dirty = new Map();
    this.flushing.push(layer);
    const batches = this.batchesSinceCut;
    this.batchesSinceCut = [];
    const write = store
      .writePartition({ job: jobName, partition, version, changes: layer, batches, keyCount: this.keyCount })
      .finally(() => {
        const i = this.flushing.indexOf(layer);
        if (i >= 0) this.flushing.splice(i, 1);
        this.evict();
      });
    this.pendingWrites.add(write);
    const forget = () => void this.pendingWrites.delete(write);
    write.then(forget, forget);
    const keyCount = this.keyCount;
    return write.then(() => ({ changes: layer, batches, keyCount }));
  }

  /** Waits for every write started so far (successful or not). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.pendingWrites]);
  }
}

/** One line naming the user function, key and batch of a throw. */
export function userCodeError(fn: string, ck: CanonicalKey, batchId: string, e: unknown): MrmError {
  return new MrmError(ErrorCode.UserCode, `${fn} threw for key ${ck} in batch ${batchId}: ${errorMessage(e)}`, {
    cause: e,
    details: { key: ck, batchId },
  });
}

/** Runs user code, turning a throw into {@link userCodeError}. */
export function callUser<T>(fn: string, ck: CanonicalKey, batchId: string, call: () => T): T {
  try {
    return call();
  } catch (e) {
    throw userCodeError(fn, ck, batchId, e);
  }
}

/** Canonical keys and partials of flat `[key, partial, …]` lists. */
function* partialEntries(lists: readonly unknown[][]): Generator<[CanonicalKey, unknown]> {
  for (const list of lists) {
    for (let i = 0; i + 1 < list.length; i += 2) yield [list[i] as CanonicalKey, list[i + 1]];
  }
}
