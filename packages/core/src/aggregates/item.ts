/**
 * Items of distinct and approxDistinct: emitted values compared the way keys are, by their
 * canonical form (JSON text), so `1` and `"1"` differ and `[1, "a"]` is one item.
 */
import { isMrmError } from '../errors.js';
import { type CanonicalKey, canonicalKey, type Key, MAX_CANONICAL_KEY_LENGTH } from '../key.js';
import { badValue } from './check.js';

const EXPECTED = `a string, a finite number or an array of those (at most ${MAX_CANONICAL_KEY_LENGTH} bytes as UTF-8 JSON)`;

/** The canonical form of an emitted item; `E_BAD_VALUE` for anything that could not be a key. */
export function canonicalItem(name: string, key: Key, value: unknown): CanonicalKey {
  try {
    return canonicalKey(value);
  } catch (e) {
    if (!isMrmError(e)) throw e;
    throw badValue(name, key, value, EXPECTED, e);
  }
}
