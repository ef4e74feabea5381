/**
 * Submitted jobs: a priority queue, a serial loop that runs the next job (waits for workers,
 * assigns partitions, runs it on the {@link Coordinator}), cancelling, the watchdog over the
 * running job, and the status of every job — the running ones, then the queue, then the history
 * (seeds/003). Batch jobs run one at a time; a streaming job runs until it is cancelled, so it
 * runs beside them instead of holding the loop (never beside another job of its name).
 */
import {
  ErrorCode,
  isMrmError,
  isTransientFailure,
  type JobStatus,
  MrmError,
  type ResolvedJob,
  type StatusReply,
  type SubmitRequest,
  toWireError,
  WorkerRole,
} from '@mrm/core';
import type { SourceFile } from '@mrm/input';
import type { Coordinator, OpenRun, RunResult } from '../coordinator.js';
import { type RunJobOptions, resolveRunSettings } from '../run-settings.js';
import { freshWorkerStats } from './fresh-worker-stats.js';
import { type IdleJob, IdleJobOwners } from './idle-job-owners.js';
import type { JobHistory } from './job-history.js';
import { JobQueue } from './job-queue.js';
import { JobWatchdog } from './job-watchdog.js';
import { assignOwners, type OwnerAssignment, saveOwners, storedOwners } from './partition-owners.js';
import { ProgressMetrics } from './progress-metrics.js';
import type { ResolvedCoordinatorServiceOptions } from './service-options.js';
import type { StatusPublisher } from './status-publisher.js';
import { StreamFeed, type StreamSegment } from './stream-feed.js';
import type { WorkerRegistry } from './worker-registry.js';
import { untilLost, waitForWorkers } from './worker-waiter.js';

/** After start, how long the service listens to heartbeats before assigning partitions (2 beats). */
const WORKERS_SETTLE_MS = 2000;
/**
 * Times in a row one job's partitions are reassigned after lost merge workers, with no version
 * committed in between, before the job fails. A loss after progress starts the count again: a
 * job under endless but survivable churn goes on for as long as it makes progress.
 */
const MAX_REASSIGNMENTS = 20;
/** Versions a streaming job's status lists (its newest). */
const STREAM_STATUS_VERSIONS = 100;
/** Beyond one heartbeat timeout, how long to wait for the registry to find a worker lost. */
const LOSS_GRACE_MS = 1_000;
/**
 * Runs of a job started again after a transient failure of the infrastructure (`E_TRANSPORT` after
 * the transport's own 30 s of retries, a request timeout), at most, per job; the pause before the
 * n-th is n times {@link TRANSIENT_RERUN_PAUSE_MS} (decisions/0034).
 */
const MAX_TRANSIENT_RERUNS = 3;
const TRANSIENT_RERUN_PAUSE_MS = 2_000;

/** A job being run. */
interface RunningJob {
  status: JobStatus;
  /** Aborted by `cancel`. */
  readonly abort: AbortController;
  /** Settles with the job's final status. */
  readonly done: Promise<JobStatus>;
  /** A streaming job (it runs beside the batch jobs, until cancelled). */
  readonly streaming: boolean;
}

/** Queues jobs and runs them in order. */
export class JobScheduler {
  private readonly queue = new JobQueue();
  /** The jobs being run, by id: at most one batch job, and streaming jobs. */
  private readonly running = new Map<string, RunningJob>();
  /** Streaming jobs' runs, which the serial loop does not wait for. */
  private readonly detached = new Set<Promise<void>>();
  /** Jobs a previous coordinator was running when it stopped: their first run here follows a loss. */
  private readonly resumed = new Set<string>();
  /** Partition owners of the jobs run or shown since start, for status. */
  private readonly ownersByJob = new Map<string, readonly string[]>();
  private readonly watchdog: JobWatchdog;
  /** Moves partitions of jobs between runs away from dead owners, for queries. */
  private readonly idleOwners: IdleJobOwners;
  private loop: Promise<void> = Promise.resolve();
  /** Aborted when the service closes: a wait for workers ends at once, the running job is left to resume. */
  private readonly closing = new AbortController();
  /** When the service started (workers are given WORKERS_SETTLE_MS to be heard from). */
  private startedAtMs = 0;

  constructor(
    private readonly options: ResolvedCoordinatorServiceOptions,
    private readonly coordinator: Coordinator,
    private readonly registry: WorkerRegistry,
    private readonly history: JobHistory,
    private readonly status: StatusPublisher,
  ) {
    this.watchdog = new JobWatchdog({
      clock: options.clock,
      stallMs: options.watchdogMs,
      logger: options.logger,
      metrics: options.metrics,
      phaseOf: (id) => this.registry.phase(id),
    });
    this.idleOwners = new IdleJobOwners({
      store: options.store,
      transport: options.transport,
      registry,
      leases: options.leases,
      logger: options.logger,
      restoreTimeoutMs: resolveRunSettings(options.runOptions, 1).requestTimeoutMs,
      settled: () => this.workersSettled(),
    });
  }

  /**
   * The merge workers to read a job's committed state from, by partition. Between runs, the
   * partitions of a dead owner move to live merge workers first (restored from their copies);
   * while the job runs, its run moves them. Throws one line when nobody can serve them.
   */
  async ownersToServe(job: IdleJob): Promise<string[]> {
    const owners = await this.idleOwners.owners(job, () =>
      [...this.running.values()].some((r) => r.status.name === job.name),
    );
    if (owners.length > 0) this.ownersByJob.set(job.name, owners);
    return owners;
  }

  /** Queues a submitted job (a retried submit is a no-op) and returns its status. */
  async submit(request: SubmitRequest): Promise<JobStatus | undefined> {
    if ((await this.jobStatus(request.jobId)) !== undefined) return this.jobStatus(request.jobId);
    const now = this.options.clock.nowMs();
    await this.history.saveRequest(request);
    this.queue.push(request, now);
    await this.history.save(queuedStatus(request, now));
    this.serially(() => this.runNext());
    return this.jobStatus(request.jobId);
  }

  /**
   * Starts at the service's start: jobs that were queued or running when a previous coordinator
   * stopped are queued again, in their order; each resumes after its last committed version
   * (committed batches are skipped).
   */
  start(): void {
    this.startedAtMs = this.options.clock.nowMs();
    this.serially(async () => {
      for (const { status, request } of await this.history.unfinished()) {
        this.options.logger.warn('resuming a job the previous coordinator did not finish', { jobId: request.jobId });
        if (status.state === 'running') this.resumed.add(request.jobId);
        this.queue.push(request, status.submittedAtMs);
        await this.history.save(queuedStatus(request, status.submittedAtMs));
        this.serially(() => this.runNext());
      }
    });
  }

  /** A job's status: the running job, then the queue, then the history. */
  async jobStatus(jobId: string): Promise<JobStatus | undefined> {
    const running = this.running.get(jobId);
    if (running !== undefined) return running.status;
    const queued = this.queue.find(jobId);
    if (queued !== undefined) return queuedStatus(queued.request, queued.submittedAtMs);
    return this.history.get(jobId);
  }

  /** Jobs (one, or all: running, queued, then history) and workers; throws when `jobId` is unknown. */
  async statusReply(jobId?: string): Promise<Omit<StatusReply, 'v'>> {
    const jobs = jobId !== undefined ? [await this.jobStatus(jobId)].filter(isDefined) : await this.allJobs();
    if (jobId !== undefined && jobs.length === 0) throw new MrmError(ErrorCode.State, `no job with id '${jobId}'`);
    await this.learnOwners(jobs.map((j) => j.name));
    const live = await freshWorkerStats(this.options.transport, this.registry.list());
    const workers = live.map((w) => {
      const partitions: Record<string, number[]> = {};
      for (const [name, owners] of this.ownersByJob) {
        const mine = owners.flatMap((o, p) => (o === w.workerId ? [p] : []));
        if (mine.length > 0) partitions[name] = mine;
      }
      return Object.keys(partitions).length > 0 ? { ...w, partitions } : w;
    });
    return { type: 'status-reply', jobs, workers };
  }

  /**
   * Cancels a job: a queued one leaves the queue; a running one stops, its state staying at its
   * last committed version. Either way its history says cancelled. Resolves with its status.
   */
  async cancel(jobId: string): Promise<JobStatus> {
    const { clock, logger, metrics } = this.options;
    const queued = this.queue.remove(jobId);
    if (queued !== undefined) {
      const status: JobStatus = {
        ...queuedStatus(queued.request, queued.submittedAtMs),
        state: 'cancelled',
        finishedAtMs: clock.nowMs(),
      };
      logger.info('job cancelled', { jobId, was: 'queued' });
      await this.status.publish(status, true);
      await this.history.dropRequest(jobId);
      metrics.add('mrm_jobs_finished_total', 1, { state: 'cancelled' });
      return status;
    }
    const running = this.running.get(jobId);
    if (running !== undefined) {
      logger.info('job cancelled', { jobId, was: 'running' });
      running.abort.abort(new MrmError(ErrorCode.Aborted, `job ${jobId} was cancelled`));
      return running.done;
    }
    const status = await this.jobStatus(jobId);
    if (status === undefined) throw new MrmError(ErrorCode.State, `no job with id '${jobId}'`);
    if (status.state === 'running' || status.state === 'queued') {
      throw new MrmError(ErrorCode.State, `job ${jobId} is starting; cancel it again in a moment`);
    }
    throw new MrmError(
      ErrorCode.State,
      `job ${jobId} has already ${status.state === 'cancelled' ? 'been cancelled' : status.state}`,
    );
  }

  /**
   * Runs the watchdog over the running batch job (else a streaming one: between rounds a stream
   * rightly makes no progress, so it is watched only alone) and refreshes the gauges (on a timer).
   */
  watch(): void {
    const { metrics } = this.options;
    const jobs = [...this.running.values()];
    const entry = jobs.find((j) => !j.streaming) ?? jobs[0];
    const running = entry?.status;
    const run = running !== undefined ? this.coordinator.activeRun(running.jobId) : undefined;
    const stall = this.watchdog.check(
      running === undefined
        ? undefined
        : {
            jobId: running.jobId,
            name: running.name,
            progress: running.progress,
            versions: run?.versionsCommitted ?? 0,
            blockers: () => run?.blockers() ?? [],
          },
    );
    if (entry !== undefined && running !== undefined && stall?.message !== running.stalled?.message) {
      const { stalled: _, ...rest } = running;
      entry.status = stall !== undefined ? { ...rest, stalled: stall } : rest;
      void this.status.publish(entry.status, false);
    }
    metrics.set('mrm_jobs', this.queue.size, { state: 'queued' });
    metrics.set('mrm_jobs', this.running.size, { state: 'running' });
    for (const role of [WorkerRole.Map, WorkerRole.Merge]) {
      metrics.set('mrm_workers_alive', this.registry.alive(role).length, { worker_role: role });
    }
  }

  /** Resolves when the jobs running now (and the loop's current step) have finished. */
  async idle(): Promise<void> {
    for (;;) {
      const current = this.loop;
      await current;
      await Promise.all([...this.detached]);
      if (current === this.loop && this.detached.size === 0) return;
    }
  }

  /**
   * Runs no more jobs, and a wait for workers ends now; the job running is left as it is on disk
   * (running, its request kept) for the next coordinator to resume. Await {@link idle} after
   * abandoning the run.
   */
  stop(): void {
    this.closing.abort(new MrmError(ErrorCode.Aborted, 'the coordinator is closing'));
  }

  /** The running jobs, the queued ones, then the 50 most recent of the history. */
  private async allJobs(): Promise<JobStatus[]> {
    const out: JobStatus[] = [...this.running.values()].map((r) => r.status);
    for (const q of this.queue.list()) out.push(queuedStatus(q.request, q.submittedAtMs));
    for (const h of await this.history.recent(50)) if (!out.some((j) => j.jobId === h.jobId)) out.push(h);
    return out;
  }

  /** Runs `work` after everything queued before it; a failure is logged, never blocks what follows. */
  private serially(work: () => Promise<void>): void {
    this.loop = this.loop
      .then(work)
      .catch((e: unknown) => this.options.logger.error('coordinator work failed', { error: String(e) }));
  }

  /**
   * Runs the highest-priority queued job: a batch job to its end; a streaming job is started and
   * left running beside the loop. A job whose name a running job holds fails at once (two runs
   * must not write one job's state).
   */
  private async runNext(): Promise<void> {
    if (this.closing.signal.aborted) return;
    const next = this.queue.shift();
    if (next === undefined) return;
    const { request } = next;
    const queued = queuedStatus(request, next.submittedAtMs);
    const holder = [...this.running.values()].find((r) => r.status.name === request.job.name);
    if (holder !== undefined) {
      await this.refuse(
        queued,
        `job '${request.job.name}' is already running as ${holder.status.jobId}${holder.streaming ? ' (a streaming job: it runs until cancelled)' : ''}: cancel it first, or submit under another job name`,
      );
      return;
    }
    let settle: (s: JobStatus) => void = () => {};
    const entry: RunningJob = {
      status: { ...queued, state: 'running', startedAtMs: this.options.clock.nowMs() },
      abort: new AbortController(),
      done: new Promise((resolve) => {
        settle = resolve;
      }),
      streaming: request.options.stream !== undefined,
    };
    this.running.set(request.jobId, entry);
    const work = this.runOne(request, entry)
      .catch((e: unknown): JobStatus => {
        this.options.logger.error('coordinator work failed', { jobId: request.jobId, error: String(e) });
        return entry.status;
      })
      .then((status) => {
        this.running.delete(request.jobId);
        settle(status);
      });
    if (!entry.streaming) return work;
    this.detached.add(work);
    void work.then(() => this.detached.delete(work));
  }

  /** Ends a queued job as failed without running it (one clear line in its status). */
  private async refuse(queued: JobStatus, message: string): Promise<void> {
    const { clock, logger, metrics } = this.options;
    logger.warn('job refused', { jobId: queued.jobId, reason: message });
    const error = toWireError(new MrmError(ErrorCode.State, message));
    await this.status.publish({ ...queued, state: 'failed', finishedAtMs: clock.nowMs(), error }, true);
    await this.history.dropRequest(queued.jobId);
    metrics.add('mrm_jobs_finished_total', 1, { state: 'failed' });
  }

  /** Runs one job to its end; resolves with its final status (saved and published). */
  private async runOne(request: SubmitRequest, entry: RunningJob): Promise<JobStatus> {
    const { clock, logger, metrics } = this.options;
    const { abort } = entry;
    let status = entry.status;
    const progressMetrics = new ProgressMetrics(metrics, request.job.name);
    const resumed = this.resumed.delete(request.jobId);
    await this.status.publish(status, true);
    try {
      const job = await this.options.loadJob(request.job);
      const inputs = await this.options.resolveInputs(request.inputs);
      abort.signal.throwIfAborted();
      const runOnce = (runInputs: readonly SourceFile[], open?: (run: OpenRun) => Promise<void>): Promise<RunResult> =>
        this.runMoving(job, abort.signal, resumed, (mapWorkers, owners, onOwners, afterLoss) =>
          this.coordinator.runJob({
            jobId: request.jobId,
            job,
            ref: request.job,
            inputs: runInputs,
            mapWorkers,
            mergeWorkers: [...new Set(owners)],
            owners,
            onOwners,
            options: {
              ...this.options.runOptions,
              ...runOptionsOf(request),
              // A run after a lost process commits a version per batch (decisions/0044): under
              // churn, progress is kept between losses instead of every loss undoing a whole
              // checkpoint interval.
              ...(afterLoss ? { checkpointEveryBatches: 1 } : {}),
            },
            signal: abort.signal,
            ...(open !== undefined ? { open } : {}),
            onProgress: (p) => {
              const run = this.coordinator.activeRun(request.jobId);
              if (run === undefined || this.running.get(request.jobId) !== entry) return;
              const progress = run.snapshot();
              progressMetrics.update(progress, p.versions.length);
              // Versions committed so far show while the job runs (queries can read them already).
              entry.status = {
                ...entry.status,
                progress,
                skew: run.skewStatus(),
                // A stream's open run commits thousands: its status names the newest.
                versions: (entry.streaming ? p.versions.slice(-STREAM_STATUS_VERSIONS) : p.versions).map(
                  (v) => v.version,
                ),
              };
              void this.status.publish(entry.status, false);
            },
          }),
        );
      const result =
        request.options.stream === undefined
          ? await runOnce(inputs)
          : await this.runStream(request, job.name, runOnce, entry);
      status = {
        ...status,
        ...(entry.status.progress !== undefined ? { progress: entry.status.progress } : {}),
        state: 'succeeded',
        finishedAtMs: clock.nowMs(),
        versions: result.versions.map((v) => v.version),
        skippedInputs: result.sources.filter((s) => s.batches > 0 && s.included === 0).map((s) => s.displayPath),
        ...(result.skew !== undefined ? { skew: result.skew } : {}),
      };
    } catch (e) {
      const fenced = isMrmError(e) && e.code === ErrorCode.Fenced;
      if ((this.closing.signal.aborted && !abort.signal.aborted) || fenced) {
        // Abandoned by close(), or another coordinator leads now: left as running in the records
        // for the next (or new) leader to resume.
        logger.info('job left for the next coordinator to resume', { jobId: request.jobId });
        progressMetrics.finish();
        return status;
      }
      const running = entry.status;
      const progress = {
        ...(running.progress !== undefined ? { progress: running.progress } : {}),
        ...(running.stream !== undefined ? { stream: running.stream, versions: running.versions ?? [] } : {}),
      };
      if (abort.signal.aborted) {
        status = { ...status, ...progress, state: 'cancelled', finishedAtMs: clock.nowMs() };
      } else {
        logger.warn('job failed', { jobId: request.jobId, error: String(e) });
        status = { ...status, ...progress, state: 'failed', finishedAtMs: clock.nowMs(), error: toWireError(e) };
      }
    }
    progressMetrics.finish();
    metrics.add('mrm_jobs_finished_total', 1, { state: status.state });
    entry.status = status;
    await this.status.publish(status, true);
    await this.history.dropRequest(request.jobId);
    await this.history.prune();
    return status;
  }

  /**
   * A streaming job: one open run after another over its input stream (decisions/0027), each fed
   * a segment every interval until it has taken its share, the job is stopped, a merge worker
   * joins (the next run gives it its share), or a merge worker is lost (then `runMoving` moves the
   * partitions and the next run resumes what was pending).
   */
  private async runStream(
    request: SubmitRequest,
    name: string,
    runOnce: (inputs: readonly SourceFile[], open: (run: OpenRun) => Promise<void>) => Promise<RunResult>,
    entry: RunningJob,
  ): Promise<RunResult> {
    // Cancelled, or the coordinator closes (the job is then left for the next one to resume).
    const signal = AbortSignal.any([entry.abort.signal, this.closing.signal]);
    const stream = request.options.stream;
    const input = this.options.streamInput;
    if (stream === undefined || input === undefined) {
      throw new MrmError(
        ErrorCode.BadOption,
        `job ${request.jobId} reads a stream, and this coordinator has no stream access`,
      );
    }
    const feed = new StreamFeed({
      store: this.options.store,
      streams: input.streams,
      jobName: name,
      subject: stream.subject,
      intervalMs: stream.batchIntervalMs,
      ...(stream.idleTimeoutMs !== undefined ? { idleTimeoutMs: stream.idleTimeoutMs } : {}),
      ...(input.segmentsPerRun !== undefined ? { segmentsPerRun: input.segmentsPerRun } : {}),
      clock: this.options.clock,
      logger: this.options.logger,
      source: (segment) => input.segmentSource(segment),
      ...(input.releaseSegment !== undefined
        ? { release: (segment: StreamSegment) => input.releaseSegment?.(segment) ?? Promise.resolve() }
        : {}),
      onProgress: (progress) => {
        if (this.running.get(request.jobId) !== entry) return;
        entry.status = { ...entry.status, stream: progress };
        void this.status.publish(entry.status, false);
      },
    });
    // A merge worker that joins mid-stream takes its share at once: the open run ends at its next
    // segment and the next run rebalances (decisions/0025), instead of after `segmentsPerRun`.
    let inRun: readonly string[] | undefined;
    const joined = () => inRun !== undefined && this.registry.alive('merge').some((w) => !inRun?.includes(w));
    const unsubscribe = this.registry.onJoin(() => {
      if (joined()) feed.renew();
    });
    try {
      for (;;) {
        await runOnce([], (run) => {
          inRun = run.mergeWorkers;
          const fed = feed.feed(run, signal);
          // One that joined between the assignment and now.
          if (joined()) feed.renew();
          return fed;
        });
        inRun = undefined;
        // Stopped: the job was cancelled (its state is as of its last committed version).
        signal.throwIfAborted();
      }
    } finally {
      unsubscribe();
    }
  }

  /**
   * Runs a job on the live workers; when a merge worker is lost during a run (`E_WORKER_LOST`) and
   * partitions can move (leases), its partitions go to the live merge workers and the job runs on
   * from its last committed version (each new owner restores them from their copies). When the
   * last map worker is lost, the job runs on from there once a map worker is back.
   */
  private async runMoving<T>(
    job: ResolvedJob,
    cancel: AbortSignal,
    afterLoss: boolean,
    run: (mapWorkers: string[], owners: string[], onOwners: () => Promise<void>, afterLoss: boolean) => Promise<T>,
  ): Promise<T> {
    const { clock, logger } = this.options;
    const signal = AbortSignal.any([cancel, this.closing.signal]);
    // Just started: let every live worker's heartbeat arrive first, so that partitions do not move
    // away from owners merely not heard from yet.
    await this.workersSettled(signal);
    let transientReruns = 0;
    let lossAfter = afterLoss;
    for (let reassignments = 0; ; reassignments++) {
      const { mapWorkers, mergeWorkers } = await waitForWorkers(
        this.registry,
        clock,
        this.options.workerWaitMs,
        job.name,
        signal,
      );
      // A query's move of this job's partitions (begun before the job was running) ends first.
      await this.idleOwners.settled(job.name);
      // Assigned anew before every run: the safe point to rebalance (decisions/0025).
      const assignment = await assignOwners(this.options.store, job, mergeWorkers, {
        movable: this.options.leases !== undefined,
        isAlive: (w) => this.registry.isAlive(w),
      });
      const runStartedMs = clock.nowMs();
      const committedBefore = await this.options.store.latestVersion(job.name);
      try {
        return await run(mapWorkers, assignment.owners, () => this.keepOwners(job.name, assignment), lossAfter);
      } catch (e) {
        // Whatever failed this run, the next one follows a loss (see runOne: a version per batch).
        lossAfter = true;
        if (isTransientFailure(e) && transientReruns < MAX_TRANSIENT_RERUNS && !signal.aborted) {
          // The run kept what it committed (JobRun.fail): the next one goes on from there.
          transientReruns++;
          logger.warn('a run failed on the infrastructure; running the job on from its last committed version', {
            job: job.name,
            rerun: transientReruns,
            error: String(e),
          });
          await clock.sleep(TRANSIENT_RERUN_PAUSE_MS * transientReruns, signal);
          continue;
        }
        if (!isMrmError(e) || e.code !== ErrorCode.WorkerLost) throw e;
        const committedAfter = await this.options.store.latestVersion(job.name).catch(() => committedBefore);
        if ((committedAfter?.version ?? 0) > (committedBefore?.version ?? 0)) reassignments = 0;
        if (reassignments >= MAX_REASSIGNMENTS || signal.aborted) throw e;
        const lost = String(e.details?.workerId ?? '');
        if (e.details?.role === 'map') {
          // The registry found the last map worker lost: run on once one is back (waitForWorkers
          // waits up to --worker-wait for it, then fails the job as when none was there at all).
          logger.warn('no map workers left; running the job on from its last committed version', {
            job: job.name,
            worker: lost,
          });
          continue;
        }
        if (this.options.leases === undefined) throw e;
        logger.warn('merge worker lost; moving its partitions to the live merge workers', {
          job: job.name,
          worker: lost,
        });
        // A request may find the worker gone before its heartbeats stop: wait for the registry
        // to agree, at most one heartbeat timeout (then it is taken as alive again).
        const waitMs = this.options.heartbeatTimeoutMs + LOSS_GRACE_MS;
        await untilLost(this.registry, clock, lost, runStartedMs, waitMs, signal);
      }
    }
  }

  /** Resolves once every live worker's heartbeat has had time to arrive since the service started. */
  private async workersSettled(signal?: AbortSignal): Promise<void> {
    const { clock } = this.options;
    const settle = this.startedAtMs + WORKERS_SETTLE_MS - clock.nowMs();
    if (settle > 0) await clock.sleep(settle, signal);
  }

  /**
   * Reads the stored owners of jobs not run since this coordinator started (it was restarted, or
   * took over), so that status shows each merge worker's partitions from the start.
   */
  private async learnOwners(names: readonly string[]): Promise<void> {
    for (const name of new Set(names)) {
      if (this.ownersByJob.has(name)) continue;
      this.ownersByJob.set(name, await storedOwners(this.options.store, name));
    }
  }

  /** Stores the owners a run starts with (only then: a run with nothing to merge moves nothing). */
  private async keepOwners(name: string, assignment: OwnerAssignment): Promise<void> {
    await saveOwners(this.options.store, name, assignment, this.options.logger, (w) => this.registry.incarnation(w));
    this.ownersByJob.set(name, assignment.owners);
  }
}

/** The status of a job waiting in the queue. */
function queuedStatus(request: SubmitRequest, submittedAtMs: number): JobStatus {
  return {
    jobId: request.jobId,
    name: request.job.name,
    state: 'queued',
    priority: request.options.priority ?? 0,
    submittedAtMs,
  };
}

function isDefined<T>(v: T | undefined): v is T {
  return v !== undefined;
}

function runOptionsOf(request: SubmitRequest): RunJobOptions {
  const o = request.options;
  return {
    ...(o.batchLines !== undefined ? { batchLines: o.batchLines } : {}),
    ...(o.checkpointEveryBatches !== undefined ? { checkpointEveryBatches: o.checkpointEveryBatches } : {}),
    ...(o.onError !== undefined ? { onError: o.onError } : {}),
    ...(o.keepVersions !== undefined ? { keepVersions: o.keepVersions } : {}),
    ...(o.reset !== undefined ? { reset: o.reset } : {}),
    ...(o.allowCodeChange !== undefined ? { allowCodeChange: o.allowCodeChange } : {}),
    ...(o.salt !== undefined ? { salt: o.salt } : {}),
    ...(o.maxBufferBytes !== undefined ? { maxBufferBytes: o.maxBufferBytes } : {}),
  };
}
