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

/** Merges batches of one partition and writes its checkpoints. */
export class PartitionMerger {
  private dirty = new Map<CanonicalKey, unknown>();
  private readonly flushing: Array<Map<CanonicalKey, unknown>> = [];
  private batchesSinceCut: string[] = [];
  private pendingWrites: Promise<void>[] = [];

  private constructor(
    private readonly ctx: PartitionContext,
    /** Live keys in the partition (after everything merged so far). */
    public keyCount: number,
  ) {}

  /** Opens a partition at the store's latest written state. */
  static async open(ctx: PartitionContext): Promise<PartitionMerger> {
    return new PartitionMerger(ctx, await ctx.store.keyCount(ctx.jobName, ctx.partition, Number.POSITIVE_INFINITY));
  }

  private async previous(keys: CanonicalKey[]): Promise<Map<CanonicalKey, unknown>> {
    const found = new Map<CanonicalKey, unknown>();
    const missing: CanonicalKey[] = [];
    for (const k of keys) {
      if (this.dirty.has(k)) {
        found.set(k, this.dirty.get(k));
        continue;
      }
      let hit = false;
      for (let i = this.flushing.length - 1; i >= 0; i--) {
        const layer = this.flushing[i] as Map<CanonicalKey, unknown>;
        if (layer.has(k)) {
          found.set(k, layer.get(k));
          hit = true;
          break;
        }
      }
      if (!hit) missing.push(k);
    }
    if (missing.length > 0) {
      const { store, jobName, partition } = this.ctx;
      const values = await store.getMany(jobName, partition, missing, Number.POSITIVE_INFINITY);
      for (let i = 0; i < missing.length; i++) found.set(missing[i] as CanonicalKey, values[i]);
    }
    return found;
  }

  /** Reduces one batch's values and merges them into the state. */
  async mergeBatch(batchId: string, buffer: ValueBuffer): Promise<void> {
    const { job } = this.ctx;
    const merge = job.merge;
    if (merge === undefined) throw new MrmError(ErrorCode.Internal, 'mergeBatch on a job without merge');
    const prev = await this.previous([...buffer.values.keys()]);
    for (const [ck, values] of buffer.values) {
      const key = keyOfCanonical(ck);
      const reduced = callUser('reduce', ck, batchId, () => job.reduce(key, values));
      const before = prev.get(ck);
      const after = callUser('merge', ck, batchId, () => merge(key, before, reduced));
      if (before === undefined && after !== undefined) this.keyCount++;
      else if (before !== undefined && after === undefined) this.keyCount--;
      this.dirty.set(ck, after);
    }
    this.batchesSinceCut.push(batchId);
  }

  /** Starts writing the changes since the last checkpoint as `version`; resolves when durable. */
  checkpoint(version: number): Promise<void> {
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
      });
    this.pendingWrites.push(write);
    return write;
  }

  /** Waits for every write started so far (successful or not). */
  async settle(): Promise<void> {
    const writes = this.pendingWrites;
    this.pendingWrites = [];
    await Promise.allSettled(writes);
  }
}

/** Runs user code, turning a throw into one line naming the function, key and batch. */
export function callUser<T>(fn: string, ck: CanonicalKey, batchId: string, call: () => T): T {
  try {
    return call();
  } catch (e) {
    throw new MrmError(ErrorCode.UserCode, `${fn} threw for key ${ck} in batch ${batchId}: ${errorMessage(e)}`, {
      cause: e,
      details: { key: ck, batchId },
    });
  }
}
