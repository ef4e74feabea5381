/**
 * @mrm/merge-worker — the merge role: receives pushed frames, reduces each batch, merges it
 * into the partition state strictly in batch order, checkpoints asynchronously every k batches
 * (with the batch record in the same transaction) and grants flow-control credit back.
 *
 * ```ts
 * const worker = new MergeWorker({ id: 'merge-1', transport, store, loadJob });
 * worker.start();
 * ```
 * @packageDocumentation
 */
export { keyOfCanonical } from './key-cache.js';
export type { Report } from './merge-run.js';
export { MergeRun } from './merge-run.js';
export type { MergeWorkerOptions, MergeWorkerStats } from './merge-worker.js';
export { MergeWorker } from './merge-worker.js';
export type { PartitionContext } from './partition-merger.js';
export { callUser, PartitionMerger, userCodeError } from './partition-merger.js';
export { PlainAccumulator } from './plain-accumulator.js';
export { ValueBuffer } from './value-buffer.js';
