import type { AggregateParts } from '../job.js';
import type { Key } from '../key.js';
import { requireNumber } from './check.js';
import { asPartial, type TaggedPartial, tagPartial } from './partial.js';

/** The state of mean: the sum and number of values so far. */
export interface MeanState {
  readonly sum: number;
  readonly count: number;
}

/** What mean's combine passes on. */
export type MeanPartial = TaggedPartial<'mean', MeanState>;

function sumAndCount(key: Key, values: readonly unknown[]): MeanState {
  let sum = 0;
  let count = 0;
  for (const v of values) {
    const partial = asPartial<MeanPartial>(v, 'mean');
    if (partial !== undefined) {
      sum += partial.sum;
      count += partial.count;
    } else {
      sum += requireNumber('mean', key, v);
      count++;
    }
  }
  return { sum, count };
}

/**
 * Arithmetic mean of the numbers emitted for a key. `map` emits numbers; the state is
 * `{ sum, count }` and queries return `sum / count`. Exact up to float rounding of the sum.
 *
 * ```ts
 * defineJob({ name: 'mean-latency', input: 'jsonl', map: (r, emit) => emit(r.url, r.ms), ...aggregates.mean() });
 * ```
 */
export function mean(): AggregateParts<number | MeanPartial, MeanState, MeanState, number> {
  return {
    combine: (key, values) => tagPartial('mean', sumAndCount(key, values)),
    fold: (key, acc, v) => {
      const partial = asPartial<MeanPartial>(acc, 'mean');
      if (partial === undefined) return tagPartial('mean', sumAndCount(key, acc === undefined ? [v] : [acc, v]));
      const add = sumAndCount(key, [v]);
      const m = partial as { sum: number; count: number };
      m.sum += add.sum;
      m.count += add.count;
      return partial;
    },
    reduce: sumAndCount,
    merge: (_key, prev, next) =>
      prev === undefined ? next : { sum: prev.sum + next.sum, count: prev.count + next.count },
    finalize: (_key, state) => state.sum / state.count,
  };
}
