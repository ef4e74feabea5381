/**
 * The MessagePack codec of the wire and the store: standard MessagePack (no records extension),
 * 64-bit integers as numbers, maps as plain objects, so any MessagePack implementation can read it.
 * Decoded byte arrays are copies: msgpackr would otherwise return views into the input, which
 * change when the transport or the store reuses its buffer and keep a whole frame alive.
 */
import { Packr } from 'msgpackr';
import { ErrorCode, MrmError } from './errors.js';

const packr = new Packr({
  useRecords: false,
  int64AsType: 'number',
  mapsAsObjects: true,
  moreTypes: false,
  copyBuffers: true,
});

/** Encodes a value as standard MessagePack. */
export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Decodes standard MessagePack. */
export function decode<T = unknown>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}

/** Options the store adapter passes to its own msgpackr instance so both encode alike. */
export const MSGPACK_OPTIONS = Object.freeze({
  useRecords: false,
  int64AsType: 'number',
  mapsAsObjects: true,
  moreTypes: false,
  copyBuffers: true,
} as const);

/** A message type without its version field `v` (distributes over unions). */
export type WithoutVersion<T> = T extends unknown ? Omit<T, 'v'> : never;

/**
 * Decodes a message of a versioned protocol: an object with a string `type` and `v === version`.
 * Throws `E_PROTOCOL` naming `what` on garbage, a missing type or another version.
 */
export function decodeEnvelope(bytes: Uint8Array, version: number, what: string): { type: string; v: number } {
  let m: unknown;
  try {
    m = decode(bytes);
  } catch (e) {
    throw new MrmError(ErrorCode.Protocol, `undecodable ${what}`, { cause: e });
  }
  if (typeof m !== 'object' || m === null || typeof (m as { type?: unknown }).type !== 'string') {
    throw new MrmError(ErrorCode.Protocol, `${what} without a type`);
  }
  const v = (m as { v?: unknown }).v;
  if (v !== version) throw new MrmError(ErrorCode.Protocol, `${what} version ${String(v)} is not ${version}`);
  return m as { type: string; v: number };
}
