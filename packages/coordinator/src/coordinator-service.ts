/**
 * The coordinator as a long-running cluster service: workers announce themselves by heartbeat,
 * clients submit jobs and ask for status through the API channel, jobs wait in a priority queue
 * and run one at a time, and every job's status is kept on disk. Status is answered from the
 * running job, then the queue, then the history (seeds/003).
 */
import {
  type ApiMessage,
  type Clock,
  decodeApi,
  ErrorCode,
  encodeApi,
  type InputRef,
  isMrmError,
  type JobInfoReply,
  type JobLoader,
  type JobStatus,
  type Logger,
  type Metrics,
  MrmError,
  noMetrics,
  type Reply,
  type ResolvedJob,
  type RoleState,
  type StateStore,
  type StatusReply,
  type StreamLog,
  type SubmitRequest,
  type Subscription,
  silentLogger,
  systemClock,
  type TimerHandle,
  type Transport,
  toWireError,
  WorkerRole,
} from '@mrm/core';
import type { SourceFile } from '@mrm/input';
import { Coordinator, type RunJobOptions, type RunResult } from './coordinator.js';
import { JobHistory } from './job-history.js';
import { JobQueue } from './job-queue.js';
import { JobRecord } from './job-record.js';
import { DEFAULT_WATCHDOG_MS, JobWatchdog } from './job-watchdog.js';
import { assignPartitions } from './partition-assignment.js';
import type { PartitionLeases } from './partition-leases.js';
import { ProgressMetrics } from './progress-metrics.js';
import { StreamRounds, type StreamSegment } from './stream-rounds.js';
import { WorkerRegistry } from './worker-registry.js';

/** Options of {@link CoordinatorService}. */
export interface CoordinatorServiceOptions {
  readonly transport: Transport;
  /** The coordinator's own store (versions, plans, job history). */
  readonly store: StateStore;
  /** Loads a submitted job's code (from the blob store). */
  readonly loadJob: JobLoader;
  /** Turns submitted inputs into files this process can plan (downloading uploads). */
  readonly resolveInputs: (inputs: readonly InputRef[]) => Promise<SourceFile[]>;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** A worker is lost after this long without a heartbeat (default 5 s). */
  readonly heartbeatTimeoutMs?: number;
  /** How long a job waits for at least one map and one merge worker (default 15 s). */
  readonly workerWaitMs?: number;
  /** Options applied to every run (tests shorten timeouts with it). */
  readonly runOptions?: RunJobOptions;
  /**
   * Partition leases and checkpoint copies in JetStream: with them a lost merge worker's
   * partitions move to the live merge workers and the job goes on. Without: a lost merge worker
   * fails the run.
   */
  readonly leases?: PartitionLeases;
  /** Where counters go (default: nowhere). */
  readonly metrics?: Metrics;
  /** A running job without progress this long gets a stall warning (default 60 s). */
  readonly watchdogMs?: number;
  /** Input of streaming jobs: the streams, and a segment of one as a file this process can plan. */
  readonly streamInput?: StreamInput;
}

/** How the service reads streaming jobs' input. */
export interface StreamInput {
  readonly streams: StreamLog;
  /** The records of a segment as a local file (location `stream:…` for the map workers). */
  segmentSource(segment: StreamSegment): Promise<SourceFile>;
}

/** After start, how long the service listens to heartbeats before assigning partitions (2 beats). */
const WORKERS_SETTLE_MS = 2000;

/** Times one job's partitions are reassigned after lost merge workers before the job fails. */
const MAX_REASSIGNMENTS = 20;

const OWNERS = 'owners';

/** The cluster coordinator. */
export class CoordinatorService {
  private readonly coordinator: Coordinator;
  private readonly registry: WorkerRegistry;
  private readonly queue = new JobQueue();
  private readonly history: JobHistory;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly subscriptions: Subscription[] = [];
  private unlisten: (() => void) | undefined;
  private running: JobStatus | undefined;
  /** Aborted by `cancel` of the running job. */
  private runningAbort: AbortController | undefined;
  /** Settles with the running job's final status. */
  private runningDone: Promise<JobStatus> | undefined;
  private readonly metrics: Metrics;
  private readonly watchdog: JobWatchdog;
  private watchdogTimer: TimerHandle | undefined;
  /** Partition owners of the jobs seen since start, for status. */
  private readonly ownersByJob = new Map<string, readonly string[]>();
  private loop: Promise<void> = Promise.resolve();
  private lastEventMs = 0;
  /** Set from our reconnect until every live worker has been heard from again. */
  private reconnectedAtMs: number | undefined;
  private lifecycle: RoleState = 'created';
  private startedAtMs = 0;

  constructor(private readonly options: CoordinatorServiceOptions) {
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.metrics = options.metrics ?? noMetrics;
    this.watchdog = new JobWatchdog({
      clock: this.clock,
      stallMs: options.watchdogMs ?? DEFAULT_WATCHDOG_MS,
      logger: this.logger,
      metrics: this.metrics,
      phaseOf: (id) => this.registry.phase(id),
    });
    this.coordinator = new Coordinator({
      transport: options.transport,
      store: options.store,
      logger: this.logger,
      ...(options.leases !== undefined ? { leases: options.leases } : {}),
      ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
    });
    this.history = new JobHistory(options.store);
    this.registry = new WorkerRegistry(
      this.clock,
      options.heartbeatTimeoutMs ?? 5000,
      (id, role) => {
        this.logger.warn('worker lost', { worker: id, role });
        for (const run of this.coordinator.activeRuns()) run.workerLost(id);
      },
      (id, role) => this.logger.info('worker joined', { worker: id, role }),
    );
  }

  /** Where the service is in its lifecycle. */
  get state(): RoleState {
    return this.lifecycle;
  }

  /** Starts listening for heartbeats, reports and API requests. */
  start(): void {
    const { transport } = this.options;
    this.coordinator.start();
    this.registry.start();
    this.subscriptions.push(
      transport.subscribe({ kind: 'coordinator' }, (payload) => {
        let m: ApiMessage;
        try {
          m = decodeApi(payload);
        } catch {
          return;
        }
        if (m.type === 'heartbeat') {
          this.registry.heartbeat(m);
          this.afterReconnectHeartbeat();
        }
      }),
      transport.subscribe({ kind: 'api' }, (payload, reply) => void this.onApi(payload, reply)),
    );
    // After a reconnect, messages in flight may be lost: dispatch unfinished work again, now and
    // once every worker is back (what is sent to a worker still reconnecting is lost too).
    this.unlisten = transport.onStateChange((state) => {
      if (state !== 'connected') return;
      this.redispatch('transport reconnected');
      this.reconnectedAtMs = this.clock.nowMs();
    });
    this.lifecycle = 'running';
    this.startedAtMs = this.clock.nowMs();
    const watchEvery = Math.max(100, Math.floor((this.options.watchdogMs ?? DEFAULT_WATCHDOG_MS) / 4));
    this.watchdogTimer = this.clock.every(watchEvery, () => this.watch());
    this.serially(() => this.resumeUnfinished());
  }

  /** Runs the watchdog over the running job and refreshes the gauges. */
  private watch(): void {
    const running = this.running;
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
    if (running !== undefined && this.running === running && stall?.message !== running.stalled?.message) {
      const { stalled: _, ...rest } = running;
      this.running = stall !== undefined ? { ...rest, stalled: stall } : rest;
      void this.publish(this.running, false);
    }
    this.metrics.set('mrm_jobs', this.queue.size, { state: 'queued' });
    this.metrics.set('mrm_jobs', this.running !== undefined ? 1 : 0, { state: 'running' });
    for (const role of [WorkerRole.Map, WorkerRole.Merge]) {
      this.metrics.set('mrm_workers_alive', this.registry.alive(role).length, { worker_role: role });
    }
  }

  private redispatch(reason: string): void {
    for (const run of this.coordinator.activeRuns()) run.redispatch(reason);
  }

  /**
   * A worker's heartbeat arriving after our reconnect proves the worker is connected to the new
   * server with its subscriptions in place; once every live worker has sent one, dispatch again.
   */
  private afterReconnectHeartbeat(): void {
    const since = this.reconnectedAtMs;
    if (since === undefined || !this.registry.allHeardSince(since)) return;
    this.reconnectedAtMs = undefined;
    this.redispatch('every worker is back after a reconnect');
  }

  private async onApi(payload: Uint8Array, reply: Reply | undefined): Promise<void> {
    if (reply === undefined) return;
    try {
      const m = decodeApi(payload);
      if (m.type === 'submit') {
        await this.submit(m);
        reply(
          encodeApi({ type: 'status-reply', jobs: [await this.jobStatus(m.jobId)].filter(isDefined), workers: [] }),
        );
      } else if (m.type === 'status') {
        reply(encodeApi(await this.status(m.jobId)));
      } else if (m.type === 'cancel') {
        reply(encodeApi({ type: 'status-reply', jobs: [await this.cancel(m.jobId)], workers: [] }));
      } else if (m.type === 'job-info') {
        reply(encodeApi(await this.jobInfo(m.name)));
      } else {
        throw new MrmError(ErrorCode.Protocol, `the coordinator does not answer '${m.type}'`);
      }
    } catch (e) {
      reply(encodeApi({ type: 'error-reply', error: toWireError(e) }));
    }
  }

  private async submit(request: SubmitRequest): Promise<void> {
    if (this.state !== 'running') throw new MrmError(ErrorCode.Aborted, 'the coordinator is shutting down');
    if ((await this.jobStatus(request.jobId)) !== undefined) return; // a retried submit
    const now = this.clock.nowMs();
    await this.history.saveRequest(request);
    this.queue.push(request, now);
    await this.history.save(this.queuedStatus(request, now));
    this.serially(() => this.runNext());
  }

  /** Runs `work` after everything queued before it; a failure is logged, never blocks what follows. */
  private serially(work: () => Promise<void>): void {
    this.loop = this.loop
      .then(work)
      .catch((e: unknown) => this.logger.error('coordinator work failed', { error: String(e) }));
  }

  /**
   * Jobs that were queued or running when a previous coordinator stopped are queued again, in
   * their order: each resumes after its last committed version (committed batches are skipped).
   */
  private async resumeUnfinished(): Promise<void> {
    for (const { status, request } of await this.history.unfinished()) {
      this.logger.warn('resuming a job the previous coordinator did not finish', { jobId: request.jobId });
      this.queue.push(request, status.submittedAtMs);
      await this.history.save(this.queuedStatus(request, status.submittedAtMs));
      this.serially(() => this.runNext());
    }
  }

  private queuedStatus(request: SubmitRequest, submittedAtMs: number): JobStatus {
    return {
      jobId: request.jobId,
      name: request.job.name,
      state: 'queued',
      priority: request.options.priority ?? 0,
      submittedAtMs,
    };
  }

  /** Jobs (one, or all: running, queued, then history) and workers; throws when `jobId` is unknown. */
  async status(jobId?: string): Promise<Omit<StatusReply, 'v'>> {
    const jobs = jobId !== undefined ? [await this.jobStatus(jobId)].filter(isDefined) : await this.allJobs();
    if (jobId !== undefined && jobs.length === 0) throw new MrmError(ErrorCode.State, `no job with id '${jobId}'`);
    const workers = this.registry.list().map((w) => {
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
    const queued = this.queue.remove(jobId);
    if (queued !== undefined) {
      const status: JobStatus = {
        ...this.queuedStatus(queued.request, queued.submittedAtMs),
        state: 'cancelled',
        finishedAtMs: this.clock.nowMs(),
      };
      this.logger.info('job cancelled', { jobId, was: 'queued' });
      await this.publish(status, true);
      await this.history.dropRequest(jobId);
      this.metrics.add('mrm_jobs_finished_total', 1, { state: 'cancelled' });
      return status;
    }
    if (this.running?.jobId === jobId && this.runningAbort !== undefined) {
      this.logger.info('job cancelled', { jobId, was: 'running' });
      const done = this.runningDone;
      this.runningAbort.abort(new MrmError(ErrorCode.Aborted, `job ${jobId} was cancelled`));
      if (done !== undefined) return done;
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

  /** Runs the highest-priority queued job (one at a time). */
  private async runNext(): Promise<void> {
    const next = this.queue.shift();
    if (next === undefined || this.state !== 'running') return;
    const { request } = next;
    let status: JobStatus = {
      ...this.queuedStatus(request, next.submittedAtMs),
      state: 'running',
      startedAtMs: this.clock.nowMs(),
    };
    this.running = status;
    const abort = new AbortController();
    this.runningAbort = abort;
    let settle: (s: JobStatus) => void = () => {};
    this.runningDone = new Promise((resolve) => {
      settle = resolve;
    });
    try {
      status = await this.runOne(request, status, abort);
    } finally {
      this.running = undefined;
      this.runningAbort = undefined;
      this.runningDone = undefined;
      settle(status);
    }
  }

  /** Runs one job to its end; resolves with its final status (saved and published). */
  private async runOne(request: SubmitRequest, started: JobStatus, abort: AbortController): Promise<JobStatus> {
    let status = started;
    const progressMetrics = new ProgressMetrics(this.metrics, request.job.name);
    await this.publish(status, true);
    try {
      const job = await this.options.loadJob(request.job);
      const inputs = await this.options.resolveInputs(request.inputs);
      abort.signal.throwIfAborted();
      const runOnce = (runInputs: readonly SourceFile[]): Promise<RunResult> =>
        this.runMoving(job, abort.signal, async (mapWorkers, mergeWorkers, owners) =>
          this.coordinator.runJob({
            jobId: request.jobId,
            job,
            ref: request.job,
            inputs: runInputs,
            mapWorkers,
            mergeWorkers,
            owners,
            options: { ...this.options.runOptions, ...runOptionsOf(request) },
            signal: abort.signal,
            onProgress: (p) => {
              const run = this.coordinator.activeRun(request.jobId);
              if (run === undefined || this.running === undefined) return;
              const progress = run.snapshot();
              progressMetrics.update(progress, p.versions.length);
              // Versions committed so far show while the job runs (queries can read them already).
              this.running = {
                ...this.running,
                progress,
                skew: run.skewStatus(),
                versions: p.versions.map((v) => v.version),
              };
              void this.publish(this.running, false);
            },
          }),
        );
      const result =
        request.options.stream === undefined
          ? await runOnce(inputs)
          : await this.runStream(request, job.name, runOnce, abort.signal);
      status = {
        ...status,
        ...(this.running?.progress !== undefined ? { progress: this.running.progress } : {}),
        state: 'succeeded',
        finishedAtMs: this.clock.nowMs(),
        versions: result.versions.map((v) => v.version),
        skippedInputs: result.sources.filter((s) => s.batches > 0 && s.included === 0).map((s) => s.displayPath),
        ...(result.skew !== undefined ? { skew: result.skew } : {}),
      };
    } catch (e) {
      const running = this.running;
      const progress = {
        ...(running?.progress !== undefined ? { progress: running.progress } : {}),
        ...(running?.stream !== undefined ? { stream: running.stream, versions: running.versions ?? [] } : {}),
      };
      if (abort.signal.aborted) {
        status = { ...status, ...progress, state: 'cancelled', finishedAtMs: this.clock.nowMs() };
      } else {
        this.logger.warn('job failed', { jobId: request.jobId, error: String(e) });
        status = { ...status, ...progress, state: 'failed', finishedAtMs: this.clock.nowMs(), error: toWireError(e) };
      }
    }
    progressMetrics.finish();
    this.metrics.add('mrm_jobs_finished_total', 1, { state: status.state });
    this.running = undefined;
    await this.publish(status, true);
    await this.history.dropRequest(request.jobId);
    await this.history.prune();
    return status;
  }

  /**
   * A streaming job: rounds over its input stream until it is stopped. Each round runs the job
   * over the segments not yet committed; the result gathers every round's versions.
   */
  private async runStream(
    request: SubmitRequest,
    name: string,
    runOnce: (inputs: readonly SourceFile[]) => Promise<RunResult>,
    signal: AbortSignal,
  ): Promise<RunResult> {
    const stream = request.options.stream;
    const input = this.options.streamInput;
    if (stream === undefined || input === undefined) {
      throw new MrmError(
        ErrorCode.BadOption,
        `job ${request.jobId} reads a stream, and this coordinator has no stream access`,
      );
    }
    const versions: RunResult['versions'][number][] = [];
    let last: RunResult | undefined;
    const rounds = new StreamRounds({
      store: this.options.store,
      streams: input.streams,
      jobName: name,
      subject: stream.subject,
      intervalMs: stream.batchIntervalMs,
      clock: this.clock,
      runRound: async (segments) => {
        const sources = await Promise.all(segments.map((s) => input.segmentSource(s)));
        last = await runOnce(sources);
        versions.push(...last.versions);
      },
      onProgress: (progress) => {
        if (this.running?.jobId !== request.jobId) return;
        this.running = { ...this.running, stream: progress, versions: versions.map((v) => v.version) };
        void this.publish(this.running, false);
      },
    });
    await rounds.run(signal);
    // Stopped between rounds: the job was cancelled (its state is as of its last round).
    signal.throwIfAborted();
    return { ...(last ?? (await runOnce([]))), versions };
  }

  /**
   * Runs a job on the live workers; when a merge worker is lost during a run (`E_WORKER_LOST`) and
   * partitions can move (leases), its partitions go to the live merge workers and the job runs on
   * from its last committed version (each new owner restores them from their copies).
   */
  private async runMoving<T>(
    job: ResolvedJob,
    signal: AbortSignal,
    run: (mapWorkers: string[], mergeWorkers: string[], owners: string[]) => Promise<T>,
  ): Promise<T> {
    for (let reassignments = 0; ; reassignments++) {
      const { mapWorkers, mergeWorkers } = await this.waitForWorkers(job.name, signal);
      const owners = await this.owners(job, mergeWorkers);
      try {
        return await run(mapWorkers, [...new Set(owners)], owners);
      } catch (e) {
        if (!isMrmError(e) || e.code !== ErrorCode.WorkerLost || this.options.leases === undefined) throw e;
        if (reassignments >= MAX_REASSIGNMENTS || this.state !== 'running' || signal.aborted) throw e;
        const lost = String(e.details?.workerId ?? '');
        this.logger.warn('merge worker lost; moving its partitions to the live merge workers', {
          job: job.name,
          worker: lost,
        });
        await this.untilLost(lost);
      }
    }
  }

  /**
   * Waits until the registry has also found `workerId` lost (a request found it gone before its
   * heartbeats stopped), at most one heartbeat timeout: then it is taken as alive again.
   */
  private async untilLost(workerId: string): Promise<void> {
    const deadline = this.clock.nowMs() + (this.options.heartbeatTimeoutMs ?? 5000) + 1000;
    while (this.registry.isAlive(workerId) && this.clock.nowMs() < deadline) await this.clock.sleep(100);
  }

  /** Waits (up to `workerWaitMs`) for at least one live map and one live merge worker. */
  private async waitForWorkers(
    name: string,
    signal: AbortSignal,
  ): Promise<{ mapWorkers: string[]; mergeWorkers: string[] }> {
    // Just started: let every live worker's heartbeat arrive first, so that partitions do not move
    // away from owners merely not heard from yet.
    const settle = this.startedAtMs + WORKERS_SETTLE_MS - this.clock.nowMs();
    if (settle > 0) await this.clock.sleep(settle, signal);
    const deadline = this.clock.nowMs() + (this.options.workerWaitMs ?? 15_000);
    for (;;) {
      const mapWorkers = this.registry.alive(WorkerRole.Map);
      const mergeWorkers = this.registry.alive(WorkerRole.Merge);
      if (mapWorkers.length > 0 && mergeWorkers.length > 0) return { mapWorkers, mergeWorkers };
      if (this.clock.nowMs() >= deadline || this.state !== 'running') {
        throw new MrmError(
          ErrorCode.JobFailed,
          `no workers for job '${name}': ${mapWorkers.length} map and ${mergeWorkers.length} merge workers alive after waiting ${Math.round((this.options.workerWaitMs ?? 15_000) / 1000)} s (start some with 'mrm worker')`,
        );
      }
      await this.clock.sleep(100, signal);
    }
  }

  /**
   * Partition owners of a job. State lives on the merge worker that owns a partition, so the
   * assignment made at a job's first run is kept. With leases (copies in JetStream) partitions
   * move: a lost owner's partitions go to the live merge workers, and a merge worker that joined
   * takes its share (balanced, moving as few as possible). Without, a job whose owner is gone
   * cannot run yet.
   */
  private async owners(job: ResolvedJob, mergeWorkers: string[]): Promise<string[]> {
    const stored = await this.options.store.getMeta<string[]>(job.name, OWNERS);
    const previous = stored?.length === job.partitions ? stored : undefined;
    if (this.options.leases !== undefined && job.incremental) {
      const owners = assignPartitions(previous, mergeWorkers, job.partitions);
      const moved = owners.filter((w, p) => previous !== undefined && previous[p] !== w).length;
      if (moved > 0)
        this.logger.info('partitions move', { job: job.name, moved, owners: [...new Set(owners)].join(',') });
      await this.options.store.putMeta(job.name, OWNERS, owners);
      this.ownersByJob.set(job.name, owners);
      return owners;
    }
    if (stored !== undefined && stored.length === job.partitions) {
      const missing = [...new Set(stored)].filter((w) => !this.registry.isAlive(w));
      if (missing.length > 0) {
        throw new MrmError(
          ErrorCode.JobFailed,
          `job '${job.name}' has state on merge worker${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not running; start ${missing.length > 1 ? 'them' : 'it'} again with the same --id and --state`,
        );
      }
      this.ownersByJob.set(job.name, stored);
      return stored;
    }
    const owners = Array.from({ length: job.partitions }, (_, p) => mergeWorkers[p % mergeWorkers.length] as string);
    await this.options.store.putMeta(job.name, OWNERS, owners);
    this.ownersByJob.set(job.name, owners);
    return owners;
  }

  /** Saves (on state changes) and publishes a job's status; progress events at most 5 per second. */
  private async publish(status: JobStatus, stateChanged: boolean): Promise<void> {
    const now = this.clock.nowMs();
    if (!stateChanged && now - this.lastEventMs < 200) return;
    this.lastEventMs = now;
    if (stateChanged) await this.history.save(status);
    this.options.transport.publish({ kind: 'events', jobId: status.jobId }, encodeApi({ type: 'job-event', status }));
  }

  /** A job's status: the running job, then the queue, then the history. */
  async jobStatus(jobId: string): Promise<JobStatus | undefined> {
    if (this.running?.jobId === jobId) return this.running;
    const queued = this.queue.find(jobId);
    if (queued !== undefined) return this.queuedStatus(queued.request, queued.submittedAtMs);
    return this.history.get(jobId);
  }

  private async allJobs(): Promise<JobStatus[]> {
    const out: JobStatus[] = [];
    if (this.running !== undefined) out.push(this.running);
    for (const q of this.queue.list()) out.push(this.queuedStatus(q.request, q.submittedAtMs));
    for (const h of await this.history.recent(50)) if (!out.some((j) => j.jobId === h.jobId)) out.push(h);
    return out;
  }

  /** Where a job's state lives (partition owners) and its versions, for queries. */
  async jobInfo(name: string): Promise<Omit<JobInfoReply, 'v'>> {
    const { store } = this.options;
    const shape = await new JobRecord(store, name).shape();
    if (shape === undefined) throw new MrmError(ErrorCode.State, `no job named '${name}' on this cluster`);
    return {
      type: 'job-info-reply',
      name,
      partitions: shape.partitions,
      owners: (await store.getMeta<string[]>(name, OWNERS)) ?? [],
      versions: await store.listVersions(name),
      bundleHash: shape.bundleHash,
    };
  }

  /** Stops taking requests; a running job is abandoned (it resumes from its last version when resubmitted). */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.lifecycle = 'closed';
    this.unlisten?.();
    this.watchdogTimer?.cancel();
    for (const s of this.subscriptions) s.unsubscribe();
    this.registry.stop();
    await this.coordinator.close();
  }
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
  };
}
