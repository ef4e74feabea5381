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

/**
 * Longest canonical key accepted, in bytes of its UTF-8 form (LMDB keys are at most 1978 bytes,
 * and the store adds its own prefix). Counting UTF-16 code units instead would let a key of
 * 1024 non-Latin characters (3 bytes each in UTF-8) through to a store that cannot hold it.
 */
export const MAX_CANONICAL_KEY_LENGTH = 1024;

/** Bytes of the UTF-8 form of a well-formed string (JSON texts escape lone surrogates). */
function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // 2 bytes up to U+07FF, 3 up to U+FFFF; a surrogate pair (2 units) makes 4.
    if (c >= 0x80) n += c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 1 : 2;
  }
  return n;
}

/** Deepest nesting of arrays in a key. */
const MAX_KEY_DEPTH = 8;

function checkKey(key: unknown, depth: number): void {
  if (typeof key === 'string') return;
  if (typeof key === 'number') {
    if (!Number.isFinite(key)) throw new MrmError(ErrorCode.BadKey, `key ${String(key)} is not a finite number`);
    return;
  }
  if (Array.isArray(key)) {
    if (depth >= MAX_KEY_DEPTH)
      throw new MrmError(ErrorCode.BadKey, `key ${describe(key)} nests arrays deeper than ${MAX_KEY_DEPTH}`);
    for (const k of key) checkKey(k, depth + 1);
    return;
  }
  throw new MrmError(ErrorCode.BadKey, `key ${describe(key)} is not a string, a finite number, or an array of those`);
}

/** A short one-line rendering of a bad key for messages (a function's source would be neither). */
function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return 'an object';
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/** Canonical form of a key; throws {@link MrmError} `E_BAD_KEY` for anything that is not a key. */
export function canonicalKey(key: unknown): CanonicalKey {
  checkKey(key, 0);
  const text = JSON.stringify(key);
  // At most 3 UTF-8 bytes per code unit: short keys need no counting.
  if (text.length * 3 > MAX_CANONICAL_KEY_LENGTH) {
    const bytes = utf8Length(text);
    if (bytes > MAX_CANONICAL_KEY_LENGTH) {
      throw new MrmError(
        ErrorCode.BadKey,
        `key ${text.slice(0, 40)}… is ${bytes} bytes long as UTF-8 JSON; keys are limited to ${MAX_CANONICAL_KEY_LENGTH}`,
      );
    }
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
