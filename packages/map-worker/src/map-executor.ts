/**
 * Where map tasks execute: inline on the calling thread, or on a pool of worker threads so every
 * core runs user code. Either way the output arrives batch by batch through `onBatch`, and the
 * executor does not run more than one batch ahead of what `onBatch` has accepted.
 */
import type { JobLoader, MapTask } from '@mrm/core';
import { type BatchOutput, type MapTaskTotals, runMapTask } from './map-task-runner.js';

/** Runs map tasks. */
export interface MapExecutor {
  /** Tasks that can run at once. */
  readonly concurrency: number;
  run(task: MapTask, onBatch: (output: BatchOutput) => Promise<void>, signal?: AbortSignal): Promise<MapTaskTotals>;
  close(): Promise<void>;
}

/** Runs tasks on the calling thread (tests, and workers that want no threads). */
export class InlineMapExecutor implements MapExecutor {
  readonly concurrency = 1;
  constructor(
    private readonly loadJob: JobLoader,
    private readonly workerId: string,
  ) {}

  async run(task: MapTask, onBatch: (output: BatchOutput) => Promise<void>, signal?: AbortSignal) {
    const job = await this.loadJob(task.job);
    return runMapTask(task, job, this.workerId, onBatch, signal);
  }

  async close(): Promise<void> {}
}
