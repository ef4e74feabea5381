/**
 * The coordinator's API channel: decodes each request, hands it to the one handler of its type,
 * and answers with the handler's reply or an `error-reply` (never leaves a client waiting).
 */
import {
  decodeApi,
  ErrorCode,
  encodeApi,
  type JobInfoReply,
  type JobStatus,
  MrmError,
  type Reply,
  type SubmitRequest,
  toWireError,
  type WorkerStatus,
} from '@mrm/core';

/** What the API needs from the service. */
export interface ApiHandlers {
  /** Queues a submitted job (a retried submit is a no-op); resolves with its status. */
  submit(request: SubmitRequest): Promise<JobStatus | undefined>;
  /** One job's status, or undefined. */
  jobStatus(jobId: string): Promise<JobStatus | undefined>;
  /** Recent jobs: running, queued, then history. */
  allJobs(): Promise<JobStatus[]>;
  /** Every worker ever seen. */
  workers(): WorkerStatus[];
  /** A job's shape, owners and versions. */
  jobInfo(name: string): Promise<Omit<JobInfoReply, 'v'>>;
}

/** Answers one API request. */
export async function routeApiRequest(payload: Uint8Array, reply: Reply | undefined, api: ApiHandlers): Promise<void> {
  if (reply === undefined) return;
  try {
    const m = decodeApi(payload);
    if (m.type === 'submit') {
      const status = await api.submit(m);
      reply(encodeApi({ type: 'status-reply', jobs: status !== undefined ? [status] : [], workers: [] }));
    } else if (m.type === 'status') {
      const jobs =
        m.jobId !== undefined ? [await api.jobStatus(m.jobId)].filter((j) => j !== undefined) : await api.allJobs();
      if (m.jobId !== undefined && jobs.length === 0) {
        throw new MrmError(ErrorCode.State, `no job with id '${m.jobId}'`);
      }
      reply(encodeApi({ type: 'status-reply', jobs, workers: api.workers() }));
    } else if (m.type === 'job-info') {
      reply(encodeApi(await api.jobInfo(m.name)));
    } else {
      throw new MrmError(ErrorCode.Protocol, `the coordinator does not answer '${m.type}'`);
    }
  } catch (e) {
    reply(encodeApi({ type: 'error-reply', error: toWireError(e) }));
  }
}
