import type { AggregateParts } from '../job.js';
import { extremum } from './extremum.js';
import type { OrderedItem } from './order.js';

/**
 * Smallest value emitted for a key. `map` emits numbers or strings (not NaN); numbers compare by
 * value, strings by code point, and any number is smaller than any string. The state and query
 * result are the smallest value so far. Exact.
 *
 * ```ts
 * defineJob({ name: 'first-seen', input: 'jsonl', map: (r, emit) => emit(r.ip, r.time), ...aggregates.min() });
 * ```
 */
export function min<T extends OrderedItem = number>(): AggregateParts<T, T, T, T> {
  return extremum<T>('min');
}
