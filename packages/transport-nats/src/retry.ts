/**
 * Retrying a JetStream operation while JetStream is briefly unavailable: right after a server
 * restart, and while a NATS cluster elects new leaders after losing a node (several seconds with
 * nats-server 2.9: a stream without a leader answers nobody, or "temporarily unavailable").
 * Bounded in time; not at all when the server has no JetStream, or once the transport is closed.
 */
import { isTimeout, isUnavailable } from './errors.js';

/** How long an operation keeps being tried while JetStream is unavailable. */
export const RETRY_BUDGET_MS = 30_000;
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 2_000;

/** Which failures {@link retried} tries again after. */
export type RetryWhen =
  /** Only failures where the request surely was not applied (nobody answered, or "unavailable"). */
  | 'unapplied'
  /** Also timeouts (the request may have been applied): for reads and idempotent writes only. */
  | 'idempotent';

/**
 * Whether trying again can help: false once the transport is closed, or when the server it is
 * connected to has no JetStream at all (then "nobody answers" is for good).
 */
export type KeepTrying = () => boolean;

/**
 * Runs `op`, again after a growing pause while it fails with JetStream unavailable (and, when
 * `when` is 'idempotent', with a timeout), until {@link RETRY_BUDGET_MS} have passed or
 * `keepTrying` says no; then fails with the last error.
 */
export async function retried<T>(when: RetryWhen, op: () => Promise<T>, keepTrying: KeepTrying): Promise<T> {
  const deadline = Date.now() + RETRY_BUDGET_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (error) {
      const again = isUnavailable(error) || (when === 'idempotent' && isTimeout(error));
      if (!again || Date.now() >= deadline || !keepTrying()) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt)));
    }
  }
}
