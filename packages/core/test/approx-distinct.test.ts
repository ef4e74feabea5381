import { aggregates, decode, encode } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { stateViaPipeline } from './support/pipeline.js';
import { seeded } from './support/random.js';
import { randomItem, randomValues } from './support/values.js';

const items = (n: number, prefix = 'item') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

function estimateOf(values: readonly unknown[], precision?: number): number {
  const parts = aggregates.approxDistinct({ precision });
  return parts.finalize?.('k', parts.reduce('k', values as never)) as number;
}

describe('aggregates.approxDistinct', () => {
  it('estimates 100k distinct items within 2% at precision 14', () => {
    for (const prefix of ['ip', 'user', 'url']) {
      const estimate = estimateOf(items(100_000, prefix));
      expect(Math.abs(estimate - 100_000) / 100_000, `${prefix}: ${estimate}`).toBeLessThan(0.02);
    }
  });

  it('is within a few standard errors at other precisions', () => {
    for (const precision of [4, 8, 10, 16]) {
      const standardError = 1.04 / Math.sqrt(2 ** precision);
      const estimate = estimateOf(items(50_000), precision);
      expect(Math.abs(estimate - 50_000) / 50_000, `p=${precision}: ${estimate}`).toBeLessThan(4 * standardError);
    }
  });

  it('is exact for small counts and nearly so up to thousands', () => {
    for (let n = 1; n <= 30; n++) expect(estimateOf(items(n, `small${n}`)), `n=${n}`).toBe(n);
    for (const n of [100, 1000, 5000]) {
      const estimate = estimateOf(items(n, 'medium'));
      expect(Math.abs(estimate - n) / n, `n=${n}: ${estimate}`).toBeLessThan(0.01);
    }
  });

  it('ignores repeats: the sketch of a multiset is the sketch of its set', () => {
    const parts = aggregates.approxDistinct();
    const once = parts.reduce('k', items(3000));
    const thrice = parts.reduce('k', [...items(3000), ...items(3000), ...items(3000).reverse()]);
    expect(thrice).toEqual(once);
  });

  it('merges sketches into exactly the sketch of the union', () => {
    const parts = aggregates.approxDistinct();
    for (const [a, b] of [
      [10, 20],
      [2000, 3000],
      [50_000, 40_000],
    ] as const) {
      const left = items(a, 'x');
      const right = items(b, 'x').slice(a / 2);
      const union = parts.reduce('k', [...left, ...right]);
      const merged = parts.merge?.('k', parts.reduce('k', left), parts.reduce('k', right));
      expect(merged).toEqual(union);
      expect(parts.merge?.('k', parts.reduce('k', right), parts.reduce('k', left))).toEqual(union);
    }
  });

  it('reaches the same sketch however values are batched and combined', () => {
    const parts = aggregates.approxDistinct({ precision: 8 });
    for (let seed = 1; seed <= 100; seed++) {
      const rnd = seeded(seed);
      // Up to 300 distinct items at precision 8 crosses from sparse to dense (64 registers).
      const values = randomValues(rnd, 1 + rnd.int(600), randomItem);
      const direct = parts.reduce('k', values as never);
      const state = stateViaPipeline(parts, 'k', values, rnd) as Uint8Array;
      // Decoded bins are Buffers: compare the bytes.
      expect(Uint8Array.from(state), `seed ${seed}`).toEqual(Uint8Array.from(direct));
      expect(parts.finalize?.('k', state)).toBe(parts.finalize?.('k', direct));
    }
  });

  it('folds a hot key every 32 values on the map side into the sketch one reduce makes', () => {
    for (const precision of [10, 14]) {
      const parts = aggregates.approxDistinct({ precision });
      // Repeats and enough items to cross from sparse to dense (a quarter of the registers).
      const values = Array.from({ length: 12_000 }, (_, i) => `ip-${(i * 7) % 9000}`);
      let list: unknown[] = [];
      for (const v of values) {
        list.push(v);
        if (list.length >= 32) list = [parts.combine?.('k', list as never)];
      }
      expect(parts.reduce('k', list as never), `p=${precision}`).toEqual(parts.reduce('k', values));
    }
  });

  it('keeps a sparse state while few registers are set, then 2^precision register bytes', () => {
    const parts = aggregates.approxDistinct();
    const small = parts.reduce('k', items(100));
    expect(small.byteLength).toBeLessThan(2 + 4 * 100 + 1);
    const large = parts.reduce('k', items(20_000));
    expect(large.byteLength).toBe(2 + 2 ** 14);
  });

  it('travels as MessagePack bin and still merges after the trip', () => {
    const parts = aggregates.approxDistinct();
    const sketch = decode<Uint8Array>(encode(parts.reduce('k', items(500))));
    expect(sketch).toBeInstanceOf(Uint8Array);
    expect(parts.finalize?.('k', parts.merge?.('k', sketch, parts.reduce('k', ['one-more'])) as Uint8Array)).toBe(
      estimateOf([...items(500), 'one-more']),
    );
  });

  it('refuses a sketch of another precision with E_STATE', () => {
    const other = aggregates.approxDistinct({ precision: 12 }).reduce('k', items(10));
    const parts = aggregates.approxDistinct();
    expect(() => parts.merge?.('k', other, parts.reduce('k', ['a']))).toThrow(
      expect.objectContaining({ code: 'E_STATE' }),
    );
    expect(() => parts.finalize?.('k', other)).toThrow(expect.objectContaining({ code: 'E_STATE' }));
  });

  it('rejects bad precisions with E_JOB_INVALID and bad items with E_BAD_VALUE', () => {
    for (const precision of [3, 19, 10.5, Number.NaN]) {
      expect(() => aggregates.approxDistinct({ precision })).toThrow(
        expect.objectContaining({ code: 'E_JOB_INVALID' }),
      );
    }
    expect(() => aggregates.approxDistinct().reduce('k', [{ ip: '1.2.3.4' }] as never)).toThrow(
      expect.objectContaining({ code: 'E_BAD_VALUE' }),
    );
  });
});
