/**
 * @mrm/coordinator/defaults — every default of the coordinator as a named constant, in a module
 * that imports nothing, so the CLI's help text reads them without loading the coordinator.
 *
 * ```ts
 * import { DEFAULT_BATCH_LINES } from '@mrm/coordinator/defaults';
 * ```
 * @packageDocumentation
 */

/**
 * Lines per batch when none is given. Raised from 50,000 (docs/decisions/0041-digest-and-batch-size.md:
 * word count on 64.5 MB 17% less CPU, lower peak RSS); 200,000 was measured and not taken
 * (docs/decisions/0013-batch-size.md: more anonymous memory).
 */
export const DEFAULT_BATCH_LINES = 100_000;
/** A version is committed after every this many batches (and after the run's last). */
export const DEFAULT_CHECKPOINT_EVERY_BATCHES = 20;
/** Map tasks in flight per map worker unless `maxTasksInFlight` says otherwise. */
export const DEFAULT_TASKS_IN_FLIGHT_PER_MAP_WORKER = 4;
/** The least `maxBatchesAhead` defaults to (else twice `maxTasksInFlight`). */
export const MIN_DEFAULT_BATCHES_AHEAD = 8;
/** Memory a merge worker may hold for a run's buffered batches before it spills. */
export const DEFAULT_MAX_BUFFER_BYTES = 256 * 1024 * 1024;
/** Largest frame a map worker pushes. */
export const DEFAULT_MAX_FRAME_BYTES = 512 * 1024;
/** How long a request to a merge worker (run start, commit, rollback) may take. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** With work outstanding and no report for this long, unfinished tasks are dispatched again. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;
/** A worker is lost after this long without a heartbeat. */
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 5_000;
/**
 * Every live worker is asked this often whether its process is still there; a killed one is lost
 * within about this long plus 250 ms, not after the heartbeat timeout (decisions/0024). 0: off.
 */
export const DEFAULT_LIVENESS_PROBE_MS = 500;
/** How long a job waits for at least one map and one merge worker. */
export const DEFAULT_WORKER_WAIT_MS = 15_000;
/** A running job without progress this long gets a stall warning naming what it waits for. */
export const DEFAULT_WATCHDOG_MS = 60_000;
/**
 * A standby coordinator takes over after the leader's lease has not been renewed for this long
 * (the leader renews it four times as often).
 */
export const DEFAULT_LEADER_LEASE_MS = 5_000;
/**
 * A source's plan folds its leading committed batches into one entry once this many of them
 * follow the folded entry (docs/decisions/0039): a plan keeps about this many entries, however
 * often a growing file is planned.
 */
export const DEFAULT_FOLD_AFTER_BATCHES = 64;
