/** Turning canonical keys back into keys for user code, with a fast path for plain strings. */
import { type CanonicalKey, type Key, keyOf } from '@mrm/core';

/** The key a canonical form stands for; avoids JSON.parse for strings without escapes. */
export function keyOfCanonical(ck: CanonicalKey): Key {
  if (ck.charCodeAt(0) === 34 && ck.indexOf('\\') < 0) return ck.slice(1, -1);
  return keyOf(ck);
}
