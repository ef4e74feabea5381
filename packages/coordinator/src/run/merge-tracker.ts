/**
 * Counts merged batches: a batch is merged once every merge worker of the run reported it
 * (`batch-merged`); the lowest batch not yet merged everywhere moves the dispatch window.
 */
import type { SplitRef } from '@mrm/core';
import type { JobRunContext } from './run-context.js';

/** Which batches of a run are merged everywhere. */
export class MergeTracker {
  /** Per seq: merge workers that reported it merged. */
  private readonly reports = new Map<number, Set<string>>();
  /** Seqs merged everywhere at or above {@link lowestUnmerged}. */
  private readonly mergedAbove = new Set<number>();
  private lowest = 0;
  private lines = 0;
  private recordCount = 0;
  private readonly recordsBySeq: number[] = [];

  constructor(private readonly ctx: JobRunContext) {}

  /** The lowest seq not yet merged everywhere (every seq below it is). */
  get lowestUnmerged(): number {
    return this.lowest;
  }

  /** Input lines of the batches merged everywhere. */
  get mergedLines(): number {
    return this.lines;
  }

  /** Input records of the batches merged everywhere. */
  get records(): number {
    return this.recordCount;
  }

  /** Takes a `batch-merged` report; true when the batch became merged everywhere. */
  onBatchMerged(seq: number, records: number, from: string): boolean {
    if (this.isMerged(seq)) return false;
    const reported = this.reports.get(seq) ?? new Set<string>();
    reported.add(from);
    this.reports.set(seq, reported);
    this.recordsBySeq[seq] = records;
    if (reported.size < this.ctx.mergeWorkers.length) return false;
    this.reports.delete(seq);
    this.mergedAbove.add(seq);
    this.recordCount += records;
    this.lines += this.ctx.plan.batchLines[seq] ?? 0;
    while (this.mergedAbove.has(this.lowest)) this.mergedAbove.delete(this.lowest++);
    return true;
  }

  /** True when a `batch-merged` of `seq` from `from` is news: the batch is not merged everywhere and `from` had not reported it. */
  isNewReport(seq: number, from: string): boolean {
    return !this.isMerged(seq) && this.reports.get(seq)?.has(from) !== true;
  }

  /** The merge workers that reported batch `seq` merged (while it is not merged everywhere). */
  reportersOf(seq: number): ReadonlySet<string> | undefined {
    return this.reports.get(seq);
  }

  /** True when batch `seq` is merged everywhere. */
  isMerged(seq: number): boolean {
    return seq < this.lowest || this.mergedAbove.has(seq);
  }

  /** True when every batch of `split` is merged everywhere. */
  splitMerged(split: SplitRef): boolean {
    return split.batches.every((b) => this.isMerged(b.seq));
  }

  /** Records of the batches `fromSeq`..`throughSeq` as their merge workers reported them. */
  recordsBetween(fromSeq: number, throughSeq: number): number {
    let records = 0;
    for (let s = fromSeq; s <= throughSeq; s++) records += this.recordsBySeq[s] ?? 0;
    return records;
  }
}
