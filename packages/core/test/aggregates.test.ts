import { aggregates, type Key, resolveJob } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { type AnyParts, resultViaPipeline, stateViaPipeline, viaWire } from './support/pipeline.js';
import { type Random, seeded } from './support/random.js';
import {
  byCodePoints,
  byScalar,
  randomItem,
  randomNumber,
  randomScalar,
  randomString,
  randomValues,
} from './support/values.js';

const TRIALS = 200;
const KEYS: Key[] = ['k', 42, ['host', 'example.org', 3]];

/**
 * Checks that however `values` are batched, combined and merged, the finalized result equals
 * `direct(values)`, over many random value lists and groupings.
 */
function expectGroupingFree(
  parts: AnyParts,
  makeValues: (rnd: Random) => unknown[],
  direct: (values: unknown[]) => unknown,
): void {
  for (let seed = 1; seed <= TRIALS; seed++) {
    const rnd = seeded(seed);
    const values = makeValues(rnd);
    const key = rnd.pick(KEYS);
    expect(resultViaPipeline(parts, key, values, rnd), `seed ${seed}`).toEqual(direct(values));
  }
}

/** 1 to 300 values from `make`, with repeats. */
const listOf =
  (make: (rnd: Random) => unknown) =>
  (rnd: Random): unknown[] =>
    randomValues(rnd, 1 + rnd.int(300), make);

const numbers = (values: unknown[]) => values as number[];
const total = (values: unknown[]) => numbers(values).reduce((a, b) => a + b, 0);

describe('aggregates', () => {
  it('are each a function returning parts a job spec accepts', () => {
    const parts = [
      aggregates.sum(),
      aggregates.count(),
      aggregates.min(),
      aggregates.max(),
      aggregates.mean(),
      aggregates.distinct(),
      aggregates.approxDistinct(),
      aggregates.topK(3),
    ];
    for (const p of parts) {
      const job = resolveJob({ name: 'agg', map: () => {}, ...p });
      expect(job.incremental).toBe(true);
      expect(typeof job.combine).toBe('function');
    }
  });
});

describe('aggregates.sum', () => {
  it('gives the total of the values however they are grouped', () => {
    expectGroupingFree(aggregates.sum(), listOf(randomNumber), total);
  });

  it('adds floats up to rounding', () => {
    const values = Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 1e3);
    const result = resultViaPipeline(aggregates.sum(), 'k', values, seeded(7)) as number;
    expect(result).toBeCloseTo(total(values), 6);
  });

  it('rejects a value that is not a number with E_BAD_VALUE naming the key', () => {
    expect(() => aggregates.sum().reduce('host-a', [1, '2'] as never)).toThrow(
      expect.objectContaining({ code: 'E_BAD_VALUE', message: expect.stringContaining('"host-a"') }),
    );
  });
});

describe('aggregates.count', () => {
  const anything = (rnd: Random): unknown =>
    rnd.pick([null, 1, 'x', { a: 1 }, [1, 2], true, { '~mrm': 'mean', sum: 1, count: 2 }, randomItem(rnd)]);

  it('counts every emitted value whatever it is, however grouped', () => {
    expectGroupingFree(aggregates.count(), listOf(anything), (values) => values.length);
  });

  it('combines to a tagged partial that reduce counts as its n', () => {
    const parts = aggregates.count();
    const partial = parts.combine?.('k', ['a', 'b', 'c']);
    expect(partial).toEqual({ '~mrm': 'count', n: 3 });
    expect(parts.reduce('k', [partial, 'd', partial])).toBe(7);
  });
});

describe('aggregates.min and aggregates.max', () => {
  it('give the smallest and the largest number however grouped', () => {
    const sorted = (values: unknown[]) =>
      numbers(values)
        .slice()
        .sort((a, b) => a - b);
    expectGroupingFree(aggregates.min(), listOf(randomNumber), (v) => sorted(v)[0]);
    expectGroupingFree(aggregates.max(), listOf(randomNumber), (v) => sorted(v).at(-1));
  });

  it('order strings by code point and put every number before every string', () => {
    const sorted = (values: unknown[]) => (values as (string | number)[]).slice().sort(byScalar);
    expectGroupingFree(aggregates.min<string | number>(), listOf(randomScalar), (v) => sorted(v)[0]);
    expectGroupingFree(aggregates.max<string | number>(), listOf(randomScalar), (v) => sorted(v).at(-1));
  });

  it('order astral characters after the last BMP characters, as UTF-8 does', () => {
    expect(aggregates.max<string>().reduce('k', ['\uFFFF', '😀', '\uE000'])).toBe('😀');
    expect(aggregates.min<string>().reduce('k', ['\uFFFF', '😀', '\uE000'])).toBe('\uE000');
  });

  it('break the tie between 0 and -0 the same way whatever the order', () => {
    expect(Object.is(aggregates.min().reduce('k', [0, -0]), -0)).toBe(true);
    expect(Object.is(aggregates.min().reduce('k', [-0, 0]), -0)).toBe(true);
    expect(Object.is(aggregates.max().reduce('k', [-0, 0]), 0)).toBe(true);
  });

  it('reject NaN, objects and missing values with E_BAD_VALUE', () => {
    for (const bad of [Number.NaN, { a: 1 }, null, undefined, [1]]) {
      expect(() => aggregates.min().reduce('k', [1, bad] as never)).toThrow(
        expect.objectContaining({ code: 'E_BAD_VALUE' }),
      );
      expect(() => aggregates.max().combine?.('k', [bad] as never)).toThrow(
        expect.objectContaining({ code: 'E_BAD_VALUE' }),
      );
    }
  });
});

describe('aggregates.mean', () => {
  it('gives sum / count however grouped', () => {
    expectGroupingFree(aggregates.mean(), listOf(randomNumber), (v) => total(v) / v.length);
  });

  it('keeps { sum, count } as its state', () => {
    const parts = aggregates.mean();
    const state = parts.merge?.(
      'k',
      { sum: 10, count: 4 },
      parts.reduce('k', [1, 2, parts.combine?.('k', [3, 4]) as never]),
    );
    expect(state).toEqual({ sum: 20, count: 8 });
    expect(parts.finalize?.('k', state as never)).toBe(2.5);
  });

  it('rejects a value that is not a number with E_BAD_VALUE', () => {
    expect(() => aggregates.mean().reduce('k', ['x'] as never)).toThrow(
      expect.objectContaining({ code: 'E_BAD_VALUE' }),
    );
  });
});

describe('aggregates.distinct', () => {
  const canonicalSorted = (values: unknown[]) => [...new Set(values.map((v) => JSON.stringify(v)))].sort(byCodePoints);

  it('counts distinct items by their JSON text however grouped', () => {
    expectGroupingFree(aggregates.distinct(), listOf(randomItem), (v) => canonicalSorted(v).length);
  });

  it('lists the distinct items sorted by JSON text with { values: true }', () => {
    expectGroupingFree(aggregates.distinct({ values: true }), listOf(randomItem), (v) =>
      canonicalSorted(v).map((t) => JSON.parse(t)),
    );
  });

  it('reaches the same state, the sorted JSON texts, whatever the grouping', () => {
    const parts = aggregates.distinct();
    for (let seed = 1; seed <= 50; seed++) {
      const rnd = seeded(seed);
      const values = randomValues(rnd, 1 + rnd.int(200), randomItem);
      expect(stateViaPipeline(parts, 'k', values, rnd)).toEqual(canonicalSorted(values));
    }
  });

  it('tells 1 from "1" and [1] apart', () => {
    expect(aggregates.distinct().reduce('k', [1, '1', [1], 1.0, '1'])).toEqual(['"1"', '1', '[1]']);
  });

  it('rejects objects, NaN and bad options', () => {
    for (const bad of [{ a: 1 }, Number.NaN, null, [{}]]) {
      expect(() => aggregates.distinct().reduce('k', [bad] as never)).toThrow(
        expect.objectContaining({ code: 'E_BAD_VALUE' }),
      );
    }
    expect(() => aggregates.distinct({ values: 'yes' } as never)).toThrow(
      expect.objectContaining({ code: 'E_JOB_INVALID' }),
    );
  });
});

describe('aggregates.topK (within capacity)', () => {
  const direct = (k: number) => (values: unknown[]) => {
    const counts = new Map<string | number, number>();
    for (const v of values as (string | number)[]) counts.set(v, (counts.get(v) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1] || byScalar(a[0], b[0])).slice(0, k);
  };

  it('gives the k most frequent items, ties by item, however grouped', () => {
    for (const k of [1, 3, 10]) expectGroupingFree(aggregates.topK(k), listOf(randomScalar), direct(k));
  });

  it('adds weights with { weighted: true }', () => {
    const weightedDirect = (values: unknown[]) => {
      const counts = new Map<string | number, number>();
      for (const [item, w] of values as [string, number][]) counts.set(item, (counts.get(item) ?? 0) + w);
      return [...counts]
        .filter(([, n]) => n > 0)
        .sort((a, b) => b[1] - a[1] || byScalar(a[0], b[0]))
        .slice(0, 4);
    };
    expectGroupingFree(
      aggregates.topK(4, { weighted: true }),
      listOf((rnd) => [randomString(rnd), rnd.int(5)]),
      weightedDirect,
    );
  });

  it('sorts by count descending, then numbers before strings, strings by code point', () => {
    const parts = aggregates.topK(10);
    const state = viaWire(parts.reduce('k', ['b', 'a', 2, 10, '😀', '\uFFFF', 'b', 10]));
    expect(parts.finalize?.('k', state)).toEqual([
      [10, 2],
      ['b', 2],
      [2, 1],
      ['a', 1],
      ['\uFFFF', 1],
      ['😀', 1],
    ]);
  });

  it('rejects bad items, bad weights and bad options', () => {
    expect(() => aggregates.topK(2).reduce('k', [{ a: 1 }] as never)).toThrow(
      expect.objectContaining({ code: 'E_BAD_VALUE' }),
    );
    expect(() => aggregates.topK(2).reduce('k', [Number.NaN])).toThrow(
      expect.objectContaining({ code: 'E_BAD_VALUE' }),
    );
    for (const bad of ['a', ['a'], ['a', -1], ['a', Number.NaN], ['a', Number.POSITIVE_INFINITY], ['a', '1']]) {
      expect(() => aggregates.topK(2, { weighted: true }).reduce('k', [bad] as never)).toThrow(
        expect.objectContaining({ code: 'E_BAD_VALUE' }),
      );
    }
    for (const [k, capacity] of [
      [0, undefined],
      [1.5, undefined],
      [3, 2],
      [3, 3.5],
    ]) {
      expect(() => aggregates.topK(k as number, { capacity })).toThrow(
        expect.objectContaining({ code: 'E_JOB_INVALID' }),
      );
    }
  });
});

describe('map-side partials of distinct and topK', () => {
  /** The partial after folding `n` distinct items every 32 values, as the map worker does. */
  function foldHotKey(parts: AnyParts, n: number): { runs: unknown[][] } {
    let list: unknown[] = [];
    for (let i = 0; i < n; i++) {
      list.push(`ip-${i}`);
      if (list.length >= 32) list = [parts.combine?.('k', list)];
    }
    return parts.combine?.('k', list) as { runs: unknown[][] };
  }

  it('stay a few sorted runs holding every item when a hot key is folded every 32 values', () => {
    const distinct = foldHotKey(aggregates.distinct(), 20_000);
    expect(distinct.runs.length).toBeLessThanOrEqual(Math.ceil(Math.log2(20_000)));
    expect(distinct.runs.flat()).toHaveLength(20_000);

    const top = foldHotKey(aggregates.topK(3), 20_000);
    expect(top.runs.length).toBeLessThanOrEqual(Math.ceil(Math.log2(20_000)));
    // Flat runs: item, count, item, count…
    expect(top.runs.flat()).toHaveLength(40_000);
    const parts = aggregates.topK(3);
    const state = parts.reduce('k', [top as never]);
    // 20000 items seen once each: the state keeps 1000 (the default capacity) and says 1 may be missing.
    expect(state.top).toHaveLength(1000);
    expect(state.err).toBe(1);
    expect(parts.finalize?.('k', state)).toEqual([
      ['ip-0', 1],
      ['ip-1', 1],
      ['ip-10', 1],
    ]);
  });
});
