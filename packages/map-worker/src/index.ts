/**
 * @mrm/map-worker — the map role: runs `map` (+`combine`) over input splits, partitions the
 * output with the salted hash and pushes frames to the merge workers with credit flow control.
 *
 * ```ts
 * const executor = ThreadPoolMapExecutor.create({ workerId: 'map-1' });
 * const worker = new MapWorker({ id: 'map-1', transport, executor });
 * worker.start();
 * ```
 * @packageDocumentation
 */

export type { FrameHeader, PartitionOutput } from './batch-collector.js';
export { BatchCollector } from './batch-collector.js';
export type { CreditStats } from './credit-gate.js';
export { CreditGate } from './credit-gate.js';
export type { MapExecutor } from './map-executor.js';
export { InlineMapExecutor } from './map-executor.js';
export type { BatchOutput, MapTaskTotals } from './map-task-runner.js';
export { runMapTask } from './map-task-runner.js';
export type { MapWorkerOptions, MapWorkerStats, ResolvedMapWorkerOptions } from './map-worker.js';
export { MapWorker, resolveMapWorkerOptions } from './map-worker.js';
export type { ThreadPoolOptions } from './thread-pool-executor.js';
export { ThreadPoolMapExecutor } from './thread-pool-executor.js';
