/**
 * The map worker role: takes map tasks from the coordinator, runs them on its executor, and
 * pushes each batch's frames straight to the merge workers owning the partitions, spending
 * credit for every payload. Reports each task's outcome to the coordinator.
 */
import {
  type Channel,
  decodeMessage,
  ErrorCode,
  encodeMessage,
  type MapTask,
  MrmError,
  type RoleState,
  runKey,
  type Subscription,
  splitPayload,
  toWireError,
  traceStage,
} from '@mrm/core';
import { CreditGate, type CreditStats } from './credit-gate.js';
import type { BatchOutput } from './map-task-runner.js';
import { type MapWorkerOptions, type ResolvedMapWorkerOptions, resolveMapWorkerOptions } from './map-worker-options.js';
import { TaskOwners } from './task-owners.js';
import { TaskReports } from './task-reports.js';

/** Counters of a map worker. */
export interface MapWorkerStats extends CreditStats {
  readonly tasks: number;
  readonly framesPushed: number;
  readonly bytesPushed: number;
}

/** Runs map tasks and pushes their output. */
export class MapWorker {
  private readonly options: ResolvedMapWorkerOptions;
  private readonly credits: CreditGate;
  private readonly subscriptions: Subscription[] = [];
  private readonly running = new Map<string, AbortController>();
  /** Partition owners per job, as the first task of a run brought them. */
  private readonly owners = new TaskOwners();
  /** Reports to the coordinator, task-done coalesced per event-loop turn. */
  private readonly reports: TaskReports;
  /** Tasks in progress (what `drain` waits for). */
  private readonly tasksRunning = new Set<Promise<void>>();
  private unlisten: (() => void) | undefined;
  private partCounter = 0;
  private tasks = 0;
  private framesPushed = 0;
  private bytesPushed = 0;
  private lifecycle: RoleState = 'created';

  constructor(options: MapWorkerOptions) {
    this.options = resolveMapWorkerOptions(options);
    this.credits = new CreditGate(this.options.creditWindowBytes);
    this.reports = new TaskReports(
      (body) => this.options.transport.publish({ kind: 'coordinator' }, encodeMessage(body)),
      (e) => this.options.logger.warn('could not report finished tasks', { error: String(e) }),
    );
  }

  /** Where the worker is in its lifecycle. */
  get state(): RoleState {
    return this.lifecycle;
  }

  /** Worker id. */
  get id(): string {
    return this.options.id;
  }

  /** Subscribes to tasks and credits. */
  start(): void {
    if (this.lifecycle !== 'created')
      throw new MrmError(ErrorCode.State, `cannot start a map worker that is ${this.lifecycle}`);
    const { transport, id } = this.options;
    this.subscriptions.push(
      transport.subscribe({ kind: 'worker', workerId: id }, (payload) => this.onControl(payload)),
      transport.subscribe({ kind: 'credits', workerId: id }, this.onCredit),
      transport.subscribe({ kind: 'broadcast' }, this.onCredit),
    );
    this.unlisten = transport.onStateChange((state) => {
      if (state === 'connected') this.credits.resetAll();
    });
    this.lifecycle = 'running';
  }

  /** Credit granted back by a merge worker, or voided by its restart. */
  private onCredit = (payload: Uint8Array): void => {
    let m: ReturnType<typeof decodeMessage>;
    try {
      m = decodeMessage(payload);
    } catch {
      return; // not ours (another encoding on the broadcast channel) or garbage
    }
    if (m.type === 'credit') this.credits.grant(m.from, m.bytes);
    else if (m.type === 'credit-reset') this.credits.reset(m.from);
  };

  private onControl(payload: Uint8Array): void {
    let m: ReturnType<typeof decodeMessage>;
    try {
      m = decodeMessage(payload);
    } catch (e) {
      this.options.logger.warn('dropped an undecodable control message', { error: String(e) });
      return;
    }
    if (m.type === 'map-task') {
      traceStage(this.options.logger, 'map.task', { jobId: m.jobId, task: m.taskId });
      if (this.lifecycle !== 'running') {
        this.options.logger.info('refused a task while draining', { jobId: m.jobId, task: m.taskId });
        return;
      }
      // Resolved on arrival, in order: the task that carries a run's owners comes before the others.
      const task = this.owners.resolve(m);
      if (task !== undefined) {
        void this.runTask(task);
        return;
      }
      this.options.logger.info('asked for the owners of a task', { jobId: m.jobId, task: m.taskId });
      this.report({
        type: 'owners-unknown',
        jobId: m.jobId,
        run: m.run,
        taskId: m.taskId,
        attempt: m.attempt,
        from: this.options.id,
      });
    } else if (m.type === 'run-abort') {
      for (const [taskId, ac] of this.running) {
        if (taskId.startsWith(`${runKey(m.jobId, m.run)}/`)) ac.abort(new MrmError(ErrorCode.Aborted, m.reason));
      }
    }
  }

  private async runTask(task: MapTask): Promise<void> {
    const work = this.doRunTask(task);
    this.tasksRunning.add(work);
    await work;
    this.tasksRunning.delete(work);
  }

  private async doRunTask(task: MapTask): Promise<void> {
    const { transport, executor, logger, id } = this.options;
    const prefix = `${runKey(task.jobId, task.run)}/${task.taskId}#`;
    // A newer attempt of the same task supersedes the one still running here.
    for (const [k, old] of this.running) {
      if (k.startsWith(prefix)) old.abort(new MrmError(ErrorCode.Aborted, 'superseded by a newer attempt'));
    }
    // So does a newer run of the same job: the coordinator that ran the older one may be gone
    // (never sending its run-abort), and its tasks may wait forever for credit from a dead owner.
    const jobPrefix = `${task.jobId}/`;
    for (const [k, old] of this.running) {
      if (!k.startsWith(jobPrefix)) continue;
      const run = Number(k.slice(jobPrefix.length, k.indexOf('/', jobPrefix.length)));
      if (run < task.run) old.abort(new MrmError(ErrorCode.Aborted, 'superseded by a newer run'));
    }
    const key = `${prefix}${task.attempt}`;
    const ac = new AbortController();
    this.running.set(key, ac);
    const log = logger.child({ jobId: task.jobId, task: task.taskId, worker: id });
    try {
      const runnable = await this.options.prepareTask(task);
      traceStage(logger, 'map.prepared', { jobId: task.jobId, task: task.taskId });
      const totals = await executor.run(runnable, (output) => this.push(task, output, ac.signal), ac.signal);
      traceStage(logger, 'map.pushed', { jobId: task.jobId, task: task.taskId });
      await transport.flush();
      this.tasks++;
      this.options.metrics.add('mrm_map_tasks_total', 1, { job: task.job.name });
      this.reports.done({
        type: 'task-done',
        jobId: task.jobId,
        run: task.run,
        taskId: task.taskId,
        attempt: task.attempt,
        records: totals.records,
        skipped: totals.skipped,
        from: id,
        pairs: totals.pairs,
        heavy: totals.heavy,
        ...(totals.salting !== undefined ? { salting: totals.salting } : {}),
      });
    } catch (e) {
      if (ac.signal.aborted) return log.debug('task aborted');
      log.warn('task failed', { error: String(e) });
      this.report({
        type: 'task-failed',
        jobId: task.jobId,
        run: task.run,
        taskId: task.taskId,
        attempt: task.attempt,
        error: toWireError(e),
        from: id,
      });
    } finally {
      this.running.delete(key);
    }
  }

  private report(message: Parameters<typeof encodeMessage>[0]): void {
    this.reports.other(message);
  }

  /** Counts a batch's records, input bytes and pairs. */
  private countBatch(task: MapTask, output: BatchOutput): void {
    const { metrics } = this.options;
    const labels = { job: task.job.name };
    const batches = task.split.batches;
    const i = batches.findIndex((b) => b.seq === output.seq);
    const start = i > 0 ? (batches[i - 1]?.endOffset ?? 0) : task.split.startOffset;
    metrics.add('mrm_records_read_total', output.records, labels);
    if (i >= 0) metrics.add('mrm_bytes_read_total', (batches[i]?.endOffset ?? start) - start, labels);
    let pairs = 0;
    let bytes = 0;
    for (const part of output.partitions) {
      pairs += part.pairs;
      for (const frame of part.frames) bytes += frame.byteLength;
    }
    metrics.add('mrm_pairs_pushed_total', pairs, labels);
    metrics.add('mrm_bytes_pushed_total', bytes, labels);
  }

  /** Pushes one batch: every partition's frames, then its end marker, spending credit. */
  private async push(task: MapTask, output: BatchOutput, signal: AbortSignal): Promise<void> {
    this.countBatch(task, output);
    traceStage(this.options.logger, 'map.batch-out', { jobId: task.jobId, task: task.taskId });
    for (let i = 0; i < output.partitions.length; i++) {
      const part = output.partitions[i];
      const marker = output.markers[i];
      if (part === undefined || marker === undefined) continue;
      const owner = task.owners[part.partition];
      if (owner === undefined) throw new MrmError(ErrorCode.Protocol, `no owner for partition ${part.partition}`);
      const channel: Channel = { kind: 'frames', workerId: owner };
      for (const frame of part.frames) await this.send(channel, owner, frame, signal);
      await this.send(channel, owner, marker, signal);
    }
  }

  private async send(channel: Channel, owner: string, payload: Uint8Array, signal: AbortSignal): Promise<void> {
    const { transport, id } = this.options;
    const wait = this.credits.acquire(owner, payload.byteLength, signal);
    if (wait !== undefined) {
      const started = performance.now();
      this.options.metrics.add('mrm_credit_waits_total', 1);
      await wait;
      this.options.metrics.add('mrm_credit_wait_seconds_total', (performance.now() - started) / 1000);
    }
    // Nothing writes to a frame or marker after it is sent (encoder output, which the encoder never
    // writes over, or a buffer transferred from a map thread): no copy of it before the socket write.
    for (const piece of splitPayload(payload, transport.maxPayloadBytes, `${id}:${this.partCounter++}`)) {
      transport.publish(channel, piece, { handOver: true });
    }
    this.framesPushed++;
    this.bytesPushed += payload.byteLength;
  }

  /** What the worker is doing now, for heartbeats (the watchdog names it when a job stalls). */
  phase(): string {
    const waiting = this.credits.waitingFor();
    if (waiting.length > 0) return `waiting for credit from ${waiting.join(', ')}`;
    if (this.running.size === 0) return 'idle';
    const tasks = [...this.running.keys()].map((k) => k.slice(k.lastIndexOf('/') + 1, k.lastIndexOf('#')));
    return `mapping task ${tasks.join(', ')}`;
  }

  /** Counters for metrics. */
  stats(): MapWorkerStats {
    return {
      ...this.credits.stats(),
      tasks: this.tasks,
      framesPushed: this.framesPushed,
      bytesPushed: this.bytesPushed,
    };
  }

  /**
   * Takes no new task and resolves when the running ones have finished and reported (a task sent
   * meanwhile is left for the coordinator to dispatch again elsewhere).
   */
  async drain(): Promise<void> {
    if (this.lifecycle === 'running') this.lifecycle = 'draining';
    while (this.tasksRunning.size > 0) await Promise.allSettled([...this.tasksRunning]);
    this.reports.flush();
  }

  /** Stops taking tasks, aborts running ones, and closes the executor. */
  async close(): Promise<void> {
    if (this.lifecycle === 'closed') return;
    this.lifecycle = 'closed';
    try {
      this.reports.flush(); // tasks that finished this turn are reported before the worker goes
    } catch (e) {
      this.options.logger.warn('could not report finished tasks', { error: String(e) });
    }
    this.unlisten?.();
    for (const s of this.subscriptions) s.unsubscribe();
    for (const ac of this.running.values()) ac.abort(new MrmError(ErrorCode.Aborted, 'map worker closing'));
    // Aborted tasks settle quickly (they report nothing); wait for them before the executor goes.
    await Promise.allSettled([...this.tasksRunning]);
    await this.options.executor.close();
  }
}
