import type { AggregateParts } from '../job.js';
import { extremum } from './extremum.js';
import type { OrderedItem } from './order.js';

/**
 * Largest value emitted for a key. `map` emits numbers or strings (not NaN); numbers compare by
 * value, strings by code point, and any string is larger than any number. The state and query
 * result are the largest value so far. Exact.
 *
 * ```ts
 * defineJob({ name: 'last-seen', input: 'jsonl', map: (r, emit) => emit(r.ip, r.time), ...aggregates.max() });
 * ```
 */
export function max<T extends OrderedItem = number>(): AggregateParts<T, T, T, T> {
  return extremum<T>('max');
}
