import type { BatchSlice, SplitRef } from '@mrm/core';
import { ErrorCode, MrmError } from '@mrm/core';
import type { PlannedBatch, SourcePlan } from './source-plan.js';

/** Options of {@link splitsOf}. */
export interface SplitsOfOptions {
  /**
   * Most batches per split. Default: 1 for plain files (each batch is a map task, for
   * parallelism; positional reads make that free) and unlimited for gzip (every gzip split
   * inflates from the start of the file, so one split per file reads it once).
   */
  readonly batchesPerSplit?: number;
  /** Only these batch ids get a seq and a place in a split (the others were merged already). */
  readonly only?: ReadonlySet<string>;
}

/**
 * Groups a plan's batches into splits for map tasks, numbering the included batches with
 * consecutive `seq`s from `firstSeq` in plan order. A split holds consecutive batches only
 * (no excluded batch in between), as a split is one contiguous byte range.
 */
export function splitsOf(plan: SourcePlan, firstSeq: number, options: SplitsOfOptions = {}): SplitRef[] {
  const perSplit = options.batchesPerSplit ?? (plan.gzip ? Number.POSITIVE_INFINITY : 1);
  if (!(perSplit >= 1) || (Number.isFinite(perSplit) && !Number.isSafeInteger(perSplit))) {
    throw new MrmError(ErrorCode.BadOption, `batches per split must be a positive integer, not ${perSplit}`);
  }
  const splits: SplitRef[] = [];
  let open: BatchSlice[] | undefined;
  let before: PlannedBatch | undefined;
  let seq = firstSeq;
  for (const batch of plan.batches) {
    if (options.only !== undefined && !options.only.has(batch.batchId)) {
      open = undefined;
      before = undefined;
      continue;
    }
    // Line numbers inside a split are counted on from `firstLine`; a batch that continues a torn
    // line (see planSource) starts a split of its own so its number stays right.
    const continues =
      before !== undefined &&
      before.endOffset === batch.startOffset &&
      before.firstLine + before.lines === batch.firstLine;
    if (open === undefined || !continues || open.length >= perSplit) {
      open = [];
      splits.push({
        path: plan.location,
        displayPath: plan.displayPath,
        format: plan.format,
        gzip: plan.gzip,
        startOffset: batch.startOffset,
        firstLine: batch.firstLine,
        batches: open,
      });
    }
    open.push({ seq: seq++, batchId: batch.batchId, endOffset: batch.endOffset, lines: batch.lines });
    before = batch;
  }
  return splits;
}
