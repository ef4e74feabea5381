/**
 * A pool of worker threads running map tasks, one task per thread at a time. Batches flow back
 * one at a time per thread (the thread waits for an ack), so a slow consumer slows the threads
 * down instead of piling up output.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ErrorCode, fromWireError, type MapTask, MrmError } from '@mrm/core';
import type { MapExecutor } from './map-executor.js';
import type { BatchOutput, MapTaskTotals } from './map-task-runner.js';
import type { FromThread, ToThread } from './thread-protocol.js';

/** Options of {@link ThreadPoolMapExecutor}. */
export interface ThreadPoolOptions {
  /** Threads (default: available cores). */
  readonly threads?: number;
  /** Id stamped on frames (the map worker's id). */
  readonly workerId: string;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

function startThread(): Worker {
  const worker = new Worker(new URL('./map-thread.js', import.meta.url));
  worker.unref();
  return worker;
}

/** Runs map tasks on worker threads. */
export class ThreadPoolMapExecutor implements MapExecutor {
  readonly concurrency: number;
  private readonly slots: Slot[];
  private readonly waiters: Array<(slot: Slot) => void> = [];
  private closed = false;

  private constructor(
    slots: Slot[],
    threads: number,
    private readonly workerId: string,
  ) {
    this.slots = slots;
    this.concurrency = threads;
  }

  /**
   * Starts one thread now (it loads while the run is planned); the others start only when a task
   * finds every started thread busy. A run of one small task (an increment of one batch) then
   * never pays for starting and loading threads it would not use (decisions/0032).
   */
  static create(options: ThreadPoolOptions): ThreadPoolMapExecutor {
    const threads = Math.max(1, options.threads ?? availableParallelism());
    return new ThreadPoolMapExecutor([{ worker: startThread(), busy: false }], threads, options.workerId);
  }

  /**
   * A free thread, or the next one to free up. A task aborted while it waits leaves the queue at
   * once: it never runs (its abort listener would not fire for a signal aborted before it started,
   * and it could then wait for credit from a merge worker that is gone, holding its thread for good).
   */
  /** Threads started so far (at most {@link concurrency}). */
  get startedThreads(): number {
    return this.slots.length;
  }

  /**
   * Starts every thread not started yet, so they load while the caller still plans: for a run
   * known to have several tasks, the second thread is then ready when its first task comes instead
   * of loading only then (decisions/0057). Does nothing once closed.
   */
  startAll(): void {
    if (this.closed) return;
    while (this.slots.length < this.concurrency) this.slots.push({ worker: startThread(), busy: false });
  }

  private acquire(signal?: AbortSignal): Promise<Slot> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const free = this.slots.find((s) => !s.busy);
    if (free !== undefined) {
      free.busy = true;
      return Promise.resolve(free);
    }
    if (this.slots.length < this.concurrency) {
      const started = { worker: startThread(), busy: true };
      this.slots.push(started);
      return Promise.resolve(started);
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(take);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortReason(signal));
      };
      const take = (slot: Slot) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(slot);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(take);
    });
  }

  private release(slot: Slot): void {
    const next = this.waiters.shift();
    if (next !== undefined) next(slot);
    else slot.busy = false;
  }

  async run(
    task: MapTask,
    onBatch: (output: BatchOutput) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<MapTaskTotals> {
    if (this.closed) throw new MrmError(ErrorCode.Aborted, 'map executor is closed');
    const slot = await this.acquire(signal);
    const { worker } = slot;
    const send = (m: ToThread) => worker.postMessage(m);
    // A task that fails on the thread itself (user code) leaves the thread usable: only a failure
    // on this side (abort, a rejected onBatch) replaces it.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.release(slot);
    };
    const accepted: Promise<void>[] = [];
    try {
      // Aborted between getting the thread and now: its abort listener below would never fire.
      if (signal?.aborted) throw abortReason(signal);
      const totals = await new Promise<MapTaskTotals>((resolve, reject) => {
        let failed = false;
        const fail = (e: unknown) => {
          if (failed) return;
          failed = true;
          cleanup();
          if (!released) {
            // A thread stopped mid-task may still be running user code: replace it.
            void worker.terminate();
            slot.worker = startThread();
            release();
          }
          reject(e);
        };
        const onAbort = () => fail(abortReason(signal));
        const onMessage = (m: FromThread) => {
          if (failed) return;
          if (m.kind === 'batch') {
            const done = onBatch(m.output).then(() => {
              if (!failed && !released) send({ kind: 'ack' });
            });
            done.catch(fail);
            accepted.push(done);
          } else if (m.kind === 'done') {
            cleanup();
            // The thread is free now; its last output may still be on its way out (see below).
            release();
            resolve(m.totals);
          } else {
            failed = true;
            cleanup();
            release();
            reject(fromWireError(m.error));
          }
        };
        const onError = (e: Error) =>
          fail(new MrmError(ErrorCode.Internal, `map thread crashed: ${e.message}`, { cause: e }));
        const cleanup = () => {
          worker.off('message', onMessage);
          worker.off('error', onError);
          signal?.removeEventListener('abort', onAbort);
        };
        worker.on('message', onMessage);
        worker.on('error', onError);
        signal?.addEventListener('abort', onAbort, { once: true });
        send({ kind: 'task', task, workerId: this.workerId });
      });
      // The task is done when every batch it produced has been accepted downstream.
      await Promise.all(accepted);
      return totals;
    } finally {
      release();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new MrmError(ErrorCode.Aborted, 'map task aborted');
}
