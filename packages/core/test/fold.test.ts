import { aggregates, decode, encode } from '@mrm/core';
import { describe, expect, it } from 'vitest';

/** Deterministic pseudo-random integers. */
function* ints(seed: number, n: number, mod: number): Generator<number> {
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    yield x % mod;
  }
}

const cases = {
  sum: aggregates.sum(),
  count: aggregates.count(),
  min: aggregates.min(),
  max: aggregates.max(),
  mean: aggregates.mean(),
};

describe('fold of the built-in aggregates', () => {
  for (const [name, parts] of Object.entries(cases)) {
    it(`${name}: folding one value at a time (also combined values off the wire) equals combine`, () => {
      const fold = parts.fold as (k: unknown, acc: unknown, v: unknown) => unknown;
      const combine = parts.combine as (k: unknown, vs: unknown[]) => unknown;
      const reduce = parts.reduce as (k: unknown, vs: unknown[]) => unknown;
      expect(fold).toBeTypeOf('function');
      for (let seed = 1; seed < 40; seed++) {
        const values = [...ints(seed, 1 + (seed % 17) * 5, 1000)];
        // Map side: fold raw values in two groups; merge side: fold the decoded group results.
        const half = Math.floor(values.length / 2);
        const group = (vs: number[]) => vs.reduce<unknown>((acc, v) => fold('k', acc, v), undefined);
        const sent = [group(values.slice(0, half)), group(values.slice(half))]
          .filter((v) => v !== undefined)
          .map((v) => decode(encode(v)));
        const merged = sent.reduce<unknown>((acc, v) => fold('k', acc, v), undefined);
        expect(reduce('k', [merged])).toEqual(reduce('k', [combine('k', values)]));
        expect(reduce('k', [merged])).toEqual(reduce('k', values));
      }
    });
  }
});
