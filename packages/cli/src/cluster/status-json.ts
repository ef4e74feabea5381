/** The JSON shape of cluster status, shared by `mrm status --json` and the HTTP API. */
import type { StatusReply } from '@mrm/core';

/** `{ jobs, workers }`, or for one job `{ ...job, workers }`. */
export function statusJson(status: Pick<StatusReply, 'jobs' | 'workers'>, jobId?: string): unknown {
  return jobId !== undefined
    ? { ...status.jobs[0], workers: status.workers }
    : { jobs: status.jobs, workers: status.workers };
}
