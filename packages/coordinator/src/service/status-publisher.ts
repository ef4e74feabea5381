/**
 * Job status out: saved to the history on every state change, published as a `job-event` on the
 * job's events channel — progress events at most every {@link PROGRESS_EVENT_EVERY_MS}.
 */
import { type Clock, encodeApi, type JobStatus, type Transport } from '@mrm/core';
import type { JobHistory } from './job-history.js';

/** Progress events of one job are at least this far apart (state changes always go out). */
export const PROGRESS_EVENT_EVERY_MS = 200;

/** Saves and publishes job status. */
export class StatusPublisher {
  private lastEventMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly transport: Transport,
    private readonly history: JobHistory,
    private readonly clock: Clock,
  ) {}

  /** Saves (on a state change) and publishes `status`; a progress event too soon after the last is dropped. */
  async publish(status: JobStatus, stateChanged: boolean): Promise<void> {
    const now = this.clock.nowMs();
    if (!stateChanged && now - this.lastEventMs < PROGRESS_EVENT_EVERY_MS) return;
    this.lastEventMs = now;
    if (stateChanged) await this.history.save(status);
    this.transport.publish({ kind: 'events', jobId: status.jobId }, encodeApi({ type: 'job-event', status }));
  }
}
