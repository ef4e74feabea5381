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
  type StatusReply,
  type SubmitRequest,
  toWireError,
} from '@mrm/core';

/** What the API needs from the service. */
export interface ApiHandlers {
  /** Queues a submitted job (a retried submit is a no-op); resolves with its status. */
  submit(request: SubmitRequest): Promise<JobStatus | undefined>;
  /** Jobs (one, or all) and workers; throws when `jobId` is unknown. */
  status(jobId?: string): Promise<Omit<StatusReply, 'v'>>;
  /** Cancels a queued or running job; resolves with its status. */
  cancel(jobId: string): Promise<JobStatus>;
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
      reply(encodeApi(await api.status(m.jobId)));
    } else if (m.type === 'cancel') {
      reply(encodeApi({ type: 'status-reply', jobs: [await api.cancel(m.jobId)], workers: [] }));
    } else if (m.type === 'job-info') {
      reply(encodeApi(await api.jobInfo(m.name)));
    } else {
      throw new MrmError(ErrorCode.Protocol, `the coordinator does not answer '${m.type}'`);
    }
  } catch (e) {
    reply(encodeApi({ type: 'error-reply', error: toWireError(e) }));
  }
}
