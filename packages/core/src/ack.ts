/** Replies to requests: an {@link AckMessage} saying done, or carrying the error. */
import { ErrorCode, fromWireError, MrmError, toWireError } from './errors.js';
import { decodeMessage, encodeMessage } from './protocol.js';

/** Encodes a successful reply. */
export function encodeAck(): Uint8Array {
  return encodeMessage({ type: 'ack', ok: true });
}

/** Encodes a failed reply. */
export function encodeNack(error: unknown): Uint8Array {
  return encodeMessage({ type: 'ack', ok: false, error: toWireError(error) });
}

/** Decodes a reply; throws the carried error when it is a failure. */
export function expectAck(payload: Uint8Array, what: string): void {
  const m = decodeMessage(payload);
  if (m.type !== 'ack') throw new MrmError(ErrorCode.Protocol, `${what}: expected an ack, got '${m.type}'`);
  if (!m.ok) throw m.error !== undefined ? fromWireError(m.error) : new MrmError(ErrorCode.Internal, `${what} failed`);
}
