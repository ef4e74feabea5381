/**
 * @mrm/coordinator — the coordinator role: plans input into micro-batches with stable ids,
 * dispatches map tasks within a window, knows when each batch is merged everywhere, orders
 * checkpoints into versions, and rolls a failed run back. `CoordinatorService` runs it as the
 * cluster's long-running service (heartbeats, API, job queue).
 *
 * ```ts
 * const coordinator = new Coordinator({ transport, store });
 * coordinator.start();
 * const result = await coordinator.runJob({ jobId, job, ref, inputs, mapWorkers: ['map-1'], mergeWorkers: ['merge-1'] });
 * await coordinator.close();
 * ```
 * @packageDocumentation
 */

export type {
  CoordinatorOptions,
  OpenRun,
  ResolvedCoordinatorOptions,
  RunJobRequest,
  RunResult,
} from './coordinator.js';
export { Coordinator, resolveCoordinatorOptions } from './coordinator.js';
export {
  DEFAULT_BATCH_LINES,
  DEFAULT_CHECKPOINT_EVERY_BATCHES,
  DEFAULT_HEARTBEAT_TIMEOUT_MS,
  DEFAULT_LEADER_LEASE_MS,
  DEFAULT_MAX_BUFFER_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_STALL_TIMEOUT_MS,
  DEFAULT_TASKS_IN_FLIGHT_PER_MAP_WORKER,
  DEFAULT_WORKER_WAIT_MS,
  MIN_DEFAULT_BATCHES_AHEAD,
} from './defaults.js';
export type { JobShape } from './job-record.js';
export { JobRecord } from './job-record.js';
export type { KvRecordStoreOptions } from './kv-record-store.js';
export { INLINE_RECORD_MAX_BYTES, KvRecordStore, RECORDS_BUCKET } from './kv-record-store.js';
export type { PartitionLeasesOptions } from './partition-leases.js';
export { PartitionLeases } from './partition-leases.js';
export type { RecordCopy, RecordSource } from './record-copy.js';
export { copyRecords } from './record-copy.js';
export type { JobRunState, RunSnapshot } from './run/job-run.js';
export type { RunProgress } from './run/run-context.js';
export type { SourceOutcome } from './run-plan.js';
export type { RunJobOptions, RunSettings } from './run-settings.js';
export { resolveBatchLines, resolveRunSettings } from './run-settings.js';
export { CoordinatorService } from './service/coordinator-service.js';
export type { LeaderLeaseOptions, LeaderState } from './service/leader-lease.js';
export { coordinatorExpected, LEADER_BUCKET, LeaderLease } from './service/leader-lease.js';
export type {
  CoordinatorServiceOptions,
  ResolvedCoordinatorServiceOptions,
  StreamInput,
} from './service/service-options.js';
export { resolveCoordinatorServiceOptions } from './service/service-options.js';
export type { StreamCursor, StreamFeedOptions, StreamSegment } from './service/stream-feed.js';
export { StreamFeed, segmentIdentity } from './service/stream-feed.js';
