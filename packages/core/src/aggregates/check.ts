/**
 * Checks shared by the built-in aggregates: one-line errors that name the aggregate, the key and
 * the offending value, so a bad `emit` in a job is found from the message alone.
 */
import { ErrorCode, MrmError } from '../errors.js';
import type { Key } from '../key.js';

const MAX_SHOWN = 60;

/** A short one-line rendering of any value for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `a byte array of ${value.byteLength} bytes`;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  text ??= String(value);
  if (typeof value === 'number' && !Number.isFinite(value)) text = String(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

/** `E_BAD_VALUE` for a value of `key` that aggregate `name` cannot take. */
export function badValue(name: string, key: Key, value: unknown, expected: string, cause?: unknown): MrmError {
  return new MrmError(
    ErrorCode.BadValue,
    `aggregates.${name}(): value ${describeValue(value)} emitted for key ${describeValue(key)} is not ${expected}`,
    cause === undefined ? undefined : { cause },
  );
}

/** `E_JOB_INVALID` for a bad option of aggregate `name`, thrown when the job is defined. */
export function badOption(name: string, message: string): MrmError {
  return new MrmError(ErrorCode.JobInvalid, `aggregates.${name}(): ${message}`);
}

/** Throws `E_BAD_VALUE` unless `value` is a number. */
export function requireNumber(name: string, key: Key, value: unknown): number {
  if (typeof value !== 'number') throw badValue(name, key, value, 'a number');
  return value;
}
