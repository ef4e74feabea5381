/**
 * @mrm/map-worker — the map role: runs `map` (+`combine`) over input splits, partitions the
 * output with the salted hash and pushes frames to the merge workers with credit flow control.
 *
 * ```ts
 * const executor = ThreadPoolMapExecutor.create({ workerId: 'map-1' });
 * const worker = new MapWorker({ id: 'map-1', transport, executor });
 * worker.start();
 * // …
 * await worker.drain(); // optional: let running tasks finish
 * await worker.close();
 * ```
 * @packageDocumentation
 */

export type { MapExecutor } from './map-executor.js';
export { InlineMapExecutor } from './map-executor.js';
export type { BatchOutput, MapTaskTotals } from './map-task-runner.js';
export type { MapWorkerStats } from './map-worker.js';
export { MapWorker } from './map-worker.js';
export type { MapWorkerOptions, ResolvedMapWorkerOptions } from './map-worker-options.js';
export { DEFAULT_CREDIT_WINDOW_BYTES, resolveMapWorkerOptions } from './map-worker-options.js';
export { MAX_JOBS_KEPT, TaskOwners } from './task-owners.js';
export { TaskReports } from './task-reports.js';
export type { ThreadPoolOptions } from './thread-pool-executor.js';
export { ThreadPoolMapExecutor } from './thread-pool-executor.js';
