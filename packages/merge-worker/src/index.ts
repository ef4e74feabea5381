/**
 * @mrm/merge-worker — the merge role: receives pushed frames, reduces each batch, merges it
 * into the partition state strictly in batch order, checkpoints asynchronously every k batches
 * (with the batch record in the same transaction) and grants flow-control credit back.
 *
 * ```ts
 * const worker = new MergeWorker({ id: 'merge-1', transport, store, loadJob });
 * worker.start();
 * // …
 * await worker.drain(); // optional: let open runs finish
 * await worker.close();
 * ```
 * @packageDocumentation
 */
export type { MergeWorkerStats } from './merge-worker.js';
export { MergeWorker } from './merge-worker.js';
export type { MergeWorkerOptions, ResolvedMergeWorkerOptions } from './merge-worker-options.js';
export { resolveMergeWorkerOptions } from './merge-worker-options.js';
export type { PartitionWritten, Report, ScheduleFlush } from './run-reports.js';
export { RunReports } from './run-reports.js';
