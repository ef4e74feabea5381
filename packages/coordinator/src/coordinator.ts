/**
 * The coordinator role: accepts a job run, plans its input into batches with stable ids, drives
 * the map and merge workers through the run (see job-run.ts) and answers with the committed
 * versions. Messages for the coordinator arrive on one channel and are routed to their run.
 */
import {
  DEFAULT_KEEP_VERSIONS,
  decodeMessage,
  ErrorCode,
  type JobRef,
  KEEP_ALL_VERSIONS,
  type Logger,
  type Metrics,
  MrmError,
  parseSaltOption,
  type ResolvedJob,
  type RoleState,
  runKey,
  type SkewStatus,
  type StateStore,
  type Subscription,
  silentLogger,
  type Transport,
  type VersionInfo,
} from '@mrm/core';
import type { SourceFile } from '@mrm/input';
import { JobRecord } from './job-record.js';
import { JobRun, type RunProgress, type RunSettings } from './job-run.js';
import type { PartitionLeases } from './partition-leases.js';
import { planRun, type SourceOutcome } from './run-plan.js';

/** Options of {@link Coordinator}. */
export interface CoordinatorOptions {
  readonly transport: Transport;
  /** The coordinator's own durable records (job shapes, plans, committed versions). */
  readonly store: StateStore;
  /**
   * Partition leases and the manifest of checkpoint copies (a cluster): runs of incremental jobs
   * then keep a copy of every checkpoint off the machine, and partitions can move. Absent: no copies.
   */
  readonly leases?: PartitionLeases;
  readonly logger?: Logger;
  /** Where runs report commit durations (default: nowhere). */
  readonly metrics?: Metrics;
}

/** Options of one run, with units in their names. */
export interface RunJobOptions {
  /** Lines per batch (default {@link DEFAULT_BATCH_LINES}). */
  readonly batchLines?: number;
  /** Checkpoint (commit a version) every this many batches (default 20). */
  readonly checkpointEveryBatches?: number;
  readonly onError?: 'fail' | 'skip';
  /** Versions to keep, the newest (default {@link DEFAULT_KEEP_VERSIONS}); 0 keeps every version. */
  readonly keepVersions?: number;
  /** Start the job's state over: every old version is deleted before the run. */
  readonly reset?: boolean;
  /** Merge into state built by other code of the job instead of failing (see docs/job-api.md). */
  readonly allowCodeChange?: boolean;
  readonly maxTasksInFlight?: number;
  readonly maxBatchesAhead?: number;
  /** Memory a merge worker may hold before spilling (default 256 MiB). */
  readonly maxBufferBytes?: number;
  /** Largest frame a map worker pushes (default 512 KiB). */
  readonly maxFrameBytes?: number;
  readonly requestTimeoutMs?: number;
  /** Re-dispatch unfinished tasks after this long without any report (default 30 s). */
  readonly stallTimeoutMs?: number;
  /** `auto`, `off` or a factor: overrides the job spec's `salt` (CLI `--salt`). */
  readonly salt?: string;
}

/** A run to do. */
export interface RunJobRequest {
  readonly jobId: string;
  readonly job: ResolvedJob;
  readonly ref: JobRef;
  readonly inputs: readonly SourceFile[];
  /** Map workers to dispatch tasks to. */
  readonly mapWorkers: readonly string[];
  /** Merge workers of the run; partition p is owned by `owners[p]`, else `mergeWorkers[p % n]`. */
  readonly mergeWorkers: readonly string[];
  readonly owners?: readonly string[];
  readonly options?: RunJobOptions;
  /** Aborting stops the run; versions it already committed stay (a cancel). */
  readonly signal?: AbortSignal;
  readonly onSource?: (outcome: SourceOutcome) => void;
  readonly onProgress?: (progress: RunProgress) => void;
}

/** What a run did. */
export interface RunResult {
  readonly jobId: string;
  readonly run: number;
  readonly sources: readonly SourceOutcome[];
  /** Versions committed by this run (none when every input was merged already). */
  readonly versions: readonly VersionInfo[];
  readonly batches: number;
  readonly records: number;
  /** Load per merge worker and salting (absent when nothing ran). */
  readonly skew?: SkewStatus;
  /** Records whose map threw, skipped with `onError: 'skip'`. */
  readonly skippedRecords: number;
  /** Records and keys set aside as dead letters by this run (`onError: 'skip'`). */
  readonly deadLetters: number;
  /** The job's latest committed version after the run (new, or the one it started from). */
  readonly latest: VersionInfo | undefined;
}

/** Validated run settings with defaults. */
export function resolveRunSettings(options: RunJobOptions = {}, mapWorkers = 1): RunSettings {
  const int = (name: string, value: number | undefined, fallback: number, min: number) => {
    const v = value ?? fallback;
    if (!Number.isSafeInteger(v) || v < min) {
      throw new MrmError(ErrorCode.BadOption, `${name} must be an integer ≥ ${min}, got ${String(value)}`);
    }
    return v;
  };
  const onError = options.onError ?? 'fail';
  if (onError !== 'fail' && onError !== 'skip') {
    throw new MrmError(ErrorCode.BadOption, `on-error must be 'fail' or 'skip', got '${String(onError)}'`);
  }
  const maxTasksInFlight = int('maxTasksInFlight', options.maxTasksInFlight, 4 * mapWorkers, 1);
  return {
    checkpointEveryBatches: int('checkpoint-every', options.checkpointEveryBatches, 20, 1),
    maxTasksInFlight,
    maxBatchesAhead: int('maxBatchesAhead', options.maxBatchesAhead, Math.max(8, 2 * maxTasksInFlight), 1),
    maxBufferBytes: int('maxBufferBytes', options.maxBufferBytes, 256 * 1024 * 1024, 1024 * 1024),
    maxFrameBytes: int('maxFrameBytes', options.maxFrameBytes, 512 * 1024, 1024),
    onError,
    keepVersions: int('keep-versions', options.keepVersions, DEFAULT_KEEP_VERSIONS, KEEP_ALL_VERSIONS),
    salt: 0,
    ...(options.salt !== undefined ? { saltSetting: parseSaltOption(options.salt) } : {}),
    requestTimeoutMs: int('requestTimeoutMs', options.requestTimeoutMs, 60_000, 1),
    stallTimeoutMs: int('stallTimeoutMs', options.stallTimeoutMs, 30_000, 1),
  };
}

/**
 * Lines per batch when none is given. 200,000 was measured against it and not taken
 * (docs/decisions/0013-batch-size.md): no whole-run gain, more anonymous memory.
 */
export const DEFAULT_BATCH_LINES = 50_000;

/** Validated lines per batch. */
export function resolveBatchLines(value: number | undefined): number {
  const v = value ?? DEFAULT_BATCH_LINES;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new MrmError(ErrorCode.BadOption, `batch size must be a positive integer of records, got ${String(value)}`);
  }
  return v;
}

/** Plans, dispatches and commits job runs. */
export class Coordinator {
  private readonly runs = new Map<string, JobRun>();
  private subscription: Subscription | undefined;
  private readonly logger: Logger;
  private lifecycle: RoleState = 'created';

  constructor(private readonly options: CoordinatorOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  /** Where the coordinator is in its lifecycle. */
  get state(): RoleState {
    return this.lifecycle;
  }

  /** Subscribes to worker reports. */
  start(): void {
    this.subscription = this.options.transport.subscribe({ kind: 'coordinator' }, (payload) => {
      let m: ReturnType<typeof decodeMessage>;
      try {
        m = decodeMessage(payload);
      } catch (e) {
        this.logger.warn('dropped an undecodable report', { error: String(e) });
        return;
      }
      if (!('jobId' in m) || !('run' in m)) return;
      this.runs.get(runKey(m.jobId, m.run))?.onMessage(m);
    });
    this.lifecycle = 'running';
  }

  /** Runs a job over its inputs and resolves when its last version is committed. */
  async runJob(request: RunJobRequest): Promise<RunResult> {
    if (this.state !== 'running') throw new MrmError(ErrorCode.Aborted, 'the coordinator is not running');
    const { job, options = {}, mapWorkers, mergeWorkers } = request;
    const { store, transport } = this.options;
    if (mapWorkers.length === 0 || mergeWorkers.length === 0) {
      throw new MrmError(
        ErrorCode.JobFailed,
        `no workers to run job '${job.name}': ${mapWorkers.length} map and ${mergeWorkers.length} merge workers`,
      );
    }
    const settings = resolveRunSettings(options, mapWorkers.length);
    const batchLines = resolveBatchLines(options.batchLines);
    const record = new JobRecord(store, job.name);
    if (options.reset === true) await record.reset();
    const base = await store.latestVersion(job.name);
    if (base !== undefined && options.allowCodeChange !== true) {
      await record.checkCode(job, base.version);
    }
    // Partition writes of versions that never committed are dropped before anything else.
    await store.discardAbove(job.name, base?.version ?? 0);
    const merged = job.incremental ? await record.committedBatches(base?.version ?? 0) : new Set<string>();
    const runNumber = await record.beginRun(job, request.ref.bundleHash);
    const plan = await planRun(record, request.inputs, {
      format: job.input,
      batchLines,
      merged,
      ...(request.signal !== undefined ? { signal: request.signal } : {}),
      ...(request.onSource !== undefined ? { onSource: request.onSource } : {}),
    });
    const empty: RunResult = {
      jobId: request.jobId,
      run: runNumber,
      sources: plan.sources,
      versions: [],
      batches: 0,
      records: 0,
      skippedRecords: 0,
      deadLetters: 0,
      latest: base,
    };
    if (plan.batchIds.length === 0) return empty;
    const owners =
      request.owners ??
      Array.from({ length: job.partitions }, (_, p) => mergeWorkers[p % mergeWorkers.length] as string);
    const leases =
      job.incremental && this.options.leases !== undefined
        ? await this.options.leases.prepare(job.name, owners, base?.version ?? 0)
        : undefined;
    const run = new JobRun({
      jobId: request.jobId,
      run: runNumber,
      job,
      ref: request.ref,
      plan,
      base,
      record,
      store,
      transport,
      mapWorkers,
      mergeWorkers,
      owners,
      settings,
      ...(leases !== undefined ? { leases } : {}),
      logger: this.logger,
      ...(this.options.metrics !== undefined ? { metrics: this.options.metrics } : {}),
      ...(request.onProgress !== undefined ? { onProgress: request.onProgress } : {}),
    });
    const key = runKey(request.jobId, runNumber);
    this.runs.set(key, run);
    const onAbort = () => void run.fail(request.signal?.reason ?? new MrmError(ErrorCode.Aborted, 'run aborted'), true);
    request.signal?.addEventListener('abort', onAbort, { once: true });
    if (request.signal?.aborted === true) onAbort();
    try {
      await run.start().catch((e: unknown) => run.fail(e));
      const versions = await run.done;
      await record.recordBundle(request.ref.bundleHash, job);
      const last = versions.at(-1);
      return {
        ...empty,
        versions,
        batches: plan.batchIds.length,
        records: (last?.records ?? 0) - (job.incremental ? (base?.records ?? 0) : 0),
        skippedRecords: run.skipped,
        deadLetters: run.deadLetters,
        skew: run.skewStatus(),
        latest: last ?? base,
      };
    } finally {
      request.signal?.removeEventListener('abort', onAbort);
      this.runs.delete(key);
    }
  }

  /** The run in progress for a job id, if any. */
  activeRun(jobId: string): JobRun | undefined {
    for (const [key, run] of this.runs) if (key.startsWith(`${jobId}/`)) return run;
    return undefined;
  }

  /** Every run in progress. */
  activeRuns(): JobRun[] {
    return [...this.runs.values()];
  }

  /** Stops listening. Runs in progress are abandoned (their uncommitted work rolls back on the next run). */
  async close(): Promise<void> {
    this.lifecycle = 'closed';
    this.subscription?.unsubscribe();
  }
}
