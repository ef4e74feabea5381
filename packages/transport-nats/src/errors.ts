/** Turns nats.js errors into MrmErrors with one clear line (the original stays as `cause`). */
import { ErrorCode, errorMessage, isMrmError, MrmError } from '@mrm/core';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';

/** `E_TRANSPORT` for a failed operation (`what` says which), unless `error` is already an MrmError. */
export function transportError(what: string, error: unknown): MrmError {
  if (isMrmError(error)) return error;
  return new MrmError(ErrorCode.Transport, `${what}: ${errorMessage(error)}`, { cause: error });
}

/** True when a kv create or update lost its compare-and-set (JetStream "wrong last sequence"). */
export function isWrongLastSequence(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/**
 * True when a request found nobody subscribed to its subject, also when JetStream's client
 * reports that as "jetstream is not enabled" (a stream without a leader answers nobody).
 */
export function isNoResponders(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof errors.NoRespondersError) return true;
  }
  return false;
}

/** HTTP-like status of JetStream's "temporarily unavailable" answers (no leader, no quorum). */
const UNAVAILABLE_STATUS = 503;

/**
 * True when JetStream could not take a request at all, so it was not applied: nobody answered
 * (no leader, a server restarting), or JetStream answered "unavailable" (503).
 */
export function isUnavailable(error: unknown): boolean {
  return isNoResponders(error) || (error instanceof JetStreamApiError && error.status === UNAVAILABLE_STATUS);
}

/** True when a request waited longer than its timeout. */
export function isTimeout(error: unknown): boolean {
  return error instanceof errors.TimeoutError;
}
