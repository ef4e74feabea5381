/**
 * Map task dispatch of one run: sends tasks to the least loaded map worker within the window
 * (`maxTasksInFlight` tasks, and never more than `maxBatchesAhead` batches past the lowest batch
 * not yet merged everywhere), counts each task's current attempt, and sends a task again as a new
 * attempt when its worker is lost, when messages may have been lost, or when the transport cut it.
 */
import {
  ErrorCode,
  encodeMessage,
  type OwnersUnknownMessage,
  ownersKeyOf,
  type SaltPlan,
  type SplitRef,
  type TaskDoneMessage,
  type TaskFailedMessage,
  traceStage,
  type WireError,
} from '@mrm/core';
import { LeastLoaded } from './least-loaded.js';
import type { MergeTracker } from './merge-tracker.js';
import type { JobRunContext } from './run-context.js';

/** Times one map task is run again after failing on the transport before the run fails. */
export const MAX_TRANSPORT_RETRIES = 3;

/** A dispatched task: its current attempt, its worker, and whether that attempt reported done. */
interface DispatchedTask {
  attempt: number;
  worker: string;
  done: boolean;
}

/** What a `task-failed` report means for the run. */
export type TaskFailure =
  /** About an attempt that is not current: nothing to do. */
  | { readonly kind: 'stale' }
  /** Cut off by the transport: dispatched again. */
  | { readonly kind: 'retried' }
  /** The run must fail with this error. */
  | { readonly kind: 'fatal'; readonly error: WireError };

/** True for a failure worth running the task again: the transport cut it, not the job's code or input. */
export function isRetryable(error: WireError): boolean {
  return error.code === ErrorCode.Transport && error.unrecoverable !== true;
}

/** Dispatches a run's map tasks. */
export class TaskDispatcher {
  /** Map workers still taking tasks (a lost one is removed). */
  private readonly workers: string[];
  /** Their tasks in flight (current attempts not reported done). */
  private readonly load: LeastLoaded;
  private readonly tasks = new Map<number, DispatchedTask>();
  private readonly transportRetries = new Map<number, number>();
  /** Per task: the salt plan of its first dispatch (every attempt salts the same way). */
  private readonly saltPlans = new Map<number, SaltPlan | undefined>();
  /** The owners' generation key, sent with every task. */
  private readonly ownersKey: number;
  /**
   * Map workers sent the owners in this run (the owners go with the next task to any other, so a
   * task costs the same whatever the number of partitions and merge workers; decisions/0058).
   */
  private readonly ownersSent = new Set<string>();
  private nextTask = 0;
  private inFlight = 0;
  /** Batches of the tasks dispatched so far (a counter: an open run's tasks only grow). */
  private batchesDispatched = 0;
  private skippedRecords = 0;

  constructor(
    private readonly ctx: JobRunContext,
    private readonly owners: readonly string[],
    private readonly merged: MergeTracker,
    /** The salt plan for a task dispatched now (the run's skew tracker decides). */
    private readonly planSalt: () => SaltPlan | undefined = () => undefined,
  ) {
    this.workers = [...ctx.mapWorkers];
    this.load = new LeastLoaded(this.workers);
    this.ownersKey = ownersKeyOf(owners);
  }

  /** Records skipped by map (`onError: 'skip'`), as the tasks' current attempts reported. */
  get skipped(): number {
    return this.skippedRecords;
  }

  /** Tasks dispatched and not reported done. */
  get tasksInFlight(): number {
    return this.inFlight;
  }

  /** True when every task was dispatched and its current attempt reported done. */
  get allReported(): boolean {
    return this.inFlight === 0 && this.nextTask >= this.ctx.plan.splits.length;
  }

  /** Batches of the tasks dispatched so far. */
  get dispatchedBatches(): number {
    return this.batchesDispatched;
  }

  /** Dispatches tasks until the window is full. */
  fill(): void {
    const { splits } = this.ctx.plan;
    const { maxTasksInFlight, maxBatchesAhead } = this.ctx.settings;
    while (this.nextTask < splits.length && this.inFlight < maxTasksInFlight) {
      const split = splits[this.nextTask] as SplitRef;
      const firstSeq = split.batches[0]?.seq ?? 0;
      if (firstSeq >= this.merged.lowestUnmerged + maxBatchesAhead && this.inFlight > 0) return;
      this.inFlight++;
      this.batchesDispatched += split.batches.length;
      this.send(this.nextTask++, 1);
    }
  }

  /** Takes a `task-done`; true when it was the current attempt's first report. */
  onTaskDone(m: TaskDoneMessage): boolean {
    const task = this.tasks.get(taskIndex(m.taskId));
    // Only the current attempt's report counts, once.
    if (task === undefined || task.attempt !== m.attempt || task.done) return false;
    task.done = true;
    this.inFlight--;
    this.load.decrement(task.worker);
    this.skippedRecords += m.skipped;
    return true;
  }

  /** Takes a `task-failed` (attempt 0: a failure outside map tasks, always fatal). */
  onTaskFailed(m: TaskFailedMessage): TaskFailure {
    const index = taskIndex(m.taskId);
    const task = m.attempt > 0 ? this.tasks.get(index) : undefined;
    if (m.attempt > 0 && task?.attempt !== m.attempt) return { kind: 'stale' };
    if (task !== undefined && isRetryable(m.error) && this.retryAfterTransportError(index)) {
      this.ctx.logger.warn('dispatching a task again', { jobId: this.ctx.jobId, task: index, reason: m.error.message });
      this.send(index, task.attempt + 1);
      return { kind: 'retried' };
    }
    return { kind: 'fatal', error: m.error };
  }

  /**
   * Takes an `owners-unknown`: the map worker had no owners for the task (it restarted, or the task
   * that carried them was lost), so the task goes again, as a new attempt, with the owners to
   * whichever worker is picked. About an attempt that is not current, or done: nothing.
   */
  onOwnersUnknown(m: OwnersUnknownMessage): void {
    const index = taskIndex(m.taskId);
    const task = this.tasks.get(index);
    this.ownersSent.delete(m.from);
    if (task === undefined || task.attempt !== m.attempt || task.done) return;
    this.ctx.logger.info('dispatching a task again with the partition owners', {
      jobId: this.ctx.jobId,
      task: index,
      worker: m.from,
    });
    this.send(index, task.attempt + 1);
  }

  /**
   * Dispatches again, as new attempts, every task that has not reported done or whose batches are
   * not merged everywhere (a task whose batches are merged but whose task-done was lost must run
   * again too: the run ends only when every task has reported; merge workers drop its frames).
   */
  redispatchUnfinished(reason: string): void {
    // Messages may have been lost, the task that carried the owners among them.
    this.ownersSent.clear();
    for (const [index, task] of this.tasks) {
      const split = this.ctx.plan.splits[index];
      if (split === undefined || (task.done && this.merged.splitMerged(split))) continue;
      this.ctx.logger.warn('dispatching a task again', { jobId: this.ctx.jobId, task: index, reason });
      this.resend(index, task);
    }
  }

  /** A map worker is lost: its tasks not merged everywhere go to the others. Returns the workers left. */
  removeWorker(workerId: string): number {
    const i = this.workers.indexOf(workerId);
    if (i < 0) return this.workers.length;
    this.workers.splice(i, 1);
    this.load.remove(workerId);
    if (this.workers.length === 0) return 0;
    for (const [index, task] of this.tasks) {
      const split = this.ctx.plan.splits[index];
      if (task.worker !== workerId || split === undefined || this.merged.splitMerged(split)) continue;
      this.resend(index, task);
    }
    return this.workers.length;
  }

  /** Who runs the current attempt of task `index`, and whether it reported done (undefined: not dispatched yet). */
  taskOf(index: number): { readonly worker: string; readonly done: boolean } | undefined {
    return this.tasks.get(index);
  }

  /** Map workers still taking tasks. */
  get liveWorkers(): readonly string[] {
    return this.workers;
  }

  private resend(index: number, task: DispatchedTask): void {
    if (task.done) this.inFlight++;
    this.send(index, task.attempt + 1);
  }

  /** True while task `index` may be retried after another transport failure (a few times at most). */
  private retryAfterTransportError(index: number): boolean {
    const n = (this.transportRetries.get(index) ?? 0) + 1;
    this.transportRetries.set(index, n);
    return n <= MAX_TRANSPORT_RETRIES;
  }

  private send(index: number, attempt: number): void {
    const { ctx } = this;
    const { settings } = ctx;
    const split = ctx.plan.splits[index] as SplitRef;
    // The attempt this one supersedes no longer counts on its worker.
    const previous = this.tasks.get(index);
    if (previous !== undefined && !previous.done) this.load.decrement(previous.worker);
    const worker = this.load.pick() as string;
    this.load.increment(worker);
    this.tasks.set(index, { attempt, worker, done: false });
    if (!this.saltPlans.has(index)) this.saltPlans.set(index, this.planSalt());
    const saltPlan = this.saltPlans.get(index);
    const withOwners = !this.ownersSent.has(worker);
    if (withOwners) this.ownersSent.add(worker);
    traceStage(ctx.logger, 'coord.dispatch', { jobId: ctx.jobId, task: index, attempt });
    ctx.transport.publish(
      { kind: 'worker', workerId: worker },
      encodeMessage({
        type: 'map-task',
        jobId: ctx.jobId,
        run: ctx.run,
        taskId: taskIdOf(index),
        attempt,
        job: ctx.ref,
        split,
        partitions: ctx.job.partitions,
        salt: settings.salt,
        ownersKey: this.ownersKey,
        ...(withOwners ? { owners: this.owners } : {}),
        maxFrameBytes: settings.maxFrameBytes,
        onError: settings.onError,
        ...(saltPlan !== undefined ? { saltPlan } : {}),
      }),
    );
  }
}

/** The task id of split `index` (`t<index>`). */
export function taskIdOf(index: number): string {
  return `t${index}`;
}

function taskIndex(taskId: string): number {
  return Number(taskId.slice(1));
}
