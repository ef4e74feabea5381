import { isPrefixHashState } from './prefix-hash.js';
import type { SourceFile } from './source-file.js';
import type { PlannedBatch, SourcePlan } from './source-plan.js';

/**
 * The leading batches of a previous plan that may be reused: those of the same path that form a
 * well-shaped chain from offset 0. A stored plan is data from disk; a malformed tail must not make
 * the planner read nonsense offsets, so reuse simply stops where the chain breaks.
 */
export function reusableBatches(file: SourceFile, previous: SourcePlan | undefined): readonly PlannedBatch[] {
  if (previous === undefined || (previous.identity ?? previous.path) !== (file.identity ?? file.path)) return [];
  const chain: PlannedBatch[] = [];
  let offset = 0;
  let line = 1;
  for (const batch of previous.batches) {
    const wellShaped =
      batch.ordinal === chain.length &&
      batch.startOffset === offset &&
      Number.isSafeInteger(batch.endOffset) &&
      batch.endOffset > batch.startOffset &&
      Number.isSafeInteger(batch.lines) &&
      batch.lines >= 1 &&
      // A batch after a torn last line continues that line (see planSource).
      (batch.firstLine === line || batch.firstLine === line - 1) &&
      typeof batch.contentHash === 'string' &&
      typeof batch.batchId === 'string' &&
      // Only the first entry may be folded (it stands for a prefix of the source).
      (batch.folded === undefined || (chain.length === 0 && isPrefixHashState(batch.folded)));
    if (!wellShaped) break;
    chain.push(batch);
    offset = batch.endOffset;
    line = batch.firstLine + batch.lines;
  }
  return chain;
}
