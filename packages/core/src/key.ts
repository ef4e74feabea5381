/**
 * Keys. A key is a string, a finite number, or an array of those (nested arrays allowed). Its
 * canonical form is its JSON text: two keys are the same key exactly when their JSON texts are
 * equal, results are sorted by that text, and partitioning hashes it.
 */
import { ErrorCode, MrmError } from './errors.js';

/** A key emitted by `map`. */
export type Key = string | number | readonly Key[];

/** The JSON text of a key: its identity on the wire and in the store. */
export type CanonicalKey = string;

/** Longest canonical key accepted, in UTF-16 code units (LMDB keys are at most 1978 bytes). */
export const MAX_CANONICAL_KEY_LENGTH = 1024;

function checkKey(key: unknown, depth: number): void {
  if (typeof key === 'string') return;
  if (typeof key === 'number') {
    if (!Number.isFinite(key)) throw new MrmError(ErrorCode.BadKey, `key ${String(key)} is not a finite number`);
    return;
  }
  if (Array.isArray(key) && depth < 8) {
    for (const k of key) checkKey(k, depth + 1);
    return;
  }
  throw new MrmError(ErrorCode.BadKey, `key ${describe(key)} is not a string, a finite number, or an array of those`);
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return 'an object';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Canonical form of a key; throws {@link MrmError} `E_BAD_KEY` for anything that is not a key. */
export function canonicalKey(key: unknown): CanonicalKey {
  checkKey(key, 0);
  const text = JSON.stringify(key);
  if (text.length > MAX_CANONICAL_KEY_LENGTH) {
    throw new MrmError(
      ErrorCode.BadKey,
      `key ${text.slice(0, 40)}… is ${text.length} characters long; keys are limited to ${MAX_CANONICAL_KEY_LENGTH}`,
    );
  }
  return text;
}

/** The key a canonical form stands for. */
export function keyOf(canonical: CanonicalKey): Key {
  return JSON.parse(canonical) as Key;
}

/**
 * Parses a key given on a command line: JSON if it parses as a key (`"a"`, `42`, `["a",1]`),
 * otherwise the literal string.
 */
export function parseKeyArgument(text: string): Key {
  try {
    const v: unknown = JSON.parse(text);
    checkKey(v, 0);
    return v as Key;
  } catch {
    return text;
  }
}

/**
 * Order of canonical keys in results: by code point of the JSON text (the order LMDB keeps
 * UTF-8 strings in, and Python's `sorted`).
 */
export function compareCanonicalKeys(a: CanonicalKey, b: CanonicalKey): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i) ?? 0;
    const cb = b.codePointAt(i) ?? 0;
    if (ca !== cb) return ca < cb ? -1 : 1;
    if (ca > 0xffff) i++;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}
