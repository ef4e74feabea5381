/**
 * The watchdog: a running job whose progress has not moved for `stallMs` gets a warning naming
 * the worker it waits for and what that worker reports doing (waiting for credit, merging batch
 * n, checkpointing, restoring), in the log, in status and on the dashboard, instead of silence.
 */
import type { Clock, JobProgress, JobStall, Logger, Metrics } from '@mrm/core';
import { DEFAULT_WATCHDOG_MS } from '../defaults.js';
import type { RunBlocker } from '../run/job-run.js';

export { DEFAULT_WATCHDOG_MS };

/** What the watchdog reads of the running job. */
export interface WatchedJob {
  readonly jobId: string;
  readonly name: string;
  readonly progress: JobProgress | undefined;
  /** Versions committed so far. */
  readonly versions: number;
  /** Who the run waits for (empty while it has not started). */
  blockers(): readonly RunBlocker[];
}

/** Options of {@link JobWatchdog}. */
export interface JobWatchdogOptions {
  readonly clock: Clock;
  readonly stallMs: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** What a worker last reported doing. */
  readonly phaseOf: (workerId: string) => string | undefined;
}

/** Watches one running job at a time (the coordinator runs one at a time). */
export class JobWatchdog {
  private jobId: string | undefined;
  private fingerprint = '';
  private sinceMs = 0;
  private warned: string | undefined;

  constructor(private readonly options: JobWatchdogOptions) {}

  /** Looks at the running job; returns its stall, or undefined while it progresses. */
  check(job: WatchedJob | undefined): JobStall | undefined {
    const { clock, stallMs, logger, metrics } = this.options;
    const now = clock.nowMs();
    if (job === undefined) {
      this.jobId = undefined;
      metrics.set('mrm_stalled_jobs', 0);
      return undefined;
    }
    const p = job.progress;
    const fingerprint = `${p?.mergedBatches}/${p?.records}/${p?.lagBatches}/${job.versions}`;
    if (job.jobId !== this.jobId || fingerprint !== this.fingerprint) {
      this.jobId = job.jobId;
      this.fingerprint = fingerprint;
      this.sinceMs = now;
      this.warned = undefined;
      metrics.set('mrm_stalled_jobs', 0);
      return undefined;
    }
    if (now - this.sinceMs < stallMs) return undefined;
    const stall = this.describe(job, now);
    metrics.set('mrm_stalled_jobs', 1);
    // One warning per stall and culprit, not one per check.
    const culprit = `${stall.workerId}/${stall.phase}`;
    if (this.warned !== culprit) {
      this.warned = culprit;
      logger.warn('job stalled', {
        jobId: job.jobId,
        ...(stall.workerId !== undefined ? { worker: stall.workerId } : {}),
        ...(stall.phase !== undefined ? { phase: stall.phase } : {}),
        message: stall.message,
      });
    }
    return stall;
  }

  private describe(job: WatchedJob, now: number): JobStall {
    const seconds = Math.round((now - this.sinceMs) / 1000);
    const blockers = job.blockers();
    const named = blockers.map((b) => {
      const phase = this.options.phaseOf(b.workerId);
      return { ...b, phase, text: `${b.workerId} (${phase ?? 'no heartbeat'}; job waits for ${b.waitingFor})` };
    });
    const first = named[0];
    const message =
      first === undefined
        ? `job ${job.jobId} (${job.name}) made no progress for ${seconds} s (not started on the workers yet)`
        : `job ${job.jobId} (${job.name}) made no progress for ${seconds} s; waiting for ${named.map((n) => n.text).join(', ')}`;
    return {
      sinceMs: this.sinceMs,
      message,
      ...(first !== undefined ? { workerId: first.workerId } : {}),
      ...(first?.phase !== undefined ? { phase: first.phase } : {}),
    };
  }
}
