/**
 * Requests to the merge workers that own a cluster job's partitions, which follow a partition when
 * its owner is gone: the coordinator says where each partition lives (`job-info`), and a request
 * that finds the owner gone asks it again — it moves the partition to a live merge worker, which
 * restores it from its copies, once it has found the owner lost (decisions/0037). What the result
 * reader (`mrm query --nats`, `submit --out`, `GET /api/query`) and `mrm dead-letters --nats` use.
 */
import { ErrorCode, encodeApi, expectReply, isMrmError, type JobInfoReply, MrmError, type Transport } from '@mrm/core';
import { requestCoordinator } from './coordinator-request.js';

/** Asks the coordinator where a job's state lives. */
export async function fetchJobInfo(transport: Transport, name: string, timeoutMs: number): Promise<JobInfoReply> {
  const reply = await requestCoordinator(transport, encodeApi({ type: 'job-info', name }), timeoutMs);
  return expectReply(reply, 'job-info-reply');
}

/** How long a request goes on asking the coordinator for a partition's owner after the owner stopped answering. */
const OWNER_GONE_RETRY_MS = 30_000;
/** The first pause before asking again; it doubles up to {@link OWNER_GONE_MAX_PAUSE_MS}. */
const OWNER_GONE_PAUSE_MS = 250;
const OWNER_GONE_MAX_PAUSE_MS = 2_000;

/**
 * True for a request nobody subscribes to (the process that did is gone), or one left unanswered
 * (it may have died with the request under way).
 */
function ownerMayBeGone(e: unknown): boolean {
  return isMrmError(e) && e.code === ErrorCode.Timeout;
}

/** Requests about a job's partitions, each sent to the partition's current owner. */
export class OwnerRequests {
  constructor(
    private readonly transport: Transport,
    private current: JobInfoReply,
    private readonly timeoutMs: number,
  ) {}

  /** What the coordinator last said of the job (owners change when a partition moved). */
  get info(): JobInfoReply {
    return this.current;
  }

  /** The merge worker that owns `partition`, as far as this reader knows. */
  owner(partition: number): string {
    const owner = this.current.owners[partition];
    if (owner === undefined)
      throw new MrmError(ErrorCode.State, `partition ${partition} of job '${this.current.name}' has no owner`);
    return owner;
  }

  /**
   * Sends a request about `partition` to its owner. An owner that is gone (no responders, or no
   * answer) makes it ask the coordinator where the partition is now and send it there, for up to
   * {@link OWNER_GONE_RETRY_MS} after the first failure; every answer comes from a worker
   * holding the committed state (it refuses otherwise: `assertHeld` in the merge worker).
   */
  async ask(partition: number, body: Uint8Array): Promise<Uint8Array> {
    let deadline: number | undefined;
    for (let pause = OWNER_GONE_PAUSE_MS; ; pause = Math.min(pause * 2, OWNER_GONE_MAX_PAUSE_MS)) {
      const owner = this.owner(partition);
      try {
        return await this.transport.request({ kind: 'query', workerId: owner }, body, { timeoutMs: this.timeoutMs });
      } catch (e) {
        if (!ownerMayBeGone(e)) throw e;
        deadline ??= Date.now() + OWNER_GONE_RETRY_MS;
        if (Date.now() + pause >= deadline) {
          throw new MrmError(
            ErrorCode.Timeout,
            `merge worker ${owner}, the owner of partition ${partition} of job '${this.current.name}', does not answer, and the coordinator named no other owner within ${OWNER_GONE_RETRY_MS / 1000} s`,
            { cause: e },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, pause));
        // The coordinator may be restoring the partition elsewhere for longer than a request.
        this.current = await fetchJobInfo(this.transport, this.current.name, this.timeoutMs).catch((f: unknown) => {
          if (ownerMayBeGone(f)) return this.current;
          throw f;
        });
      }
    }
  }
}
