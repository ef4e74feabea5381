/**
 * One partition of a plain MapReduce job (no `merge`): values of every batch of the run are
 * gathered (combined when the job has `combine`), parked in the store's spill area beyond the
 * memory budget, and reduced once when the last batch has arrived. The result replaces the
 * previous one: it is written as a version whose `base` hides everything older.
 */
import {
  type CanonicalKey,
  type DeadLetter,
  type ResolvedJob,
  type StateDigest,
  type StateStore,
  unstorableReason,
} from '@mrm/core';
import { DeadLetterBox } from './dead-letter-box.js';
import { DigestTracker } from './digest-tracker.js';
import { keyOfCanonical } from './key-cache.js';
import { BadResult, resultMessage, userCodeError } from './partition-merger.js';
import { ValueBuffer } from './value-buffer.js';

/** Batch id named by errors and dead letters of the final reduce (it spans every batch). */
const FINAL_REDUCE = 'final';

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
    /** `skip`: a key whose reduce fails becomes a dead letter. */
    private readonly onError: 'fail' | 'skip' = 'fail',
  ) {
    this.buffer = new ValueBuffer(job, onError);
    this.deadLetters = new DeadLetterBox(jobName);
  }

  private readonly deadLetters: DeadLetterBox;

  /** Adds one batch's values (and the dead letters map set aside in it). */
  async add(batchId: string, batch: ValueBuffer, setAside: readonly DeadLetter[] = []): Promise<void> {
    this.deadLetters.add(setAside);
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

  /**
   * Reduces everything and writes it as `version` (which hides all older entries); resolves with
   * the partition's digest and the number of dead letters.
   */
  async finish(version: number): Promise<{ digest: StateDigest; deadLetters: number }> {
    const results = new Map<CanonicalKey, unknown>();
    const digest = DigestTracker.from(undefined);
    const reduceKey = (ck: CanonicalKey, values: unknown[]) => {
      try {
        const reduced = this.job.reduce(keyOfCanonical(ck), values);
        const bad = unstorableReason(reduced);
        if (bad !== undefined) throw new BadResult(bad);
        results.set(ck, reduced);
        digest.add(ck, reduced);
      } catch (e) {
        if (this.onError !== 'skip') throw userCodeError('reduce', ck, FINAL_REDUCE, e, this.jobName);
        const message = resultMessage('reduce', e);
        this.deadLetters.add([{ stage: 'reduce', batchId: FINAL_REDUCE, key: ck, message, atMs: Date.now() }]);
      }
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
    const setAside = this.deadLetters.count;
    const state = digest.digest(results.size);
    await this.store.writePartition({
      job: this.jobName,
      partition: this.partition,
      version,
      changes: results,
      batches: this.batchIds,
      digest: state,
      deadLetters: this.deadLetters.take(),
    });
    return { digest: state, deadLetters: setAside };
  }
}
