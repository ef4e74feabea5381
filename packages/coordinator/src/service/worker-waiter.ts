/**
 * Waiting for workers: a job needs at least one live map and one live merge worker. The wait
 * ends on the heartbeat that brings the missing one (an event, no polling), or fails after
 * `waitMs` on the coordinator's clock, or when the service closes.
 */
import { type Clock, ErrorCode, MrmError, WorkerRole } from '@mrm/core';
import type { WorkerRegistry } from './worker-registry.js';

/** The live workers a job runs on. */
export interface LiveWorkers {
  readonly mapWorkers: string[];
  readonly mergeWorkers: string[];
}

/**
 * Resolves once the registry has also found `workerId` lost since `sinceMs` (a request may find it
 * gone before its heartbeats stop; a process restarted under its id is found lost and back at
 * once), or after `waitMs` (it is then taken as alive again), or on abort.
 */
export function untilLost(
  registry: WorkerRegistry,
  clock: Clock,
  workerId: string,
  sinceMs: number,
  waitMs: number,
  signal: AbortSignal,
): Promise<void> {
  if (!registry.isAlive(workerId) || registry.lostSince(workerId, sinceMs) || signal.aborted) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const done = () => {
      unsubscribe();
      timer.cancel();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const unsubscribe = registry.onLoss((id) => {
      if (id === workerId) done();
    });
    const timer = clock.after(waitMs, done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Resolves with the live workers once there is at least one of each role. */
export function waitForWorkers(
  registry: WorkerRegistry,
  clock: Clock,
  waitMs: number,
  jobName: string,
  signal: AbortSignal,
): Promise<LiveWorkers> {
  const live = (): LiveWorkers => ({
    mapWorkers: registry.alive(WorkerRole.Map),
    mergeWorkers: registry.alive(WorkerRole.Merge),
  });
  const ready = (w: LiveWorkers) => w.mapWorkers.length > 0 && w.mergeWorkers.length > 0;
  const now = live();
  if (ready(now)) return Promise.resolve(now);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const done = () => {
      unsubscribe();
      timer.cancel();
      signal.removeEventListener('abort', onAbort);
    };
    const unsubscribe = registry.onJoin(() => {
      const w = live();
      if (!ready(w)) return;
      done();
      resolve(w);
    });
    const timer = clock.after(waitMs, () => {
      done();
      const w = live();
      reject(
        new MrmError(
          ErrorCode.JobFailed,
          `no workers for job '${jobName}': ${w.mapWorkers.length} map and ${w.mergeWorkers.length} merge workers alive after waiting ${Math.round(waitMs / 1000)} s (start some with 'mrm worker')`,
        ),
      );
    });
    const onAbort = () => {
      done();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
