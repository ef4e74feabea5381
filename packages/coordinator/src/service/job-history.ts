/**
 * Finished jobs on disk (the coordinator's store, under a reserved namespace no job name can
 * take), so `mrm status` answers for jobs that ended before a coordinator restart.
 */
import type { JobStatus, RecordStore, SubmitRequest } from '@mrm/core';

/** Reserved metadata namespace: job names match `[a-z0-9]…`, so `_mrm` never collides. */
const NAMESPACE = '_mrm';
const PREFIX = 'job:';
const REQUEST_PREFIX = 'request:';
/** Finished jobs kept. */
const KEEP = 1000;

/** Durable job statuses. */
export class JobHistory {
  constructor(private readonly store: RecordStore) {}

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

  /** Keeps a job's submission until it has finished, so a restarted coordinator can run it again. */
  async saveRequest(request: SubmitRequest): Promise<void> {
    await this.store.putMeta(NAMESPACE, `${REQUEST_PREFIX}${request.jobId}`, request);
  }

  /** Forgets a finished job's submission. */
  async dropRequest(jobId: string): Promise<void> {
    await this.store.deleteMeta(NAMESPACE, `${REQUEST_PREFIX}${jobId}`);
  }

  /** Jobs that were queued or running when the coordinator stopped, oldest first, with their submissions. */
  async unfinished(): Promise<Array<{ status: JobStatus; request: SubmitRequest }>> {
    const out: Array<{ status: JobStatus; request: SubmitRequest }> = [];
    for (const name of await this.names()) {
      const status = await this.store.getMeta<JobStatus>(NAMESPACE, name);
      if (status === undefined || (status.state !== 'queued' && status.state !== 'running')) continue;
      const request = await this.store.getMeta<SubmitRequest>(NAMESPACE, `${REQUEST_PREFIX}${status.jobId}`);
      if (request !== undefined) out.push({ status, request });
    }
    return out;
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
