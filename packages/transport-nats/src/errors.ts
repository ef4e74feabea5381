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

/** True when a request found nobody subscribed to its subject. */
export function isNoResponders(error: unknown): boolean {
  return (
    error instanceof errors.NoRespondersError ||
    (error instanceof errors.RequestError && error.cause instanceof errors.NoRespondersError)
  );
}

/** True when a request waited longer than its timeout. */
export function isTimeout(error: unknown): boolean {
  return error instanceof errors.TimeoutError;
}
