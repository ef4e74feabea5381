import { ErrorCode, MrmError } from '@mrm/core';

/** Throws `E_ABORTED` naming `what` when `signal` has fired, so long loops stop between chunks. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) {
    throw new MrmError(ErrorCode.Aborted, `${what} was aborted`, { cause: signal.reason });
  }
}
