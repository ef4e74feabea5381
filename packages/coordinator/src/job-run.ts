/**
 * One run of a job, driven by the coordinator: dispatches map tasks within a window, counts
 * merged batches, and when every merge worker has written a checkpoint commits that version
 * (records its batch ids first, then tells the merge workers, then itself). On any failure it
 * rolls every merge worker back to the version the run started from.
 */
import {
  type CheckpointWrittenMessage,
  ErrorCode,
  encodeMessage,
  expectAck,
  fromWireError,
  type JobRef,
  type Logger,
  type MessageBody,
  type Metrics,
  MrmError,
  type ProtocolMessage,
  pruneVersions,
  type ResolvedJob,
  type ResolvedSalt,
  type SaltPlan,
  type SkewStatus,
  type StateStore,
  sumStateDigests,
  type Transport,
  type VersionInfo,
} from '@mrm/core';
import type { JobRecord } from './job-record.js';
import type { RunLeases } from './partition-leases.js';
import type { RunPlan } from './run-plan.js';
import { SkewTracker } from './skew-tracker.js';

/** Tuning of a run. */
export interface RunSettings {
  readonly checkpointEveryBatches: number;
  readonly maxTasksInFlight: number;
  /** Batches dispatched beyond the lowest batch not yet merged everywhere. */
  readonly maxBatchesAhead: number;
  readonly maxBufferBytes: number;
  readonly maxFrameBytes: number;
  readonly onError: 'fail' | 'skip';
  /** Versions to keep (the newest); 0 keeps every version. */
  readonly keepVersions: number;
  readonly salt: number;
  /** `--salt`, overriding the job spec's `salt` field. */
  readonly saltSetting?: ResolvedSalt;
  readonly requestTimeoutMs: number;
  /** With work outstanding and no report for this long, unfinished tasks are dispatched again. */
  readonly stallTimeoutMs: number;
}

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
  readonly base: VersionInfo | undefined;
  readonly record: JobRecord;
  readonly store: StateStore;
  readonly transport: Transport;
  readonly mapWorkers: readonly string[];
  readonly mergeWorkers: readonly string[];
  /** Owner of each partition (default: `mergeWorkers[p % n]`). */
  readonly owners?: readonly string[];
  readonly settings: RunSettings;
  /** Leases and copies of the partitions (a cluster run of an incremental job), else none. */
  readonly leases?: RunLeases;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly onProgress?: (progress: RunProgress) => void;
}

/** A worker a run waits for, and for what. */
export interface RunBlocker {
  readonly workerId: string;
  readonly waitingFor: string;
}

/** Times one map task is run again after failing on the transport before the run fails. */
const MAX_TRANSPORT_RETRIES = 3;

/** The state of one run. Resolves `done` with the committed versions. */
export class JobRun {
  private readonly owners: string[];
  /** Merge workers lost during the run. */
  private readonly lostWorkers = new Set<string>();
  /** Map workers still taking tasks (a lost one is removed). */
  private readonly mapWorkers: string[];
  private readonly ownedBy = new Map<string, number[]>();
  private nextTask = 0;
  private tasksInFlight = 0;
  private readonly mapLoad = new Map<string, number>();
  /** Per dispatched task: its current attempt, worker, and whether that attempt reported done. */
  private readonly tasks = new Map<number, { attempt: number; worker: string; done: boolean }>();
  /** Aborted (and replaced) when messages may have been lost: requests waiting are sent again. */
  private lostMessages = new AbortController();
  /** Per task: attempts that failed on the transport. */
  private readonly transportRetries = new Map<number, number>();
  /** Per seq: merge workers that reported it merged. */
  private readonly mergedReports = new Map<number, Set<string>>();
  private lastProgressMs = Date.now();
  private stallTimer: ReturnType<typeof setInterval> | undefined;
  private readonly mergedSeqs = new Set<number>();
  private lowestUnmerged = 0;
  private mergedLines = 0;
  private records = 0;
  private skippedRecords = 0;
  private deadLetterCount = 0;
  private readonly recordsBySeq: number[] = [];
  /** Per version: reports of merge workers, by worker. */
  private readonly written = new Map<number, Map<string, CheckpointWrittenMessage>>();
  private readonly versionsStarted = new Set<number>();
  private commitChain: Promise<void> = Promise.resolve();
  private readonly versions: VersionInfo[] = [];
  private finished = false;
  private lastCommitted = false;
  /** Hot keys, salting decisions and pairs reduced per merge worker. */
  private readonly skew: SkewTracker;
  /** Per task: the salt plan of its first dispatch (every attempt salts the same way). */
  private readonly saltPlans = new Map<number, SaltPlan | undefined>();
  private resolveDone!: (versions: VersionInfo[]) => void;
  private rejectDone!: (e: unknown) => void;
  /** Settles when the run has committed its last version, or failed and rolled back. */
  readonly done: Promise<VersionInfo[]>;

  constructor(private readonly ctx: JobRunContext) {
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
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
    this.mapWorkers = [...ctx.mapWorkers];
    for (const m of this.mapWorkers) this.mapLoad.set(m, 0);
    this.skew = new SkewTracker(ctx.job, ctx.settings.saltSetting ?? ctx.job.salt, ctx.mergeWorkers);
  }

  /** Load per merge worker and what salting did, so far. */
  skewStatus(): SkewStatus {
    return this.skew.status();
  }

  private get total(): number {
    return this.ctx.plan.batchIds.length;
  }

  /** Number of versions this run will commit. */
  private get versionCount(): number {
    return this.ctx.job.incremental ? Math.ceil(this.total / this.ctx.settings.checkpointEveryBatches) : 1;
  }

  private get firstVersion(): number {
    return (this.ctx.base?.version ?? 0) + 1;
  }

  /** Versions this run has committed so far. */
  get versionsCommitted(): number {
    return this.versions.length;
  }

  /** Skipped records (map threw with onError 'skip'). */
  get skipped(): number {
    return this.skippedRecords;
  }

  /** Records and keys set aside as dead letters in the versions committed so far. */
  get deadLetters(): number {
    return this.deadLetterCount;
  }

  /** Starts the run on the merge workers, then dispatches. */
  async start(): Promise<void> {
    const { ctx } = this;
    const { settings } = ctx;
    await Promise.all(
      ctx.mergeWorkers.map(async (worker) => {
        const reply = await ctx.transport
          .request(
            { kind: 'worker', workerId: worker },
            encodeMessage({
              type: 'run-start',
              jobId: ctx.jobId,
              run: ctx.run,
              job: ctx.ref,
              jobName: ctx.job.name,
              incremental: ctx.job.incremental,
              partitions: ctx.job.partitions,
              owned: this.ownedBy.get(worker) ?? [],
              totalBatches: this.total,
              batchIds: ctx.plan.batchIds,
              firstVersion: this.firstVersion,
              checkpointEveryBatches: settings.checkpointEveryBatches,
              maxBufferBytes: settings.maxBufferBytes,
              onError: settings.onError,
              owners: this.owners,
              ...(ctx.leases !== undefined ? { copies: ctx.leases.plansFor(worker) } : {}),
            }),
            { timeoutMs: settings.requestTimeoutMs },
          )
          .catch((e: unknown) => {
            throw lostIfGone(e, worker);
          });
        expectAck(reply, `starting the run on merge worker ${worker}`);
      }),
    );
    this.progress();
    this.dispatch();
    const every = Math.max(100, Math.floor(settings.stallTimeoutMs / 4));
    this.stallTimer = setInterval(() => this.checkStall(), every);
    this.stallTimer.unref?.();
    this.done.finally(() => clearInterval(this.stallTimer)).catch(() => {});
  }

  /** Any report from a worker counts as progress. */
  private touch(): void {
    this.lastProgressMs = Date.now();
  }

  private checkStall(): void {
    if (this.finished || Date.now() - this.lastProgressMs < this.ctx.settings.stallTimeoutMs) return;
    this.redispatch('no progress');
  }

  /**
   * Dispatches again every task that has not reported done or whose batches are not merged
   * everywhere, as a new attempt (after lost messages: a restarted NATS server, a dead worker), and
   * asks merge workers to send their reports again. Merge workers drop what an older attempt
   * delivered; batches already merged are ignored.
   */
  redispatch(reason: string): void {
    if (this.finished) return;
    this.touch();
    this.lostMessages.abort(new MrmError(ErrorCode.Aborted, `sending again: ${reason}`));
    this.lostMessages = new AbortController();
    // A lost batch-merged or checkpoint-written report would hold the run forever (its batches are
    // merged: dispatching their tasks again brings no new report), so merge workers send theirs again.
    const resend = encodeMessage({ type: 'resend-reports', jobId: this.ctx.jobId, run: this.ctx.run });
    for (const w of this.ctx.mergeWorkers) this.ctx.transport.publish({ kind: 'worker', workerId: w }, resend);
    const { splits } = this.ctx.plan;
    for (const [index, task] of this.tasks) {
      const split = splits[index];
      // A task whose batches are merged but whose task-done was lost must run again too: the run
      // ends only when every task has reported (merge workers drop its frames).
      if (
        split === undefined ||
        (task.done && split.batches.every((b) => b.seq < this.lowestUnmerged || this.mergedSeqs.has(b.seq)))
      ) {
        continue;
      }
      this.ctx.logger.warn('dispatching a task again', { jobId: this.ctx.jobId, task: index, reason });
      if (task.done) this.tasksInFlight++;
      this.send(index, task.attempt + 1);
    }
  }

  /**
   * A worker stopped answering. A lost map worker's unfinished tasks go to the others; a lost
   * merge worker ends the run with `E_WORKER_LOST` after what was committed: the coordinator
   * service gives its partitions to the live merge workers and runs the job on from there.
   */
  workerLost(workerId: string): void {
    if (this.finished) return;
    if (this.ctx.mergeWorkers.includes(workerId)) {
      // Not asked to roll back: it cannot answer. Its uncommitted writes are discarded when it
      // starts its next run (run-start discards above the last committed version).
      this.lostWorkers.add(workerId);
      void this.fail(mergeWorkerLost(workerId, this.ctx.job.name));
      return;
    }
    const i = this.mapWorkers.indexOf(workerId);
    if (i < 0) return;
    this.mapWorkers.splice(i, 1);
    this.mapLoad.delete(workerId);
    if (this.mapWorkers.length === 0) {
      void this.fail(new MrmError(ErrorCode.JobFailed, `no map workers left for job '${this.ctx.job.name}'`));
      return;
    }
    for (const [index, task] of this.tasks) {
      const split = this.ctx.plan.splits[index];
      if (task.worker !== workerId || split === undefined) continue;
      if (split.batches.every((b) => b.seq < this.lowestUnmerged || this.mergedSeqs.has(b.seq))) continue;
      if (task.done) this.tasksInFlight++;
      this.send(index, task.attempt + 1);
    }
  }

  /** True while task `index` may be retried after another transport failure (a few times at most). */
  private retryAfterTransportError(index: number): boolean {
    const n = (this.transportRetries.get(index) ?? 0) + 1;
    this.transportRetries.set(index, n);
    return n <= MAX_TRANSPORT_RETRIES;
  }

  /** Progress for status reports. */
  snapshot(): {
    totalBatches: number;
    mergedBatches: number;
    records: number;
    lagBatches: number;
    deadLetters: number;
  } {
    let dispatched = 0;
    for (const index of this.tasks.keys()) dispatched += this.ctx.plan.splits[index]?.batches.length ?? 0;
    return {
      totalBatches: this.total,
      mergedBatches: this.lowestUnmerged,
      records: this.records,
      lagBatches: Math.max(0, dispatched - this.lowestUnmerged),
      deadLetters: this.deadLetterCount,
    };
  }

  /**
   * The workers the run waits for, most likely culprit first: those holding up its lowest
   * unmerged batch (its map task, the merge workers that have not merged it), or, once every
   * batch is merged, the merge workers that have not written the next version.
   */
  blockers(): RunBlocker[] {
    const seq = this.lowestUnmerged;
    const out: RunBlocker[] = [];
    if (seq < this.total) {
      const index = this.ctx.plan.splits.findIndex((s) => s.batches.some((b) => b.seq === seq));
      const task = this.tasks.get(index);
      if (task !== undefined && !task.done) out.push({ workerId: task.worker, waitingFor: `map task t${index}` });
      const reported = this.mergedReports.get(seq);
      for (const w of this.ctx.mergeWorkers) {
        if (reported?.has(w) !== true) out.push({ workerId: w, waitingFor: `batch ${seq + 1} merged` });
      }
      return out;
    }
    const version = this.firstVersion + this.versions.length;
    const written = this.written.get(version);
    for (const w of this.ctx.mergeWorkers) {
      if (written?.has(w) !== true) out.push({ workerId: w, waitingFor: `version ${version} written` });
    }
    return out;
  }

  private send(index: number, attempt: number): void {
    const { ctx } = this;
    const { settings } = ctx;
    const split = ctx.plan.splits[index] as (typeof ctx.plan.splits)[number];
    const worker = this.leastLoadedMapWorker();
    this.mapLoad.set(worker, (this.mapLoad.get(worker) ?? 0) + 1);
    this.tasks.set(index, { attempt, worker, done: false });
    if (!this.saltPlans.has(index)) this.saltPlans.set(index, this.skew.planFor());
    const saltPlan = this.saltPlans.get(index);
    ctx.transport.publish(
      { kind: 'worker', workerId: worker },
      encodeMessage({
        type: 'map-task',
        jobId: ctx.jobId,
        run: ctx.run,
        taskId: `t${index}`,
        attempt,
        job: ctx.ref,
        split,
        partitions: ctx.job.partitions,
        salt: settings.salt,
        owners: this.owners,
        maxFrameBytes: settings.maxFrameBytes,
        onError: settings.onError,
        ...(saltPlan !== undefined ? { saltPlan } : {}),
      }),
    );
  }

  private dispatch(): void {
    const { ctx } = this;
    const { splits } = ctx.plan;
    const { settings } = ctx;
    while (!this.finished && this.nextTask < splits.length && this.tasksInFlight < settings.maxTasksInFlight) {
      const split = splits[this.nextTask] as (typeof splits)[number];
      const firstSeq = split.batches[0]?.seq ?? 0;
      if (firstSeq >= this.lowestUnmerged + settings.maxBatchesAhead && this.tasksInFlight > 0) return;
      this.tasksInFlight++;
      this.send(this.nextTask++, 1);
    }
  }

  private leastLoadedMapWorker(): string {
    let best = this.mapWorkers[0] as string;
    for (const w of this.mapWorkers) if ((this.mapLoad.get(w) ?? 0) < (this.mapLoad.get(best) ?? 0)) best = w;
    return best;
  }

  /** Handles a message sent to the coordinator about this run. */
  onMessage(m: ProtocolMessage): void {
    if (this.finished) return;
    this.touch();
    switch (m.type) {
      case 'task-done': {
        const task = this.tasks.get(Number(m.taskId.slice(1)));
        // Only the current attempt's report counts, once.
        if (task === undefined || task.attempt !== m.attempt || task.done) return;
        task.done = true;
        this.tasksInFlight--;
        this.mapLoad.set(m.from, (this.mapLoad.get(m.from) ?? 1) - 1);
        this.skippedRecords += m.skipped;
        this.skew.onTaskDone(m);
        this.dispatch();
        this.maybeDone();
        return;
      }
      case 'task-failed': {
        const index = Number(m.taskId.slice(1));
        const task = m.attempt > 0 ? this.tasks.get(index) : undefined;
        if (m.attempt > 0 && task?.attempt !== m.attempt) return;
        // A map task cut off by the connection (a NATS restart) is not the job's fault: run it again.
        if (task !== undefined && m.error.code === ErrorCode.Transport && this.retryAfterTransportError(index)) {
          this.ctx.logger.warn('dispatching a task again', {
            jobId: this.ctx.jobId,
            task: index,
            reason: m.error.message,
          });
          this.send(index, task.attempt + 1);
          return;
        }
        void this.fail(fromWireError(m.error));
        return;
      }
      case 'batch-merged':
        if (m.seq >= this.lowestUnmerged && !this.mergedSeqs.has(m.seq) && !this.mergedReports.get(m.seq)?.has(m.from))
          this.skew.onMerged(m.from, m.pairs ?? 0);
        this.onBatchMerged(m.seq, m.records, m.from);
        return;
      case 'checkpoint-written':
        this.onCheckpointWritten(m);
        return;
      default:
        return;
    }
  }

  private onBatchMerged(seq: number, records: number, from: string): void {
    if (seq < this.lowestUnmerged || this.mergedSeqs.has(seq)) return;
    const reported = this.mergedReports.get(seq) ?? new Set<string>();
    reported.add(from);
    this.mergedReports.set(seq, reported);
    this.recordsBySeq[seq] = records;
    if (reported.size < this.ctx.mergeWorkers.length) return;
    this.mergedReports.delete(seq);
    this.mergedSeqs.add(seq);
    this.records += records;
    this.mergedLines += this.ctx.plan.batchLines[seq] ?? 0;
    while (this.mergedSeqs.has(this.lowestUnmerged)) this.mergedSeqs.delete(this.lowestUnmerged++);
    this.progress();
    this.dispatch();
  }

  private onCheckpointWritten(m: CheckpointWrittenMessage): void {
    if (this.versionsStarted.has(m.version)) return;
    const reports = this.written.get(m.version) ?? new Map<string, CheckpointWrittenMessage>();
    reports.set(m.from, m);
    this.written.set(m.version, reports);
    if (reports.size < this.ctx.mergeWorkers.length) return;
    this.written.delete(m.version);
    this.versionsStarted.add(m.version);
    const list = [...reports.values()];
    // Versions commit strictly in order.
    this.commitChain = this.commitChain.then(() => this.commit(m.version, m.throughSeq, list));
    this.commitChain.catch((e: unknown) => this.fail(e));
  }

  private async commit(version: number, throughSeq: number, reports: CheckpointWrittenMessage[]): Promise<void> {
    if (this.finished) return;
    const { ctx } = this;
    const startedMs = performance.now();
    const k = ctx.settings.checkpointEveryBatches;
    const fromSeq = ctx.job.incremental ? (version - this.firstVersion) * k : 0;
    const ids = ctx.plan.batchIds.slice(fromSeq, throughSeq + 1);
    const prev = this.versions.at(-1) ?? ctx.base;
    let records = ctx.job.incremental ? (prev?.records ?? 0) : 0;
    for (let s = fromSeq; s <= throughSeq; s++) records += this.recordsBySeq[s] ?? 0;
    const state = sumStateDigests(reports.flatMap((r) => r.digests));
    const info: VersionInfo = {
      version,
      createdAtMs: Date.now(),
      base: ctx.job.incremental ? (prev?.base ?? 0) : version,
      batches: (ctx.job.incremental ? (prev?.batches ?? 0) : 0) + ids.length,
      records,
      keys: reports.reduce((n, r) => n + r.keyCounts.reduce((a, b) => a + b, 0), 0),
      label: `${ctx.jobId}: batches ${fromSeq + 1}–${throughSeq + 1} of ${this.total}`,
      hash: state.hash,
      bytes: state.bytes,
    };
    // Fencing and the copies' manifest: only copies made under this run's leases become committed.
    await ctx.leases?.record(version, reports);
    await ctx.record.saveVersionBatches(version, ids);
    const last = version === this.firstVersion + this.versionCount - 1;
    await Promise.all(
      ctx.mergeWorkers.map(async (worker) => {
        const message = encodeMessage({
          type: 'commit-version',
          jobId: ctx.jobId,
          jobName: ctx.job.name,
          run: ctx.run,
          last,
          ...pick(info),
          keepVersions: ctx.settings.keepVersions,
        });
        await this.idempotentRequest(worker, message, `committing version ${version} on merge worker ${worker}`);
      }),
    );
    if (((await ctx.store.latestVersion(ctx.job.name))?.version ?? 0) < version) {
      await ctx.store.commitVersion(ctx.job.name, info);
    }
    await pruneVersions(ctx.store, ctx.job.name, ctx.settings.keepVersions);
    this.deadLetterCount += reports.reduce((n, r) => n + r.deadLetters, 0);
    this.versions.push(info);
    ctx.metrics?.observe('mrm_commit_duration_seconds', (performance.now() - startedMs) / 1000, { job: ctx.job.name });
    this.progress();
    if (last) this.lastCommitted = true;
    this.maybeDone();
  }

  /**
   * Sends an idempotent request to a merge worker and checks its ack; sends it again when
   * {@link redispatch} says messages may have been lost (a request or its reply lost in a NATS
   * restart would otherwise wait out the whole timeout and fail the run).
   */
  private async idempotentRequest(worker: string, message: Uint8Array, what: string): Promise<void> {
    const deadline = Date.now() + this.ctx.settings.requestTimeoutMs;
    for (;;) {
      const { signal } = this.lostMessages;
      try {
        const reply = await this.ctx.transport.request({ kind: 'worker', workerId: worker }, message, {
          timeoutMs: Math.max(1, deadline - Date.now()),
          signal,
        });
        expectAck(reply, what);
        return;
      } catch (e) {
        if (!signal.aborted || this.finished || Date.now() >= deadline) throw lostIfGone(e, worker);
      }
    }
  }

  /** A run is done when its last version is committed and every map task has reported. */
  private maybeDone(): void {
    if (this.finished || !this.lastCommitted) return;
    if (this.tasksInFlight > 0 || this.nextTask < this.ctx.plan.splits.length) return;
    this.finished = true;
    this.resolveDone(this.versions);
  }

  private progress(): void {
    this.ctx.onProgress?.({
      jobId: this.ctx.jobId,
      totalBatches: this.total,
      mergedBatches: this.lowestUnmerged,
      totalLines: this.ctx.plan.batchLines.reduce((a, b) => a + b, 0),
      mergedLines: this.mergedLines,
      records: this.records,
      versions: this.versions,
    });
  }

  /**
   * Ends the run after a merge worker was lost, keeping every version it committed: map workers
   * stop, the surviving merge workers close the run when the next one starts (run-start discards
   * above the last committed version), and so does the coordinator's own store now.
   */
  private async stopAfterLoss(error: MrmError): Promise<void> {
    const { ctx } = this;
    // A commit waiting on the lost worker's reply would wait out the whole request timeout.
    this.lostMessages.abort(error);
    await this.commitChain.catch(() => {});
    const committed = (await ctx.store.latestVersion(ctx.job.name))?.version ?? 0;
    ctx.logger.warn('merge worker lost; the run stops after its last committed version', {
      jobId: ctx.jobId,
      committed,
      reason: error.message,
    });
    const abort = encodeMessage({
      type: 'run-abort',
      jobId: ctx.jobId,
      run: ctx.run,
      rollbackTo: committed,
      reason: error.message,
    });
    for (const w of this.mapWorkers) ctx.transport.publish({ kind: 'worker', workerId: w }, abort);
    try {
      await ctx.store.discardAbove(ctx.job.name, committed);
      await ctx.record.forgetAbove(committed);
    } catch (e) {
      ctx.logger.error('forgetting uncommitted versions failed', { jobId: ctx.jobId, error: String(e) });
    }
    this.rejectDone(error);
  }

  /**
   * Stops the run and rolls every merge worker back to the version the run started from, or, with
   * `keepCommitted` (a cancel), to the last version this run committed.
   */
  async fail(error: unknown, keepCommitted = false): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    if (error instanceof MrmError && error.code === ErrorCode.WorkerLost) {
      await this.stopAfterLoss(error);
      return;
    }
    const { ctx } = this;
    const reason = error instanceof Error ? error.message : String(error);
    const stop: MessageBody = { type: 'run-abort', jobId: ctx.jobId, run: ctx.run, rollbackTo: 0, reason };
    for (const w of this.mapWorkers) ctx.transport.publish({ kind: 'worker', workerId: w }, encodeMessage(stop));
    try {
      // A commit under way finishes first: what it committed is kept by a cancel.
      await this.commitChain.catch(() => {});
      const rollbackTo = (keepCommitted ? this.versions.at(-1)?.version : undefined) ?? ctx.base?.version ?? 0;
      ctx.logger.warn(keepCommitted ? 'run cancelled' : 'run failed; rolling back', {
        jobId: ctx.jobId,
        rollbackTo,
        reason,
      });
      const abort: MessageBody = { ...stop, rollbackTo };
      await Promise.all(
        ctx.mergeWorkers
          .filter((w) => !this.lostWorkers.has(w))
          .map(async (worker) => {
            const reply = await ctx.transport.request({ kind: 'worker', workerId: worker }, encodeMessage(abort), {
              timeoutMs: ctx.settings.requestTimeoutMs,
            });
            expectAck(reply, `rolling back merge worker ${worker}`);
          }),
      );
      await ctx.store.discardAbove(ctx.job.name, rollbackTo);
      await ctx.record.forgetAbove(rollbackTo);
    } catch (e) {
      ctx.logger.error('rollback failed', { jobId: ctx.jobId, error: String(e) });
      this.rejectDone(
        new MrmError(ErrorCode.State, `${reason} (and rolling back failed: ${String(e)})`, { cause: error }),
      );
      return;
    }
    this.rejectDone(error);
  }
}

/** A request to a merge worker that nobody answers any more: the worker is gone. */
function lostIfGone(e: unknown, worker: string): unknown {
  if (e instanceof MrmError && e.code === ErrorCode.Timeout && e.details?.noResponders === true) {
    return new MrmError(ErrorCode.WorkerLost, `merge worker ${worker} does not answer (its process is gone)`, {
      cause: e,
      details: { workerId: worker },
    });
  }
  return e;
}

/** The error a run ends with when a merge worker is lost. */
function mergeWorkerLost(worker: string, job: string): MrmError {
  return new MrmError(ErrorCode.WorkerLost, `merge worker ${worker} stopped answering during a run of job '${job}'`, {
    details: { workerId: worker },
  });
}

function pick(info: VersionInfo) {
  const { version, base, batches, records, keys, label, hash, bytes } = info;
  return { version, base, batches, records, keys, label, hash, bytes };
}
