import type { AggregateParts } from '../job.js';
import type { Key } from '../key.js';
import { requireNumber } from './check.js';

function addAll(key: Key, values: readonly unknown[]): number {
  let total = 0;
  for (const v of values) total += requireNumber('sum', key, v);
  return total;
}

/**
 * Sum of the numbers emitted for a key. `map` emits numbers; the state and query result are the
 * running total. Exact for integers up to 2^53; float sums are subject to rounding, which may
 * differ in the last bits with how values were grouped into batches.
 *
 * ```ts
 * defineJob({ name: 'bytes-by-host', input: 'jsonl', map: (r, emit) => emit(r.host, r.bytes), ...aggregates.sum() });
 * ```
 */
export function sum(): AggregateParts<number, number, number, number> {
  return {
    combine: addAll,
    fold: (key, acc, v) => (acc ?? 0) + requireNumber('sum', key, v),
    reduce: addAll,
    merge: (_key, prev, next) => (prev ?? 0) + next,
  };
}
