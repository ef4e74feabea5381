/**
 * The partition owners a map worker keeps per job, so that the coordinator sends them once per
 * run and map worker instead of in every map task (decisions/0058): a task that carries owners
 * replaces what is kept for its job; a task without them gets the kept ones when they are of its
 * run and key, else none (the worker then answers `owners-unknown` and the coordinator sends the
 * task again with them). One entry per job, at most {@link MAX_JOBS_KEPT} jobs (the oldest
 * entry goes first): memory stays bounded however many jobs pass.
 */
import type { MapTask, MapTaskMessage } from '@mrm/core';

/** Jobs whose owners are kept at once (streaming jobs run side by side; a batch job at a time). */
export const MAX_JOBS_KEPT = 64;

interface KeptOwners {
  readonly run: number;
  readonly key: number;
  readonly owners: readonly string[];
}

/** Owners kept per job. */
export class TaskOwners {
  private readonly byJob = new Map<string, KeptOwners>();

  /**
   * The task with its owners filled in, or undefined when it came without owners and none of its
   * run and key are kept. Call in the order tasks arrive (a task with owners precedes those without).
   */
  resolve(task: MapTaskMessage): MapTask | undefined {
    const { owners } = task;
    if (owners !== undefined) {
      const kept = this.byJob.get(task.jobId);
      // A task of an older run (sent again late) does not replace a newer run's owners.
      if (kept === undefined || kept.run <= task.run)
        this.keep(task.jobId, { run: task.run, key: task.ownersKey, owners });
      return { ...task, owners };
    }
    const kept = this.byJob.get(task.jobId);
    if (kept === undefined || kept.run !== task.run || kept.key !== task.ownersKey) return undefined;
    return { ...task, owners: kept.owners };
  }

  private keep(jobId: string, kept: KeptOwners): void {
    this.byJob.delete(jobId);
    this.byJob.set(jobId, kept);
    if (this.byJob.size <= MAX_JOBS_KEPT) return;
    for (const oldest of this.byJob.keys()) {
      this.byJob.delete(oldest);
      return;
    }
  }
}
