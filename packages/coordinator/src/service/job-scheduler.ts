/**
 * Submitted jobs, one at a time: a priority queue, a serial loop that runs the next job (waits
 * for workers, assigns partitions, runs it on the {@link Coordinator}), and the status of every
 * job — the running one, then the queue, then the history (seeds/003).
 */
import { ErrorCode, type JobStatus, MrmError, type ResolvedJob, type SubmitRequest, toWireError } from '@mrm/core';
import type { Coordinator } from '../coordinator.js';
import type { RunJobOptions } from '../run-settings.js';
import type { JobHistory } from './job-history.js';
import { JobQueue } from './job-queue.js';
import { assignOwners } from './partition-owners.js';
import type { ResolvedCoordinatorServiceOptions } from './service-options.js';
import type { StatusPublisher } from './status-publisher.js';
import type { WorkerRegistry } from './worker-registry.js';
import { waitForWorkers } from './worker-waiter.js';

/** Queues jobs and runs them in order. */
export class JobScheduler {
  private readonly queue = new JobQueue();
  private running: JobStatus | undefined;
  private loop: Promise<void> = Promise.resolve();
  /** Aborted when the service closes: a wait for workers ends at once. */
  private readonly closing = new AbortController();

  constructor(
    private readonly options: ResolvedCoordinatorServiceOptions,
    private readonly coordinator: Coordinator,
    private readonly registry: WorkerRegistry,
    private readonly history: JobHistory,
    private readonly status: StatusPublisher,
  ) {}

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
   * Jobs that were queued or running when a previous coordinator stopped are queued again, in
   * their order: each resumes after its last committed version (committed batches are skipped).
   */
  resumeUnfinished(): void {
    this.serially(async () => {
      for (const { status, request } of await this.history.unfinished()) {
        this.options.logger.warn('resuming a job the previous coordinator did not finish', { jobId: request.jobId });
        this.queue.push(request, status.submittedAtMs);
        await this.history.save(queuedStatus(request, status.submittedAtMs));
        this.serially(() => this.runNext());
      }
    });
  }

  /** A job's status: the running job, then the queue, then the history. */
  async jobStatus(jobId: string): Promise<JobStatus | undefined> {
    if (this.running?.jobId === jobId) return this.running;
    const queued = this.queue.find(jobId);
    if (queued !== undefined) return queuedStatus(queued.request, queued.submittedAtMs);
    return this.history.get(jobId);
  }

  /** The running job, the queued ones, then the 50 most recent of the history. */
  async allJobs(): Promise<JobStatus[]> {
    const out: JobStatus[] = [];
    if (this.running !== undefined) out.push(this.running);
    for (const q of this.queue.list()) out.push(queuedStatus(q.request, q.submittedAtMs));
    for (const h of await this.history.recent(50)) if (!out.some((j) => j.jobId === h.jobId)) out.push(h);
    return out;
  }

  /** Resolves when the job running now (and the loop's current step) has finished. */
  async idle(): Promise<void> {
    for (;;) {
      const current = this.loop;
      await current;
      if (current === this.loop) return;
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

  /** Runs `work` after everything queued before it; a failure is logged, never blocks what follows. */
  private serially(work: () => Promise<void>): void {
    this.loop = this.loop
      .then(work)
      .catch((e: unknown) => this.options.logger.error('coordinator work failed', { error: String(e) }));
  }

  /** Runs the highest-priority queued job. */
  private async runNext(): Promise<void> {
    if (this.closing.signal.aborted) return;
    const next = this.queue.shift();
    if (next === undefined) return;
    const { request } = next;
    const { clock, logger } = this.options;
    let status: JobStatus = {
      ...queuedStatus(request, next.submittedAtMs),
      state: 'running',
      startedAtMs: clock.nowMs(),
    };
    this.running = status;
    await this.status.publish(status, true);
    try {
      const job = await this.options.loadJob(request.job);
      const inputs = await this.options.resolveInputs(request.inputs);
      const { mapWorkers, mergeWorkers } = await waitForWorkers(
        this.registry,
        clock,
        this.options.workerWaitMs,
        job.name,
        this.closing.signal,
      );
      const owners = await this.owners(job, mergeWorkers);
      const result = await this.coordinator.runJob({
        jobId: request.jobId,
        job,
        ref: request.job,
        inputs,
        mapWorkers,
        mergeWorkers: [...new Set(owners)],
        owners,
        options: { ...this.options.runOptions, ...runOptionsOf(request) },
        onProgress: () => {
          const run = this.coordinator.activeRun(request.jobId);
          if (run === undefined || this.running === undefined) return;
          this.running = { ...this.running, progress: run.snapshot(), skew: run.skewStatus() };
          void this.status.publish(this.running, false);
        },
      });
      status = {
        ...status,
        ...(this.running?.progress !== undefined ? { progress: this.running.progress } : {}),
        state: 'succeeded',
        finishedAtMs: clock.nowMs(),
        versions: result.versions.map((v) => v.version),
        skippedInputs: result.sources.filter((s) => s.batches > 0 && s.included === 0).map((s) => s.displayPath),
        ...(result.skew !== undefined ? { skew: result.skew } : {}),
      };
    } catch (e) {
      if (this.closing.signal.aborted) {
        logger.info('job left for the next coordinator to resume', { jobId: request.jobId });
        this.running = undefined;
        return;
      }
      logger.warn('job failed', { jobId: request.jobId, error: String(e) });
      status = { ...status, state: 'failed', finishedAtMs: clock.nowMs(), error: toWireError(e) };
    }
    this.running = undefined;
    await this.status.publish(status, true);
    await this.history.dropRequest(request.jobId);
    await this.history.prune();
  }

  private owners(job: ResolvedJob, mergeWorkers: readonly string[]): Promise<string[]> {
    return assignOwners(this.options.store, job, mergeWorkers, (w) => this.registry.isAlive(w));
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

function runOptionsOf(request: SubmitRequest): RunJobOptions {
  const o = request.options;
  return {
    ...(o.batchLines !== undefined ? { batchLines: o.batchLines } : {}),
    ...(o.checkpointEveryBatches !== undefined ? { checkpointEveryBatches: o.checkpointEveryBatches } : {}),
    ...(o.onError !== undefined ? { onError: o.onError } : {}),
    ...(o.salt !== undefined ? { salt: o.salt } : {}),
  };
}
