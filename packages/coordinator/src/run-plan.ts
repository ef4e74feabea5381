/**
 * Planning a run: each source is cut into batches with stable ids (reusing the boundaries an
 * earlier run stored for the same path), the plan is stored before anything is dispatched, and
 * for an incremental job the batches already merged are left out.
 */
import type { InputFormat, SplitRef } from '@mrm/core';
import { type FoldedPlan, foldPlan, planSource, type SourceFile, type SourcePlan, splitsOf } from '@mrm/input';
import { DEFAULT_FOLD_AFTER_BATCHES } from './defaults.js';
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
  /**
   * Ids of batches whose versions are committed, when that is less than `merged` (an open run's
   * `merged` also holds the batches it took and has not committed): only these may be folded.
   * Default: `merged`.
   */
  readonly committed?: ReadonlySet<string>;
  /**
   * Fold a plan's leading committed batches into one entry once this many of them follow its
   * folded entry (docs/decisions/0039; default {@link DEFAULT_FOLD_AFTER_BATCHES}).
   */
  readonly foldAfterBatches?: number;
  /** Called after a plan was folded and stored: its folded ids now stand as `batchId`. */
  readonly onFold?: (folded: FoldedPlan) => void;
}

/** Plans every source and numbers the batches to run. */
export async function planRun(
  record: JobRecord,
  inputs: readonly SourceFile[],
  options: PlanRunOptions,
): Promise<RunPlan> {
  const plan: RunPlan = { splits: [], batchIds: [], batchLines: [], sources: [] };
  const committed = options.committed ?? options.merged;
  for (const file of inputs) {
    const previous = await record.plan(file.identity ?? file.path);
    const planning = {
      format: options.format,
      batchLines: options.batchLines,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    };
    let source = await planSource(file, { ...planning, ...(previous !== undefined ? { previous } : {}) });
    const head = source.batches[0];
    if (head?.folded !== undefined && !options.merged.has(head.batchId) && !committed.has(head.batchId)) {
      // A folded entry stands for merged batches; one that is not merged (the state was reset)
      // cannot be split again, so the source is planned afresh and every batch of it is new.
      source = await planSource(file, planning);
    }
    const folded = await foldCommitted(record, file, source, committed, options);
    // A plan taken as it was (the file's stamp unchanged, decisions/0032) is stored already.
    if (folded !== undefined) source = folded;
    else if (source !== previous) await record.savePlan(source);
    // A folded entry is merged by construction: never a batch to map.
    const only = new Set(
      source.batches.filter((b) => b.folded === undefined && !options.merged.has(b.batchId)).map((b) => b.batchId),
    );
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

/**
 * Folds the leading committed batches of a followed (append-only) `source` into one entry
 * (decisions/0039) when enough of them piled up behind its folded entry, and stores the folded plan; undefined when it did not
 * (nothing to fold, or the file no longer holds what was planned: the plan is kept unfolded).
 * The plan's last entry is never folded: following a file re-checks it at every look, and a
 * folded entry is checked by reading it whole.
 */
async function foldCommitted(
  record: JobRecord,
  file: SourceFile,
  source: SourcePlan,
  committed: ReadonlySet<string>,
  options: PlanRunOptions,
): Promise<SourcePlan | undefined> {
  // Only a followed file is planned again and again as it grows; a stream segment is planned
  // once (twice after a crash), and a file of a plain run gets its batches of --batch-size.
  if (file.appendOnly !== true) return undefined;
  let count = 0;
  while (count < source.batches.length - 1 && committed.has(source.batches[count]?.batchId ?? '')) count++;
  const loose = count - (source.batches[0]?.folded !== undefined ? 1 : 0);
  if (loose < (options.foldAfterBatches ?? DEFAULT_FOLD_AFTER_BATCHES)) return undefined;
  const folded = await foldPlan(file, source, count, options.signal);
  if (folded === undefined || !(await record.saveFoldedPlan(folded))) return undefined;
  options.onFold?.(folded);
  return folded.plan;
}
