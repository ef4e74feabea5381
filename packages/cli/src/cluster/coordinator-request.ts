/**
 * A request to the cluster's coordinator (the `api` channel) that waits through a takeover: while
 * the leader is dead and a standby has not taken the lead yet (up to a lease, 5 s by default),
 * nobody subscribes to `api` and a request finds "no responders" at once. Such a request reached
 * nobody, so sending it again is harmless (a submit is idempotent per job id besides); `mrm submit`,
 * `status`, `cancel` and `query`/`versions` over `--nats` send it again then, for at most
 * {@link TAKEOVER_WAIT_MS}, but only while the lead's record says a coordinator leads or will
 * (`coordinatorExpected`): with none ever started, or the last one stopped cleanly, the request
 * fails at once as before.
 */
import { coordinatorExpected } from '@mrm/coordinator';
import { isMrmError, type Transport } from '@mrm/core';

/** How long a request waits for a coordinator to take the lead. */
export const TAKEOVER_WAIT_MS = 30_000;
const FIRST_PAUSE_MS = 250;
const MAX_PAUSE_MS = 2_000;

/** True when a request failed because nobody subscribes to its subject. */
function foundNobody(e: unknown): boolean {
  return isMrmError(e) && e.details?.noResponders === true;
}

/** Sends `payload` to the coordinator; see the module comment for when it is sent again. */
export async function requestCoordinator(
  transport: Transport,
  payload: Uint8Array,
  timeoutMs: number,
): Promise<Uint8Array> {
  const deadline = Date.now() + TAKEOVER_WAIT_MS;
  for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(MAX_PAUSE_MS, pause * 2)) {
    try {
      return await transport.request({ kind: 'api' }, payload, { timeoutMs });
    } catch (e) {
      if (!foundNobody(e) || Date.now() >= deadline) throw e;
      if (!(await coordinatorExpected(transport).catch(() => false))) throw e;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
