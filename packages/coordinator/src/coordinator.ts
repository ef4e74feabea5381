/**
 * The coordinator role: accepts a job run, plans its input into batches with stable ids, drives
 * the map and merge workers through the run (run/job-run.ts and its parts) and answers with the
 * committed versions. Run reports arrive on the `coordinator` channel and are routed to their run.
 */
import {
  type Clock,
  decodeMessage,
  ErrorCode,
  type JobRef,
  type Logger,
  type Metrics,
  MrmError,
  noMetrics,
  type RecordStore,
  type ResolvedJob,
  type RoleState,
  runKey,
  type SkewStatus,
  type Subscription,
  silentLogger,
  systemClock,
  type Transport,
  type VersionInfo,
} from '@mrm/core';
import type { FoldedPlan, SourceFile } from '@mrm/input';
import { JobRecord } from './job-record.js';
import type { PartitionLeases } from './partition-leases.js';
import { JobRun } from './run/job-run.js';
import type { RunProgress } from './run/run-context.js';
import { type PlanRunOptions, planRun, type SourceOutcome } from './run-plan.js';
import { type RunJobOptions, resolveBatchLines, resolveRunSettings } from './run-settings.js';

/** Options of {@link Coordinator}. */
export interface CoordinatorOptions {
  readonly transport: Transport;
  /** The coordinator's own durable records (job shapes, plans, committed versions). */
  readonly store: RecordStore;
  /**
   * Partition leases and the manifest of checkpoint copies (a cluster): runs of incremental jobs
   * then keep a copy of every checkpoint off the machine, and partitions can move. Absent: no copies.
   */
  readonly leases?: PartitionLeases;
  readonly logger?: Logger;
  /** Time and timers (stall detection, version times); default the system clock. */
  readonly clock?: Clock;
  /** Where runs report commit durations (default: nowhere). */
  readonly metrics?: Metrics;
}

/** {@link CoordinatorOptions} with defaults filled. */
export interface ResolvedCoordinatorOptions {
  readonly transport: Transport;
  readonly store: RecordStore;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly leases: PartitionLeases | undefined;
}

/** Fills the defaults of {@link CoordinatorOptions} (a new object; the caller's is not touched). */
export function resolveCoordinatorOptions(options: CoordinatorOptions): ResolvedCoordinatorOptions {
  return {
    transport: options.transport,
    store: options.store,
    logger: options.logger ?? silentLogger,
    clock: options.clock ?? systemClock,
    metrics: options.metrics ?? noMetrics,
    leases: options.leases,
  };
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
  /**
   * Called when the run starts (it has batches to merge), before its leases are taken, with the
   * owners it runs with: where the caller stores them. A run with nothing to merge does not call
   * it, so an assignment that moves partitions is never stored without the run whose merge
   * workers restore them (queries read from the stored owners).
   */
  readonly onOwners?: (owners: readonly string[]) => Promise<void>;
  readonly options?: RunJobOptions;
  /** Aborting stops the run; versions it already committed stay (a cancel). */
  readonly signal?: AbortSignal;
  readonly onSource?: (outcome: SourceOutcome) => void;
  readonly onProgress?: (progress: RunProgress) => void;
  /**
   * An open run (a streaming job, docs/decisions/0027): `inputs` are ignored; once the run has
   * started, this feeds it through its {@link OpenRun} and resolves when it stops feeding. The run
   * then ends once what it was fed is committed (unless `signal` aborted it: a cancel). A
   * rejection fails the run.
   */
  readonly open?: (run: OpenRun) => Promise<void>;
}

/** An open run, as its feeder sees it. */
export interface OpenRun {
  /** Aborted when the run has ended (failed, cancelled, or finished after its feeder stopped). */
  readonly signal: AbortSignal;
  /** The job's latest committed version (when nothing is pending, the state every next batch merges into). */
  readonly latest: () => VersionInfo | undefined;
  /**
   * Plans `inputs` as the run's next batches (those already committed are left out) and
   * dispatches them; resolves with the version committed after them, undefined when there was
   * nothing to merge. With `advanceWatermarkMs` (an idle stream) that version moves the
   * watermark at least there, even without batches. Extensions are taken in call order.
   */
  readonly extend: (inputs: readonly SourceFile[], advanceWatermarkMs?: number) => Promise<VersionInfo | undefined>;
  /** The run's merge workers (a merge worker that joined since has no partitions in it). */
  readonly mergeWorkers: readonly string[];
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
  /** Late records of this run (a window with lateness: all their windows were final), not merged. */
  readonly lateRecords: number;
  /** The job's latest committed version after the run (new, or the one it started from). */
  readonly latest: VersionInfo | undefined;
}

/** Plans, dispatches and commits job runs. */
export class Coordinator {
  private readonly runs = new Map<string, JobRun>();
  /** Runs being set up or running (planning included), for `drain` to wait on. */
  private readonly pending = new Set<Promise<unknown>>();
  private subscription: Subscription | undefined;
  private readonly options: ResolvedCoordinatorOptions;
  private lifecycle: RoleState = 'created';

  constructor(options: CoordinatorOptions) {
    this.options = resolveCoordinatorOptions(options);
  }

  /** Where the coordinator is in its lifecycle. */
  get state(): RoleState {
    return this.lifecycle;
  }

  /** Subscribes to run reports. */
  start(): void {
    if (this.lifecycle !== 'created')
      throw new MrmError(ErrorCode.State, `cannot start a coordinator that is ${this.lifecycle}`);
    this.subscription = this.options.transport.subscribe({ kind: 'coordinator' }, (payload) => {
      let m: ReturnType<typeof decodeMessage>;
      try {
        m = decodeMessage(payload);
      } catch (e) {
        this.options.logger.warn('dropped an undecodable report', { error: String(e) });
        return;
      }
      if (!('jobId' in m) || !('run' in m)) return;
      this.runs.get(runKey(m.jobId, m.run))?.onMessage(m);
    });
    this.lifecycle = 'running';
  }

  /** Runs a job over its inputs and resolves when its last version is committed. */
  runJob(request: RunJobRequest): Promise<RunResult> {
    if (this.lifecycle !== 'running') {
      return Promise.reject(new MrmError(ErrorCode.Aborted, `the coordinator is ${this.lifecycle}, not running`));
    }
    const work = this.doRunJob(request);
    this.pending.add(work);
    const forget = () => this.pending.delete(work);
    work.then(forget, forget);
    return work;
  }

  private async doRunJob(request: RunJobRequest): Promise<RunResult> {
    const { job, options = {}, mapWorkers, mergeWorkers } = request;
    const { store, transport, clock, logger, metrics } = this.options;
    if (mapWorkers.length === 0 || mergeWorkers.length === 0) {
      throw new MrmError(
        ErrorCode.JobFailed,
        `no workers to run job '${job.name}': ${mapWorkers.length} map and ${mergeWorkers.length} merge workers`,
      );
    }
    const settings = resolveRunSettings(options, mapWorkers.length);
    const batchLines = resolveBatchLines(options.batchLines);
    const record = new JobRecord(store, job.name);
    if (options.reset === true) {
      await record.reset();
      // Leases, manifest and copies too: new leases make every merge worker restore from new copies.
      const copies = await this.options.leases?.forget(job.name);
      if (copies !== undefined)
        logger.info('forgot the leases, manifest and copies of a reset job', { job: job.name, copies });
    }
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
      lateRecords: 0,
      latest: base,
    };
    if (plan.batchIds.length === 0 && request.open === undefined) return empty;
    if (this.lifecycle === 'closed') throw new MrmError(ErrorCode.Aborted, 'the coordinator closed');
    const owners =
      request.owners ??
      Array.from({ length: job.partitions }, (_, p) => mergeWorkers[p % mergeWorkers.length] as string);
    await request.onOwners?.(owners);
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
      clock,
      mapWorkers,
      mergeWorkers,
      owners,
      settings,
      ...(leases !== undefined ? { leases } : {}),
      logger,
      metrics,
      ...(request.onProgress !== undefined ? { onProgress: request.onProgress } : {}),
      ...(request.open !== undefined ? { open: true } : {}),
    });
    const key = runKey(request.jobId, runNumber);
    this.runs.set(key, run);
    const onAbort = () => void run.fail(request.signal?.reason ?? new MrmError(ErrorCode.Aborted, 'run aborted'), true);
    request.signal?.addEventListener('abort', onAbort, { once: true });
    if (request.signal?.aborted === true) onAbort();
    try {
      await run.start().catch((e: unknown) => run.fail(e));
      if (request.open !== undefined) {
        const feeder = this.openRun(run, record, { format: job.input, batchLines, merged }, base, mergeWorkers);
        request.open(feeder).then(
          () => run.finishOpen(),
          (e: unknown) => run.fail(e),
        );
      }
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
        lateRecords: run.lateRecords,
        skew: run.skewStatus(),
        latest: last ?? base,
      };
    } finally {
      request.signal?.removeEventListener('abort', onAbort);
      this.runs.delete(key);
    }
  }

  /** The feeder's side of an open run: extensions planned and dispatched one after the other. */
  private openRun(
    run: JobRun,
    record: JobRecord,
    planning: Pick<PlanRunOptions, 'format' | 'batchLines' | 'merged'>,
    base: VersionInfo | undefined,
    mergeWorkers: readonly string[],
  ): OpenRun {
    let chain: Promise<unknown> = Promise.resolve();
    let latest = base;
    // A batch taken by an earlier extension is not planned again (a followed file is extended
    // with the whole file each time: only what was appended since is new). Only those committed
    // may be folded into a plan's folded entry (decisions/0039), which then stands for them.
    const taken = new Set(planning.merged);
    const committed = new Set(planning.merged);
    const onFold = (folded: FoldedPlan) => {
      for (const set of [taken, committed]) {
        for (const id of folded.foldedIds) set.delete(id);
        set.add(folded.batchId);
      }
    };
    const ended = new AbortController();
    const end = () => ended.abort(new MrmError(ErrorCode.Aborted, 'the run has ended'));
    run.done.then(end, end);
    return {
      signal: ended.signal,
      mergeWorkers,
      latest: () => latest,
      extend: (inputs, advanceWatermarkMs) => {
        const dispatched = chain.then(async () => {
          const part = await planRun(record, inputs, {
            ...planning,
            merged: taken,
            committed,
            onFold,
            firstSeq: run.plannedBatches,
          });
          for (const id of part.batchIds) taken.add(id);
          return { version: await run.extend(part, advanceWatermarkMs), ids: part.batchIds };
        });
        chain = dispatched.catch(() => {});
        return dispatched.then(async ({ version, ids }) => {
          if (version === undefined) return undefined;
          const info = await run.committedVersion(version);
          for (const id of ids) committed.add(id);
          if (latest === undefined || info.version > latest.version) latest = info;
          return info;
        });
      },
    };
  }

  /** The run in progress for a job id, if any. */
  activeRun(jobId: string): JobRun | undefined {
    for (const run of this.runs.values()) if (run.jobId === jobId) return run;
    return undefined;
  }

  /** Every run in progress. */
  activeRuns(): JobRun[] {
    return [...this.runs.values()];
  }

  /** Takes no new run and resolves when the runs in progress have settled (committed or failed). */
  async drain(): Promise<void> {
    if (this.lifecycle === 'running') this.lifecycle = 'draining';
    await Promise.allSettled([...this.pending]);
  }

  /**
   * Stops listening and abandons the runs in progress (no rollback: what they wrote and never
   * committed is discarded when their job runs next); resolves when every run has settled and
   * every timer is cleared.
   */
  async close(): Promise<void> {
    if (this.lifecycle === 'closed') return;
    this.lifecycle = 'closed';
    this.subscription?.unsubscribe();
    await Promise.all([...this.runs.values()].map((run) => run.abandon('the coordinator is closing')));
    await Promise.allSettled([...this.pending]);
  }
}
