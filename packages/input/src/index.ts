/**
 * @mrm/input — turns `--input <path...>` into source files, plans each source into micro-batches
 * with stable ids, groups them into splits, and reads a split's batches fast in map workers.
 *
 * ```ts
 * import { expandInputs, planSource, splitsOf, readSplitBatches, forEachRecord } from '@mrm/input';
 *
 * const [file] = await expandInputs(['logs/']);
 * const plan = await planSource(file, { format: 'lines', batchLines: 10_000, previous: storedPlan });
 * const [split] = splitsOf(plan, 0);
 * for await (const batch of readSplitBatches(split)) {
 *   forEachRecord(batch.text, split.format, batch.firstLine, split.displayPath, (line, n) => {});
 * }
 * ```
 * @packageDocumentation
 */
export { MAX_BATCH_BYTES } from './batch-cutter.js';
export { BATCH_ID_LENGTH, batchIdOf } from './batch-id.js';
export type { ExpandInputsOptions } from './expand-inputs.js';
export { expandInputs } from './expand-inputs.js';
export type { FileStamp } from './file-stamp.js';
export { isRacy, RACY_MARGIN_MS, readStamp, sameStamp } from './file-stamp.js';
export type { FoldedPlan } from './fold-plan.js';
export { foldPlan } from './fold-plan.js';
export { forEachRecord } from './for-each-record.js';
export { looksLikeText, TEXT_SNIFF_BYTES } from './looks-like-text.js';
export type { PlanSourceOptions } from './plan-source.js';
export { planSource } from './plan-source.js';
export type { ContentHasher, PrefixHashState } from './prefix-hash.js';
export { PREFIX_HASH_BLOCK_BYTES, PrefixHash } from './prefix-hash.js';
export type { BatchText } from './read-split-batches.js';
export { readSplitBatches } from './read-split-batches.js';
export type { SourceFile } from './source-file.js';
export type { PlannedBatch, SourcePlan } from './source-plan.js';
export type { SplitsOfOptions } from './splits-of.js';
export { splitsOf } from './splits-of.js';
