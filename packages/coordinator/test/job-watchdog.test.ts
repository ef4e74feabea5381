import type { Clock, JobProgress, Logger, Metrics } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { JobWatchdog, type WatchedJob } from '../src/service/job-watchdog.js';

/** A clock the test moves by hand. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 1_000_000;
  return {
    nowMs: () => now,
    sleep: async () => {},
    every: () => ({ cancel: () => {} }),
    after: () => ({ cancel: () => {} }),
    advance: (ms) => {
      now += ms;
    },
  };
}

function recorder() {
  const warnings: Array<{ message: string; fields: Record<string, unknown> }> = [];
  const gauges = new Map<string, number>();
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (message, fields = {}) => warnings.push({ message, fields: { ...fields } }),
    error: () => {},
    child: () => logger,
  };
  const metrics: Metrics = { add: () => {}, observe: () => {}, set: (name, value) => gauges.set(name, value) };
  return { warnings, gauges, logger, metrics };
}

function job(progress: JobProgress, blockers = [{ workerId: 'merge-2', waitingFor: 'batch 4 merged' }]): WatchedJob {
  return { jobId: 'j-1', name: 'wordcount', progress, versions: 1, blockers: () => blockers };
}

const progress = (mergedBatches: number): JobProgress => ({
  totalBatches: 10,
  mergedBatches,
  records: mergedBatches * 100,
  lagBatches: 2,
});

/** A watchdog on a manual clock, with what it logs and the gauges it sets. */
function watchdog(stallMs: number, phaseOf: (workerId: string) => string | undefined = () => undefined) {
  const clock = manualClock();
  const r = recorder();
  const dog = new JobWatchdog({ clock, stallMs, logger: r.logger, metrics: r.metrics, phaseOf });
  return { clock, r, dog };
}

describe('JobWatchdog', () => {
  it('names the worker a job waits for and its phase once the job makes no progress for the set time', () => {
    const { clock, r, dog } = watchdog(5_000, (id) => (id === 'merge-2' ? 'checkpointing wordcount' : undefined));
    expect(dog.check(job(progress(3)))).toBeUndefined();
    clock.advance(4_999);
    expect(dog.check(job(progress(3)))).toBeUndefined();
    clock.advance(2);
    const stall = dog.check(job(progress(3)));
    expect(stall).toMatchObject({ workerId: 'merge-2', phase: 'checkpointing wordcount', sinceMs: 1_000_000 });
    expect(stall?.message).toMatch(
      /job j-1 \(wordcount\) made no progress for 5 s; waiting for merge-2 \(checkpointing wordcount; job waits for batch 4 merged\)/,
    );
    expect(r.gauges.get('mrm_stalled_jobs')).toBe(1);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]?.fields).toMatchObject({ jobId: 'j-1', worker: 'merge-2', phase: 'checkpointing wordcount' });

    // Still stalled: one warning per culprit, not one per check.
    clock.advance(1_000);
    expect(dog.check(job(progress(3)))?.message).toMatch(/for 6 s/);
    expect(r.warnings).toHaveLength(1);

    // Progress clears it.
    expect(dog.check(job(progress(4)))).toBeUndefined();
    expect(r.gauges.get('mrm_stalled_jobs')).toBe(0);
  });

  it('says so when it cannot name a worker, and forgets a job that ended', () => {
    const { clock, r, dog } = watchdog(100);
    dog.check(job(progress(0), []));
    clock.advance(200);
    expect(dog.check(job(progress(0), []))?.message).toMatch(/not started on the workers yet/);
    expect(dog.check(undefined)).toBeUndefined();
    expect(r.gauges.get('mrm_stalled_jobs')).toBe(0);
  });

  it('reports a worker without heartbeats as such', () => {
    const { clock, r, dog } = watchdog(100);
    dog.check(job(progress(1)));
    clock.advance(100);
    const stall = dog.check(job(progress(1)));
    expect(stall?.workerId).toBe('merge-2');
    expect(stall?.phase).toBeUndefined();
    expect(stall?.message).toContain('merge-2 (no heartbeat; job waits for batch 4 merged)');
  });
});
