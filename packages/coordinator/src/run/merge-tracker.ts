/**
 * Counts merged batches from the merge workers' cumulative reports (`merged-through`): a batch is
 * merged once every merge worker of the run merged through it, so what is merged everywhere is a
 * prefix, and its end (the lowest batch not yet merged everywhere) moves the dispatch window.
 * A report costs the coordinator the batches it is news about, whatever the number of workers
 * (docs/decisions/0030-cumulative-merge-reports.md).
 */
import type { MergedThroughMessage, SplitRef } from '@mrm/core';
import type { JobRunContext } from './run-context.js';

/** What one `merged-through` report changed. */
export interface MergeReportOutcome {
  /** Pairs the worker reduced in the batches this report was first to tell about. */
  readonly pairs: number;
  /** True when the lowest batch not merged everywhere moved. */
  readonly advanced: boolean;
  /**
   * True when the report skips batches the worker has not reported yet (a report was lost): it is
   * not applied, and the worker should be asked to send its reports again. Said once per gap.
   */
  readonly gap: boolean;
}

const NOTHING: MergeReportOutcome = { pairs: 0, advanced: false, gap: false };

/** Which batches of a run are merged everywhere. */
export class MergeTracker {
  /** Per merge worker of the run: the last seq it merged through (-1: none yet). */
  private readonly through = new Map<string, number>();
  /** Per merge worker: its `through` when a gap in its reports was last seen. */
  private readonly gapAt = new Map<string, number>();
  /** Per seq: merge workers that merged it (grows with an open run's plan). */
  private readonly reached: number[] = [];
  private readonly recordsBySeq: number[] = [];
  private lowest = 0;
  private lines = 0;
  private recordCount = 0;

  constructor(private readonly ctx: JobRunContext) {
    for (const w of ctx.mergeWorkers) this.through.set(w, -1);
  }

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

  /**
   * Takes a `merged-through` report: applies the batches it is first to tell about for its worker
   * (a report sent again, or overlapping one seen, changes nothing more).
   */
  onMergedThrough(m: MergedThroughMessage): MergeReportOutcome {
    const before = this.through.get(m.from);
    if (before === undefined || m.throughSeq <= before) return NOTHING;
    if (m.fromSeq > before + 1) {
      if (this.gapAt.get(m.from) === before) return NOTHING;
      this.gapAt.set(m.from, before);
      return { pairs: 0, advanced: false, gap: true };
    }
    let pairs = 0;
    for (let seq = before + 1; seq <= m.throughSeq; seq++) {
      const i = seq - m.fromSeq;
      pairs += m.pairs[i] ?? 0;
      this.recordsBySeq[seq] ??= m.records[i] ?? 0;
    }
    return { pairs, advanced: this.advance(m.from, before, m.throughSeq), gap: false };
  }

  /** True when merge worker `worker` reported batch `seq` merged. */
  hasMerged(worker: string, seq: number): boolean {
    return (this.through.get(worker) ?? -1) >= seq;
  }

  /** True when batch `seq` is merged everywhere. */
  isMerged(seq: number): boolean {
    return seq < this.lowest;
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

  /** Worker `worker` merged `before + 1`..`throughSeq`; true when the prefix merged everywhere grew. */
  private advance(worker: string, before: number, throughSeq: number): boolean {
    const total = this.ctx.plan.batchIds.length;
    const last = Math.min(throughSeq, total - 1);
    this.through.set(worker, throughSeq);
    for (let seq = before + 1; seq <= last; seq++) this.reached[seq] = (this.reached[seq] ?? 0) + 1;
    const everywhere = this.through.size;
    const from = this.lowest;
    while (this.lowest < total && this.reached[this.lowest] === everywhere) {
      this.recordCount += this.recordsBySeq[this.lowest] ?? 0;
      this.lines += this.ctx.plan.batchLines[this.lowest] ?? 0;
      this.lowest++;
    }
    return this.lowest > from;
  }
}
