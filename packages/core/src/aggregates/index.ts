/**
 * Built-in aggregates (placeholder being replaced by the aggregates work): each returns the
 * combine + reduce + merge (+ finalize) parts of a job, so a job is `{ name, map, ...aggregates.sum() }`.
 */
import type { AggregateParts } from '../job.js';

const add = (_k: unknown, values: number[]): number => {
  let s = 0;
  for (const v of values) s += v;
  return s;
};

/** Sum of numeric values. */
function sum(): AggregateParts<number, number, number, number> {
  return { combine: add, reduce: add, merge: (_k, prev, next) => (prev ?? 0) + next };
}

/** The built-in aggregates. */
export const aggregates = { sum } as const;
