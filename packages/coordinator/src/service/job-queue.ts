/** Submitted jobs waiting to run: highest priority first, then in order of submission. */
import type { SubmitRequest } from '@mrm/core';

/** A queued submission. */
export interface QueuedJob {
  readonly request: SubmitRequest;
  readonly submittedAtMs: number;
  readonly order: number;
}

/** A small priority queue (jobs are few; a sorted array is plenty). */
export class JobQueue {
  private readonly items: QueuedJob[] = [];
  private counter = 0;

  /** Adds a submission. */
  push(request: SubmitRequest, submittedAtMs: number): QueuedJob {
    const item = { request, submittedAtMs, order: this.counter++ };
    this.items.push(item);
    this.items.sort(
      (a, b) => (b.request.options.priority ?? 0) - (a.request.options.priority ?? 0) || a.order - b.order,
    );
    return item;
  }

  /** Takes the next job to run. */
  shift(): QueuedJob | undefined {
    return this.items.shift();
  }

  /** The queued job with this id. */
  find(jobId: string): QueuedJob | undefined {
    return this.items.find((i) => i.request.jobId === jobId);
  }

  /** Takes the queued job with this id out of the queue. */
  remove(jobId: string): QueuedJob | undefined {
    const i = this.items.findIndex((item) => item.request.jobId === jobId);
    return i < 0 ? undefined : this.items.splice(i, 1)[0];
  }

  /** Everything queued, in run order. */
  list(): readonly QueuedJob[] {
    return this.items;
  }

  get size(): number {
    return this.items.length;
  }
}
