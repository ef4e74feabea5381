/** Random values for aggregate tests, and independent reference orderings. */
import type { Random } from './random.js';

/** Characters that stress ordering: ASCII, Latin-1, CJK, a private-use char above the surrogates, astral. */
const CHARACTERS = ['a', 'b', 'z', 'A', ' ', 'é', '中', '\uE000', '\uFFFD', '😀', '𝄞'];

/** A short string from {@link CHARACTERS} (possibly empty). */
export function randomString(rnd: Random): string {
  let s = '';
  const n = rnd.int(4);
  for (let i = 0; i < n; i++) s += rnd.pick(CHARACTERS);
  return s;
}

/** A number whose sums stay exact: a multiple of 0.25 in [-100, 100]. */
export function randomNumber(rnd: Random): number {
  return (rnd.int(801) - 400) / 4;
}

/** A string or a number. */
export function randomScalar(rnd: Random): string | number {
  return rnd.chance(0.5) ? randomString(rnd) : randomNumber(rnd);
}

/** A key-like item: a scalar or a short array of scalars (nested once at most). */
export function randomItem(rnd: Random): string | number | unknown[] {
  if (rnd.chance(0.8)) return randomScalar(rnd);
  return Array.from({ length: rnd.int(3) }, () => (rnd.chance(0.2) ? [randomScalar(rnd)] : randomScalar(rnd)));
}

/** `count` values from `make`, drawn from a pool so that values repeat. */
export function randomValues<T>(rnd: Random, count: number, make: (rnd: Random) => T): T[] {
  const pool = Array.from({ length: 1 + rnd.int(count + 1) }, () => make(rnd));
  return Array.from({ length: count }, () => rnd.pick(pool));
}

/** Code point order computed from the code points themselves (independent of the code under test). */
export function byCodePoints(a: string, b: string): number {
  const ca = Array.from(a, (c) => c.codePointAt(0) as number);
  const cb = Array.from(b, (c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    if (ca[i] !== cb[i]) return (ca[i] as number) - (cb[i] as number);
  }
  return ca.length - cb.length;
}

/** Reference order of scalars: numbers by value, then strings by code point. */
export function byScalar(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return byCodePoints(a, b);
}
