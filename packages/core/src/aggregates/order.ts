/**
 * The order of items that min, max and topK compare: every number before every string, numbers
 * by value (with -0 before 0 so ties never depend on arrival order), strings by code point (the
 * order results are sorted in).
 */
import { compareCanonicalKeys } from '../key.js';

/** An item min, max and topK can order. */
export type OrderedItem = number | string;

/** True when `value` is an item they accept: a string or a number that is not NaN. */
export function isOrderedItem(value: unknown): value is OrderedItem {
  return typeof value === 'string' || (typeof value === 'number' && !Number.isNaN(value));
}

/** Negative, zero or positive as `a` sorts before, with or after `b`. */
export function compareItems(a: OrderedItem, b: OrderedItem): number {
  if (typeof a === 'number') {
    if (typeof b !== 'number') return -1;
    if (a !== b) return a < b ? -1 : 1;
    if (a === 0) return Object.is(a, -0) === Object.is(b, -0) ? 0 : Object.is(a, -0) ? -1 : 1;
    return 0;
  }
  if (typeof b === 'number') return 1;
  return compareCanonicalKeys(a, b);
}
