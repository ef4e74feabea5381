/**
 * One run of a job on the coordinator: the supervisor of its parts. It starts the run on the
 * merge workers, routes each report to the part it concerns — {@link TaskDispatcher} (map tasks
 * and the window), {@link MergeTracker} (merged batches, from cumulative `merged-through`
 * reports), {@link VersionCommitter} (versions) —,
 * reacts to silence ({@link StallDetector}) and lost workers, and settles `done`: with the
 * committed versions, or, after a failure, once every merge worker rolled back.
 */
import {
  ErrorCode,
  encodeMessage,
  fromWireError,
  isMrmError,
  isTransientFailure,
  MrmError,
  type ProtocolMessage,
  type SkewStatus,
  type TaskDoneMessage,
  traceStage,
  type VersionInfo,
} from '@mrm/core';
import type { RunPlan } from '../run-plan.js';
import { lastMapWorkerLost, MergeRequests, mergeWorkerLost } from './merge-requests.js';
import { MergeTracker } from './merge-tracker.js';
import { firstVersionOf, type JobRunContext } from './run-context.js';
import { abortMapTasks, rollBack } from './run-rollback.js';
import { SkewTracker } from './skew-tracker.js';
import { StallDetector } from './stall-detector.js';
import { TaskDispatcher } from './task-dispatcher.js';
import { VersionCommitter } from './version-committer.js';

/** Where a run is: running, then settled one way or the other. */
export type JobRunState = 'created' | 'running' | 'committed' | 'failed' | 'abandoned';

/** A worker a run waits for, and for what. */
export interface RunBlocker {
  readonly workerId: string;
  readonly waitingFor: string;
}

/** Progress of a run for status reports. */
export interface RunSnapshot {
  readonly totalBatches: number;
  readonly mergedBatches: number;
  readonly records: number;
  readonly lagBatches: number;
  readonly deadLetters: number;
  /** A window with lateness: late records as of the latest committed version, in total. */
  readonly lateRecords?: number;
  /** A window with lateness: the watermark of the latest committed version. */
  readonly watermarkMs?: number;
}

/** One run. `done` resolves with the committed versions. */
export class JobRun {
  private readonly owners: string[];
  private readonly ownedBy = new Map<string, number[]>();
  /** Merge workers lost during the run (not asked to roll back: they cannot answer). */
  private readonly lostMergeWorkers = new Set<string>();
  private readonly requests: MergeRequests;
  private readonly merged: MergeTracker;
  private readonly dispatcher: TaskDispatcher;
  private readonly committer: VersionCommitter;
  private readonly stall: StallDetector;
  /** Hot keys, salting decisions and pairs reduced per merge worker. */
  private readonly skew: SkewTracker;
  private lastCommitted = false;
  /** Input lines of the batches planned so far (kept, not summed per progress report). */
  private totalLines: number;
  private runState: JobRunState = 'created';
  /** An open run: the next version an extension commits. */
  private nextCutVersion: number;
  /** An open run: callers waiting for a version to commit. */
  private readonly waiting = new Map<number, { resolve: (v: VersionInfo) => void; reject: (e: unknown) => void }>();
  private resolveDone!: (versions: VersionInfo[]) => void;
  private rejectDone!: (e: unknown) => void;
  /** Settles when the run has committed its last version, or failed and rolled back, or was abandoned. */
  readonly done: Promise<VersionInfo[]>;

  constructor(private readonly ctx: JobRunContext) {
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => {}); // the caller awaits it; a run failed before anyone did is not unhandled
    this.nextCutVersion = firstVersionOf(ctx);
    this.totalLines = sumOf(ctx.plan.batchLines);
    // Whoever still waits for a version when the run ends learns why it will not come.
    this.done.then(
      () => this.rejectWaiting(new MrmError(ErrorCode.State, `run ${ctx.run} of job '${ctx.job.name}' ended`)),
      (e: unknown) => this.rejectWaiting(e),
    );
    const { partitions } = ctx.job;
    this.owners =
      ctx.owners !== undefined
        ? [...ctx.owners]
        : Array.from({ length: partitions }, (_, p) => ctx.mergeWorkers[p % ctx.mergeWorkers.length] as string);
    this.owners.forEach((w, p) => {
      const list = this.ownedBy.get(w) ?? [];
      list.push(p);
      this.ownedBy.set(w, list);
    });
    this.requests = new MergeRequests(ctx);
    this.merged = new MergeTracker(ctx);
    this.skew = new SkewTracker(ctx.job, ctx.settings.saltSetting ?? ctx.job.salt, ctx.mergeWorkers);
    this.dispatcher = new TaskDispatcher(ctx, this.owners, this.merged, () => this.skew.planFor());
    this.committer = new VersionCommitter(ctx, this.merged, this.requests, {
      committed: (info, last) => {
        const waiter = this.waiting.get(info.version);
        this.waiting.delete(info.version);
        waiter?.resolve(info);
        if (this.finished) return;
        this.progress();
        if (last) this.lastCommitted = true;
        this.maybeDone();
      },
      failed: (e) => void this.fail(e),
    });
    this.stall = new StallDetector(ctx.clock, ctx.settings.stallTimeoutMs, () => this.redispatch('no progress'));
  }

  /** Load per merge worker and what salting did, so far. */
  skewStatus(): SkewStatus {
    return this.skew.status();
  }

  /** Where the run is. */
  get state(): JobRunState {
    return this.runState;
  }

  /** The job id of the run. */
  get jobId(): string {
    return this.ctx.jobId;
  }

  private get finished(): boolean {
    return this.runState !== 'created' && this.runState !== 'running';
  }

  /** Records and keys set aside as dead letters in the versions committed so far. */
  get deadLetters(): number {
    return this.committer.deadLetters;
  }

  /** Skipped records (map threw with onError 'skip'). */
  get skipped(): number {
    return this.dispatcher.skipped;
  }

  /** Starts the run on the merge workers, then dispatches. */
  async start(): Promise<void> {
    const { ctx } = this;
    const { settings } = ctx;
    this.runState = 'running';
    await Promise.all(
      ctx.mergeWorkers.map((worker) =>
        this.requests.once(
          worker,
          encodeMessage({
            type: 'run-start',
            jobId: ctx.jobId,
            run: ctx.run,
            job: ctx.ref,
            jobName: ctx.job.name,
            incremental: ctx.job.incremental,
            partitions: ctx.job.partitions,
            owned: this.ownedBy.get(worker) ?? [],
            totalBatches: ctx.plan.batchIds.length,
            batchIds: ctx.plan.batchIds,
            firstVersion: firstVersionOf(ctx),
            checkpointEveryBatches: settings.checkpointEveryBatches,
            maxBufferBytes: settings.maxBufferBytes,
            onError: settings.onError,
            owners: this.owners,
            ...(ctx.leases !== undefined ? { copies: ctx.leases.plansFor(worker) } : {}),
            ...(ctx.base?.watermarkMs !== undefined ? { watermarkMs: ctx.base.watermarkMs } : {}),
            ...(ctx.open === true ? { open: true } : {}),
          }),
          `starting the run on merge worker ${worker}`,
        ),
      ),
    );
    if (this.finished) return;
    this.progress();
    this.dispatcher.fill();
    this.stall.start();
  }

  /**
   * An open run takes `part` (planned with seqs from `plan.batchIds.length` on) as its next
   * batches, and will commit one version after them — with `advanceWatermarkMs` (an idle stream)
   * even without batches. Every merge worker acknowledges the batches before any is dispatched.
   * Resolves with that version's number once dispatched (see {@link committedVersion}); undefined
   * when there is nothing to merge. Calls must not overlap (the caller chains them).
   */
  async extend(part: RunPlan, advanceWatermarkMs?: number): Promise<number | undefined> {
    const { ctx } = this;
    if (ctx.open !== true) throw new MrmError(ErrorCode.State, `run ${ctx.run} of job '${ctx.job.name}' is not open`);
    if (part.batchIds.length === 0 && advanceWatermarkMs === undefined) return undefined;
    if (this.finished) throw new MrmError(ErrorCode.State, `run ${ctx.run} of job '${ctx.job.name}' has ended`);
    const version = this.nextCutVersion++;
    const message = encodeMessage({
      type: 'run-extend',
      jobId: ctx.jobId,
      run: ctx.run,
      fromSeq: ctx.plan.batchIds.length,
      batchIds: part.batchIds,
      version,
      ...(advanceWatermarkMs !== undefined ? { advanceWatermarkMs } : {}),
    });
    await Promise.all(
      ctx.mergeWorkers.map((w) => this.requests.idempotent(w, message, `extending the run on merge worker ${w}`)),
    );
    ctx.plan.batchIds.push(...part.batchIds);
    ctx.plan.batchLines.push(...part.batchLines);
    this.totalLines += sumOf(part.batchLines);
    ctx.plan.splits.push(...part.splits);
    ctx.plan.sources.push(...part.sources);
    this.stall.touch();
    this.dispatcher.fill();
    return version;
  }

  /** Resolves once `version` of this run is committed; rejects when the run ends before. */
  committedVersion(version: number): Promise<VersionInfo> {
    const versions = this.committer.versions;
    for (let i = versions.length - 1; i >= 0 && (versions[i] as VersionInfo).version >= version; i--) {
      if ((versions[i] as VersionInfo).version === version) return Promise.resolve(versions[i] as VersionInfo);
    }
    if (this.finished) {
      return this.done.then(() => {
        throw new MrmError(ErrorCode.State, `run ${this.ctx.run} ended before version ${version} was committed`);
      });
    }
    return new Promise((resolve, reject) => this.waiting.set(version, { resolve, reject }));
  }

  /**
   * Ends an open run without losing anything: once every version it was extended to is
   * committed, its merge workers close it (nothing above the last committed version to discard)
   * and `done` resolves with the versions. Nothing happens when the run has ended already.
   */
  async finishOpen(): Promise<void> {
    const last = this.nextCutVersion - 1;
    if (last >= firstVersionOf(this.ctx)) await this.committedVersion(last).catch(() => {});
    if (this.finished) return;
    this.settle('committed');
    const { ctx } = this;
    const rollbackTo = this.committer.versions.at(-1)?.version ?? ctx.base?.version ?? 0;
    try {
      await rollBack(ctx, this.requests, ctx.mergeWorkers, rollbackTo, 'the open run ends (it is renewed)');
    } catch (e) {
      this.rejectDone(e);
      return;
    }
    this.resolveDone([...this.committer.versions]);
  }

  private rejectWaiting(e: unknown): void {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  /**
   * Messages may have been lost (a restarted NATS server, a stalled run): merge workers send
   * their reports again, requests waiting are sent again, and unfinished tasks are dispatched
   * again as new attempts (merge workers drop what an older attempt delivered).
   */
  redispatch(reason: string): void {
    if (this.finished) return;
    this.stall.touch();
    this.requests.resendPending(reason);
    // A lost merged-through or checkpoint-written report would hold the run forever (its batches are
    // merged: dispatching their tasks again brings no new report), so merge workers send theirs again.
    this.askResend(this.ctx.mergeWorkers);
    this.dispatcher.redispatchUnfinished(reason);
  }

  /** Asks merge workers to send again the reports no committed version covers. */
  private askResend(workers: readonly string[]): void {
    const resend = encodeMessage({ type: 'resend-reports', jobId: this.ctx.jobId, run: this.ctx.run });
    for (const w of workers) this.ctx.transport.publish({ kind: 'worker', workerId: w }, resend);
  }

  /**
   * A worker stopped answering. A lost map worker's unfinished tasks go to the others; a lost
   * merge worker ends the run with `E_WORKER_LOST` after what was committed: the coordinator
   * service gives its partitions to the live merge workers and runs the job on from there. So does
   * the loss of the last map worker (the service waits for a map worker, then runs the job on).
   */
  workerLost(workerId: string): void {
    if (this.finished) return;
    if (this.ctx.mergeWorkers.includes(workerId)) {
      // Its uncommitted writes are discarded when it starts its next run (run-start discards
      // above the last committed version).
      this.lostMergeWorkers.add(workerId);
      void this.fail(mergeWorkerLost(workerId, this.ctx.job.name));
      return;
    }
    if (!this.ctx.mapWorkers.includes(workerId)) return;
    if (this.dispatcher.removeWorker(workerId) === 0) {
      void this.fail(lastMapWorkerLost(workerId, this.ctx.job.name));
    }
  }

  /** Batches planned so far (an open run's next extension starts at this seq). */
  get plannedBatches(): number {
    return this.ctx.plan.batchIds.length;
  }

  /** Versions this run has committed so far. */
  get versionsCommitted(): number {
    return this.committer.versions.length;
  }

  /**
   * The workers the run waits for, most likely culprit first: those holding up its lowest
   * unmerged batch (its map task, the merge workers that have not merged it), or, once every
   * batch is merged, the merge workers that have not written the next version.
   */
  blockers(): RunBlocker[] {
    const { ctx } = this;
    const seq = this.merged.lowestUnmerged;
    const out: RunBlocker[] = [];
    if (seq < ctx.plan.batchIds.length) {
      const index = ctx.plan.splits.findIndex((s) => s.batches.some((b) => b.seq === seq));
      const task = this.dispatcher.taskOf(index);
      if (task !== undefined && !task.done) out.push({ workerId: task.worker, waitingFor: `map task t${index}` });
      for (const w of ctx.mergeWorkers) {
        if (!this.merged.hasMerged(w, seq)) out.push({ workerId: w, waitingFor: `batch ${seq + 1} merged` });
      }
      return out;
    }
    const version = firstVersionOf(ctx) + this.committer.versions.length;
    // An open run with every extension committed waits for nobody (an idle stream).
    if (ctx.open === true && version === this.nextCutVersion) return out;
    const written = this.committer.writersOf(version);
    for (const w of ctx.mergeWorkers) {
      if (written?.has(w) !== true) out.push({ workerId: w, waitingFor: `version ${version} written` });
    }
    return out;
  }

  /** Late records (all their windows final) in the versions committed so far by this run. */
  get lateRecords(): number {
    return this.committer.lateRecords;
  }

  /** Progress for status reports. */
  snapshot(): RunSnapshot {
    const merged = this.merged.lowestUnmerged;
    const latest = this.committer.versions.at(-1) ?? this.ctx.base;
    return {
      totalBatches: this.ctx.plan.batchIds.length,
      mergedBatches: merged,
      records: this.merged.records,
      lagBatches: Math.max(0, this.dispatcher.dispatchedBatches - merged),
      deadLetters: this.committer.deadLetters,
      ...(latest?.lateRecords !== undefined ? { lateRecords: latest.lateRecords } : {}),
      ...(latest?.watermarkMs !== undefined ? { watermarkMs: latest.watermarkMs } : {}),
    };
  }

  /** Handles a report about this run. */
  onMessage(m: ProtocolMessage): void {
    if (this.finished) return;
    this.stall.touch();
    switch (m.type) {
      case 'task-done':
        if (!this.taskDone(m)) return;
        this.dispatcher.fill();
        this.maybeDone();
        return;
      case 'tasks-done': {
        // Several tasks finished in one turn of their map worker (decisions/0058): one fill for all.
        const { jobId, run, from } = m;
        let counted = false;
        for (const t of m.tasks)
          counted = this.taskDone({ ...t, type: 'task-done', v: m.v, jobId, run, from }) || counted;
        if (!counted) return;
        this.dispatcher.fill();
        this.maybeDone();
        return;
      }
      case 'task-failed': {
        const outcome = this.dispatcher.onTaskFailed(m);
        if (outcome.kind === 'fatal') void this.fail(fromWireError(outcome.error));
        return;
      }
      case 'owners-unknown':
        this.dispatcher.onOwnersUnknown(m);
        return;
      case 'merged-through': {
        traceStage(this.ctx.logger, 'coord.merged-through', { jobId: this.ctx.jobId, seq: m.throughSeq });
        const outcome = this.merged.onMergedThrough(m);
        // A report skipped batches (one was lost in between): the worker sends them again.
        if (outcome.gap) this.askResend([m.from]);
        if (outcome.pairs > 0) this.skew.onMerged(m.from, outcome.pairs);
        if (!outcome.advanced) return;
        this.progress();
        this.dispatcher.fill();
        return;
      }
      case 'checkpoint-written':
        traceStage(this.ctx.logger, 'coord.checkpoint-written', { jobId: this.ctx.jobId, version: m.version });
        this.committer.onCheckpointWritten(m);
        return;
      default:
        return;
    }
  }

  /** Takes one task's report; true when it was the current attempt's first. */
  private taskDone(m: TaskDoneMessage): boolean {
    traceStage(this.ctx.logger, 'coord.task-done', { jobId: this.ctx.jobId, task: m.taskId });
    if (!this.dispatcher.onTaskDone(m)) return false;
    this.skew.onTaskDone(m);
    return true;
  }

  /** A run is done when its last version is committed and every map task has reported. */
  private maybeDone(): void {
    if (this.finished || !this.lastCommitted || !this.dispatcher.allReported) return;
    this.settle('committed');
    this.resolveDone([...this.committer.versions]);
  }

  private progress(): void {
    this.ctx.onProgress?.({
      jobId: this.ctx.jobId,
      totalBatches: this.ctx.plan.batchIds.length,
      mergedBatches: this.merged.lowestUnmerged,
      totalLines: this.totalLines,
      mergedLines: this.merged.mergedLines,
      records: this.merged.records,
      versions: this.committer.versions,
    });
  }

  private settle(state: 'committed' | 'failed' | 'abandoned'): void {
    this.runState = state;
    this.stall.stop();
  }

  /**
   * Stops the run and rolls every merge worker back to the version the run started from, or, with
   * `cancelled`, to the last version this run committed. An open run always keeps
   * what it committed: each of its versions was acknowledged (a stream's cursor moved past its
   * segment; a followed file's plan may have folded its batches, decisions/0039).
   */
  async fail(error: unknown, cancelled = false): Promise<void> {
    const keepCommitted = cancelled || this.ctx.open === true;
    if (this.finished) return;
    if (isMrmError(error) && error.code === ErrorCode.Fenced) {
      // Another coordinator leads now and runs the job on: rolling back here would undo its work.
      await this.abandon(error.message, error);
      return;
    }
    this.settle('failed');
    if (isMrmError(error) && (error.code === ErrorCode.WorkerLost || isTransientFailure(error))) {
      // Not the job's fault: what was committed stays, and the scheduler may run the job on.
      await this.stopAfterLoss(error);
      return;
    }
    const { ctx } = this;
    const reason = error instanceof Error ? error.message : String(error);
    abortMapTasks(ctx, this.dispatcher.liveWorkers, reason);
    try {
      // A commit under way finishes first: what it committed is kept by a cancel.
      await this.committer.stop();
      const rollbackTo =
        (keepCommitted ? this.committer.versions.at(-1)?.version : undefined) ?? ctx.base?.version ?? 0;
      ctx.logger.warn(cancelled ? 'run cancelled' : 'run failed; rolling back', {
        jobId: ctx.jobId,
        rollbackTo,
        reason,
      });
      await rollBack(
        ctx,
        this.requests,
        ctx.mergeWorkers.filter((w) => !this.lostMergeWorkers.has(w)),
        rollbackTo,
        reason,
      );
    } catch (e) {
      ctx.logger.error('rollback failed', { jobId: ctx.jobId, error: String(e) });
      this.rejectDone(
        new MrmError(ErrorCode.State, `${reason} (and rolling back failed: ${String(e)})`, { cause: error }),
      );
      return;
    }
    this.rejectDone(error);
  }

  /**
   * Ends the run after a merge worker was lost, or on a transient failure of the infrastructure
   * (`isTransientFailure`), keeping every version it committed: map workers
   * stop, the surviving merge workers close the run when the next one starts (run-start discards
   * above the last committed version), and so does the coordinator's own store now.
   */
  private async stopAfterLoss(error: MrmError): Promise<void> {
    const { ctx } = this;
    // A commit waiting on the lost worker's reply would wait out the whole request timeout.
    this.requests.abandon(error);
    await this.committer.stop();
    const committed = (await ctx.store.latestVersion(ctx.job.name))?.version ?? 0;
    const why =
      error.code !== ErrorCode.WorkerLost
        ? 'the infrastructure failed'
        : error.details.role === 'map'
          ? 'no map workers left'
          : 'merge worker lost';
    ctx.logger.warn(`${why}; the run stops after its last committed version`, {
      jobId: ctx.jobId,
      committed,
      reason: error.message,
    });
    abortMapTasks(ctx, this.dispatcher.liveWorkers, error.message);
    try {
      await ctx.store.discardAbove(ctx.job.name, committed);
      await ctx.record.forgetAbove(committed);
    } catch (e) {
      ctx.logger.error('forgetting uncommitted versions failed', { jobId: ctx.jobId, error: String(e) });
    }
    this.rejectDone(error);
  }

  /**
   * Gives the run up without rolling back (the coordinator is closing): map workers stop its
   * tasks, requests waiting give up, timers stop, and `done` rejects with `E_ABORTED` once a
   * commit in progress has settled (or with `error`). What merge workers wrote and never
   * committed is discarded when the job runs next.
   */
  async abandon(reason: string, error: MrmError = new MrmError(ErrorCode.Aborted, reason)): Promise<void> {
    if (this.finished) {
      // Settling already (a rollback in progress): its requests give up too.
      this.requests.abandon(error);
      await this.done.catch(() => {});
      return;
    }
    this.settle('abandoned');
    abortMapTasks(this.ctx, this.dispatcher.liveWorkers, reason);
    this.requests.abandon(error);
    await this.committer.stop();
    this.rejectDone(error);
  }
}

function sumOf(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum;
}
