/**
 * Planning a run: each source is cut into batches with stable ids (reusing the boundaries an
 * earlier run stored for the same path), the plan is stored before anything is dispatched, and
 * for an incremental job the batches already merged are left out.
 */
import type { InputFormat, SplitRef } from '@mrm/core';
import { planSource, type SourceFile, splitsOf } from '@mrm/input';
import type { JobRecord } from './job-record.js';

/** What happens to one source in a run. */
export interface SourceOutcome {
  readonly displayPath: string;
  readonly batches: number;
  /** Batches of the source this run merges. */
  readonly included: number;
  /** Lines in the included batches. */
  readonly lines: number;
}

/** The batches of a run, in merge order. */
export interface RunPlan {
  readonly splits: SplitRef[];
  /** Stable ids by seq. */
  readonly batchIds: string[];
  /** Lines by seq. */
  readonly batchLines: number[];
  readonly sources: SourceOutcome[];
}

/** Options of {@link planRun}. */
export interface PlanRunOptions {
  readonly format: InputFormat;
  readonly batchLines: number;
  /** Ids to leave out (already merged); empty for a plain MapReduce job. */
  readonly merged: ReadonlySet<string>;
  readonly signal?: AbortSignal;
  /** Called after each source is planned. */
  readonly onSource?: (outcome: SourceOutcome) => void;
  /** Seq of the first batch (an open run's extension continues its run's seqs; default 0). */
  readonly firstSeq?: number;
}

/** Plans every source and numbers the batches to run. */
export async function planRun(
  record: JobRecord,
  inputs: readonly SourceFile[],
  options: PlanRunOptions,
): Promise<RunPlan> {
  const plan: RunPlan = { splits: [], batchIds: [], batchLines: [], sources: [] };
  for (const file of inputs) {
    const previous = await record.plan(file.identity ?? file.path);
    const source = await planSource(file, {
      format: options.format,
      batchLines: options.batchLines,
      ...(previous !== undefined ? { previous } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    // A plan taken as it was (the file's stamp unchanged, decisions/0032) is stored already.
    if (source !== previous) await record.savePlan(source);
    const only = new Set(source.batches.filter((b) => !options.merged.has(b.batchId)).map((b) => b.batchId));
    let lines = 0;
    for (const b of source.batches) {
      if (!only.has(b.batchId)) continue;
      plan.batchIds.push(b.batchId);
      plan.batchLines.push(b.lines);
      lines += b.lines;
    }
    plan.splits.push(...splitsOf(source, (options.firstSeq ?? 0) + plan.batchIds.length - only.size, { only }));
    const outcome = { displayPath: file.displayPath, batches: source.batches.length, included: only.size, lines };
    plan.sources.push(outcome);
    options.onSource?.(outcome);
  }
  return plan;
}
