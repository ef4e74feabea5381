/** The shared body of min and max: the first or the last value in the item order. */
import { ErrorCode, MrmError } from '../errors.js';
import type { AggregateParts } from '../job.js';
import type { Key } from '../key.js';
import { badValue, describeValue } from './check.js';
import { compareItems, isOrderedItem, type OrderedItem } from './order.js';

/** Which end of the order an extremum keeps. */
export type ExtremumKind = 'min' | 'max';

/** combine, reduce and merge of min or max: the same function at every stage. */
export function extremum<T extends OrderedItem>(kind: ExtremumKind): AggregateParts<T, T, T, T> {
  const sign = kind === 'min' ? 1 : -1;
  const better = (a: T, b: T): T => (sign * compareItems(b, a) < 0 ? b : a);
  const pick = (key: Key, values: readonly T[]): T => {
    let best: T | undefined;
    for (const v of values) {
      if (!isOrderedItem(v)) throw badValue(kind, key, v, 'a number (not NaN) or a string');
      best = best === undefined ? v : better(best, v);
    }
    if (best === undefined) {
      throw new MrmError(
        ErrorCode.Internal,
        `aggregates.${kind}(): no values to pick from for key ${describeValue(key)}`,
      );
    }
    return best;
  };
  return {
    combine: pick,
    fold: (key, acc, v) => {
      if (!isOrderedItem(v)) throw badValue(kind, key, v, 'a number (not NaN) or a string');
      return acc === undefined ? v : better(acc, v);
    },
    reduce: pick,
    merge: (_key, prev, next) => (prev === undefined ? next : better(prev, next)),
  };
}
