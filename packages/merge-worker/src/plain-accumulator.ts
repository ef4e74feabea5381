/**
 * One partition of a plain MapReduce job (no `merge`): values of every batch of the run are
 * gathered (combined when the job has `combine`), parked in the store's spill area beyond the
 * memory budget, and reduced once when the last batch has arrived. The result replaces the
 * previous one: it is written as a version whose `base` hides everything older.
 */
import type { CanonicalKey, ResolvedJob, StateStore } from '@mrm/core';
import { keyOfCanonical } from './key-cache.js';
import { callUser } from './partition-merger.js';
import { ValueBuffer } from './value-buffer.js';

/** Gathers a plain job's values for one partition. */
export class PlainAccumulator {
  private readonly buffer: ValueBuffer;
  private readonly batchIds: string[] = [];
  private spilled = false;
  /** Approximate bytes parked in the spill area (16 per value). */
  spilledBytes = 0;

  constructor(
    private readonly store: StateStore,
    private readonly job: ResolvedJob,
    private readonly jobName: string,
    private readonly partition: number,
    /** Spill namespace (unique per run and partition). */
    private readonly spillNamespace: string,
    /** Values held before spilling. */
    private readonly maxHeldValues: number,
  ) {
    this.buffer = new ValueBuffer(job);
  }

  /** Adds one batch's values. */
  async add(batchId: string, batch: ValueBuffer): Promise<void> {
    for (const [ck, values] of batch.values) this.buffer.addAll(ck, values);
    this.batchIds.push(batchId);
    if (this.buffer.heldValues > this.maxHeldValues) {
      await this.store.spill.append(this.spillNamespace, this.partition, this.buffer.values);
      this.spilledBytes += this.buffer.heldValues * 16;
      this.buffer.clear();
      this.spilled = true;
    }
  }

  /** Drops what this partition parked in the spill area. */
  async clear(): Promise<void> {
    if (!this.spilled) return;
    this.spilled = false;
    await this.store.spill.clear(this.spillNamespace).catch(() => {});
  }

  /** Reduces everything and writes it as `version` (which hides all older entries). */
  async finish(version: number): Promise<number> {
    const results = new Map<CanonicalKey, unknown>();
    const reduceKey = (ck: CanonicalKey, values: unknown[]) => {
      const r = callUser('reduce', ck, 'final', () => this.job.reduce(keyOfCanonical(ck), values));
      if (r !== undefined) results.set(ck, r);
    };
    if (this.spilled) {
      for await (const [ck, values] of this.store.spill.read(this.spillNamespace, this.partition)) {
        const held = this.buffer.values.get(ck);
        if (held !== undefined) {
          values.push(...held);
          this.buffer.values.delete(ck);
        }
        reduceKey(ck, values);
      }
    }
    for (const [ck, values] of this.buffer.values) reduceKey(ck, values);
    this.buffer.clear();
    await this.clear();
    await this.store.writePartition({
      job: this.jobName,
      partition: this.partition,
      version,
      changes: results,
      batches: this.batchIds,
      keyCount: results.size,
    });
    return results.size;
  }
}
