import type { AggregateParts } from '../job.js';
import type { Key } from '../key.js';
import { asPartial, type TaggedPartial, tagPartial } from './partial.js';

/** What `count`'s combine passes on: how many values it folded. */
export type CountPartial = TaggedPartial<'count', { readonly n: number }>;

function countAll(_key: Key, values: readonly unknown[]): number {
  let n = 0;
  for (const v of values) n += asPartial<CountPartial>(v, 'count')?.n ?? 1;
  return n;
}

/**
 * Number of values emitted for a key, whatever they are (emit `1`, `null`, the record…). The state
 * and query result are the running count. Exact.
 *
 * ```ts
 * defineJob({ name: 'hits-by-url', map: (line, emit) => emit(line.split(' ')[6] ?? '-', null), ...aggregates.count() });
 * ```
 */
export function count(): AggregateParts<unknown, number, number, number> {
  return {
    combine: (key, values) => tagPartial('count', { n: countAll(key, values) }),
    // The partial was made here, so it may be updated in place (no allocation per value).
    fold: (_key, acc, v) => {
      const add = asPartial<CountPartial>(v, 'count')?.n ?? 1;
      const partial = asPartial<CountPartial>(acc, 'count');
      if (partial === undefined) return tagPartial('count', { n: add + (acc === undefined ? 0 : 1) });
      (partial as { n: number }).n += add;
      return partial;
    },
    reduce: countAll,
    merge: (_key, prev, next) => (prev ?? 0) + next,
  };
}
