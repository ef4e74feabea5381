/**
 * @mrm/coordinator — the coordinator role: plans input into micro-batches with stable ids,
 * dispatches map tasks within a window, knows when each batch is merged everywhere, orders
 * checkpoints into versions, and rolls a failed run back.
 *
 * ```ts
 * const coordinator = new Coordinator({ transport, store, mapWorkers: ['map-1'], mergeWorkers: ['merge-1'] });
 * coordinator.start();
 * const result = await coordinator.runJob({ jobId, job, ref, inputs });
 * ```
 * @packageDocumentation
 */

export type {
  CoordinatorOptions,
  RunJobOptions,
  RunJobRequest,
  RunResult,
} from './coordinator.js';
export { Coordinator, DEFAULT_BATCH_LINES, resolveBatchLines, resolveRunSettings } from './coordinator.js';
export type { CoordinatorServiceOptions, StreamInput } from './coordinator-service.js';
export { CoordinatorService } from './coordinator-service.js';
export { JobHistory } from './job-history.js';
export type { QueuedJob } from './job-queue.js';
export { JobQueue } from './job-queue.js';
export type { JobShape } from './job-record.js';
export { JobRecord } from './job-record.js';
export type { JobRunContext, RunBlocker, RunProgress, RunSettings } from './job-run.js';
export { JobRun } from './job-run.js';
export type { JobWatchdogOptions, WatchedJob } from './job-watchdog.js';
export { DEFAULT_WATCHDOG_MS, JobWatchdog } from './job-watchdog.js';
export { assignPartitions } from './partition-assignment.js';
export { PartitionLeases, RunLeases } from './partition-leases.js';
export type { PlanRunOptions, RunPlan, SourceOutcome } from './run-plan.js';
export { planRun } from './run-plan.js';
export type {
  StreamCursor,
  StreamRoundsOptions,
  StreamSegment,
} from './stream-rounds.js';
export { DEFAULT_MAX_SEGMENT_RECORDS, StreamRounds, segmentIdentity } from './stream-rounds.js';
export { WorkerRegistry } from './worker-registry.js';
