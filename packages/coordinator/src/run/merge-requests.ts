/**
 * Requests from the coordinator to merge workers (run start, commit, rollback), checked for an
 * ack. Idempotent ones are sent again when the run says messages may have been lost (a request
 * or its reply lost in a NATS restart would otherwise wait out the whole timeout and fail the run).
 */
import { ErrorCode, expectAck, MrmError } from '@mrm/core';
import type { JobRunContext } from './run-context.js';

/** A request to a merge worker that nobody answers any more: the worker is gone (`E_WORKER_LOST`). */
export function lostIfGone(e: unknown, worker: string): unknown {
  if (e instanceof MrmError && e.code === ErrorCode.Timeout && e.details?.noResponders === true) {
    return new MrmError(ErrorCode.WorkerLost, `merge worker ${worker} does not answer (its process is gone)`, {
      cause: e,
      details: { workerId: worker },
    });
  }
  return e;
}

/** The error a run ends with when a merge worker is lost. */
export function mergeWorkerLost(worker: string, job: string): MrmError {
  return new MrmError(ErrorCode.WorkerLost, `merge worker ${worker} stopped answering during a run of job '${job}'`, {
    details: { workerId: worker },
  });
}

/**
 * The error a run ends with when its last map worker is lost (`E_WORKER_LOST`, `details.role`
 * 'map'): like a lost merge worker's, not the job's fault. The run keeps what it committed and the
 * scheduler runs the job on once a map worker is back (within `--worker-wait`); killed map workers
 * that a supervisor restarts must not fail the job.
 */
export function lastMapWorkerLost(worker: string, job: string): MrmError {
  return new MrmError(ErrorCode.WorkerLost, `no map workers left for job '${job}' (${worker} was the last)`, {
    details: { workerId: worker, role: 'map' },
  });
}

/** Requests to a run's merge workers. */
export class MergeRequests {
  /** Aborted (and replaced) when messages may have been lost: idempotent requests waiting are sent again. */
  private lostMessages = new AbortController();
  /** Aborted once, when the run is abandoned: every request waiting gives up. */
  private readonly abandoned = new AbortController();

  constructor(private readonly ctx: JobRunContext) {}

  /** Sends `message` to `worker` once and checks its ack. */
  async once(worker: string, message: Uint8Array, what: string): Promise<void> {
    const reply = await this.ctx.transport
      .request({ kind: 'worker', workerId: worker }, message, {
        timeoutMs: this.ctx.settings.requestTimeoutMs,
        signal: this.abandoned.signal,
      })
      .catch((e: unknown) => {
        throw lostIfGone(e, worker);
      });
    expectAck(reply, what);
  }

  /** Sends an idempotent request and checks its ack; sends it again after {@link resendPending}. */
  async idempotent(worker: string, message: Uint8Array, what: string): Promise<void> {
    const { clock, settings, transport } = this.ctx;
    const deadline = clock.nowMs() + settings.requestTimeoutMs;
    for (;;) {
      const { signal } = this.lostMessages;
      try {
        const reply = await transport.request({ kind: 'worker', workerId: worker }, message, {
          timeoutMs: Math.max(1, deadline - clock.nowMs()),
          signal: AbortSignal.any([signal, this.abandoned.signal]),
        });
        expectAck(reply, what);
        return;
      } catch (e) {
        if (!signal.aborted || this.abandoned.signal.aborted || clock.nowMs() >= deadline) throw lostIfGone(e, worker);
      }
    }
  }

  /** Messages may have been lost: idempotent requests waiting for a reply are sent again. */
  resendPending(reason: string): void {
    this.lostMessages.abort(new MrmError(ErrorCode.Aborted, `sending again: ${reason}`));
    this.lostMessages = new AbortController();
  }

  /** Every request waiting gives up with `reason` (the run is abandoned). */
  abandon(reason: unknown): void {
    this.abandoned.abort(reason);
  }
}
