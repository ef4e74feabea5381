/** What every part of a run shares: the run's identity, its plan, its ports and its settings. */
import type { Clock, JobRef, Logger, Metrics, RecordStore, ResolvedJob, Transport, VersionInfo } from '@mrm/core';
import type { JobRecord } from '../job-record.js';
import type { RunLeases } from '../partition-leases.js';
import type { RunPlan } from '../run-plan.js';
import type { RunSettings } from '../run-settings.js';

/** Progress of a run, for progress bars and status. */
export interface RunProgress {
  readonly jobId: string;
  readonly totalBatches: number;
  readonly mergedBatches: number;
  readonly totalLines: number;
  readonly mergedLines: number;
  readonly records: number;
  readonly versions: readonly VersionInfo[];
}

/** Everything a run needs. */
export interface JobRunContext {
  readonly jobId: string;
  readonly run: number;
  readonly job: ResolvedJob;
  readonly ref: JobRef;
  readonly plan: RunPlan;
  /** The job's latest committed version when the run started (what a failure rolls back to). */
  readonly base: VersionInfo | undefined;
  readonly record: JobRecord;
  readonly store: RecordStore;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly mapWorkers: readonly string[];
  readonly mergeWorkers: readonly string[];
  /** Owner of each partition (default: `mergeWorkers[p % n]`). */
  readonly owners?: readonly string[];
  readonly settings: RunSettings;
  /** Leases and copies of the partitions (a cluster run of an incremental job), else none. */
  readonly leases?: RunLeases;
  readonly logger: Logger;
  /** Where commit durations go (default: nowhere). */
  readonly metrics?: Metrics;
  readonly onProgress?: (progress: RunProgress) => void;
  /**
   * An open run (a streaming job, docs/decisions/0027): `plan` starts empty and grows by
   * {@link JobRun.extend}; a version is committed after each extension; the run ends when stopped.
   */
  readonly open?: boolean;
}

/** The first version this run writes. */
export function firstVersionOf(ctx: JobRunContext): number {
  return (ctx.base?.version ?? 0) + 1;
}

/** How many versions this run commits (a plain job commits one). */
export function versionCountOf(ctx: JobRunContext): number {
  return ctx.job.incremental ? Math.ceil(ctx.plan.batchIds.length / ctx.settings.checkpointEveryBatches) : 1;
}
