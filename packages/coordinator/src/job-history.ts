/**
 * Finished jobs on disk (the coordinator's store, under a reserved namespace no job name can
 * take), so `mrm status` answers for jobs that ended before a coordinator restart.
 */
import type { JobStatus, StateStore } from '@mrm/core';

/** Reserved metadata namespace: job names match `[a-z0-9]…`, so `_mrm` never collides. */
const NAMESPACE = '_mrm';
const PREFIX = 'job:';
/** Finished jobs kept. */
const KEEP = 1000;

/** Durable job statuses. */
export class JobHistory {
  constructor(private readonly store: StateStore) {}

  /** Records a job's status (queued, running or finished). */
  async save(status: JobStatus): Promise<void> {
    await this.store.putMeta(
      NAMESPACE,
      `${PREFIX}${String(status.submittedAtMs).padStart(15, '0')}:${status.jobId}`,
      status,
    );
  }

  private async names(): Promise<string[]> {
    return (await this.store.listMeta(NAMESPACE, PREFIX)).sort();
  }

  /** A job's last recorded status. */
  async get(jobId: string): Promise<JobStatus | undefined> {
    const name = (await this.names()).find((n) => n.endsWith(`:${jobId}`));
    return name === undefined ? undefined : this.store.getMeta<JobStatus>(NAMESPACE, name);
  }

  /** The most recent jobs, newest first. */
  async recent(limit: number): Promise<JobStatus[]> {
    const names = (await this.names()).slice(-limit).reverse();
    const out: JobStatus[] = [];
    for (const n of names) {
      const s = await this.store.getMeta<JobStatus>(NAMESPACE, n);
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  /** Drops the oldest records beyond what is kept. */
  async prune(): Promise<void> {
    const names = await this.names();
    for (const n of names.slice(0, Math.max(0, names.length - KEEP))) await this.store.deleteMeta(NAMESPACE, n);
  }
}
