import { aggregates, type TopKState } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { finalized, stateViaPipeline } from './support/pipeline.js';
import { seeded } from './support/random.js';

/** Zipf-like stream: item i appears about n / (i + 1) times, shuffled. */
function zipf(distinctItems: number, n: number, seed: number): string[] {
  const rnd = seeded(seed);
  const weights = Array.from({ length: distinctItems }, (_, i) => 1 / (i + 1));
  const sum = weights.reduce((a, b) => a + b, 0);
  const values: string[] = [];
  weights.forEach((w, i) => {
    for (let c = Math.max(1, Math.round((w / sum) * n)); c > 0; c--) values.push(`item-${i}`);
  });
  return rnd.shuffle(values);
}

function trueCounts(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

describe('aggregates.topK beyond its capacity', () => {
  it('keeps at most capacity items and bounds every count by the recorded err', () => {
    const parts = aggregates.topK(3, { capacity: 20 });
    for (let seed = 1; seed <= 60; seed++) {
      const values = zipf(200, 2000, seed);
      const state = stateViaPipeline(parts, 'k', values, seeded(seed)) as TopKState;
      expect(state.top.length).toBeLessThanOrEqual(20);
      const kept = new Map(state.top.map(([item, n]) => [item, n]));
      const outOfBounds = [...trueCounts(values)].filter(([item, n]) => {
        const reported = kept.get(item) ?? 0;
        return reported > n || n > reported + state.err;
      });
      expect(outOfBounds, `seed ${seed}, err ${state.err}`).toEqual([]);
    }
  });

  it('still finds the heavy hitters of a skewed stream with exact counts', () => {
    const values = zipf(5000, 100_000, 1);
    const state = stateViaPipeline(aggregates.topK(5), 'k', values, seeded(3));
    const expected = [...trueCounts(values)].sort((a, b) => b[1] - a[1]).slice(0, 5);
    expect(finalized(aggregates.topK(5), 'k', state)).toEqual(expected);
  });

  it('counts a batch exactly before truncating it to capacity (the map side never truncates)', () => {
    const parts = aggregates.topK(2, { capacity: 2 });
    const values = ['a', 'b', 'c', 'c', 'd', 'd', 'd', 'a', 'e'];
    const state = parts.reduce('k', [parts.combine?.('k', values.slice(0, 4)), ...values.slice(4)] as never);
    expect(state).toEqual({
      top: [
        ['d', 3],
        ['a', 2],
      ],
      err: 2,
    });
    expect(parts.finalize?.('k', state)).toEqual([
      ['d', 3],
      ['a', 2],
    ]);
  });

  it('adds the largest dropped count to err when a merge truncates', () => {
    const parts = aggregates.topK(1, { capacity: 2 });
    const merged = parts.merge?.(
      'k',
      {
        top: [
          ['a', 5],
          ['b', 4],
        ],
        err: 1,
      },
      {
        top: [
          ['c', 3],
          ['b', 1],
        ],
        err: 0,
      },
    );
    expect(merged).toEqual({
      top: [
        ['a', 5],
        ['b', 5],
      ],
      err: 4,
    });
  });
});
