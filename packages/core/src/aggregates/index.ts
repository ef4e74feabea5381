/**
 * Built-in aggregates: each returns the combine + reduce + merge (+ finalize) parts of a job, so a
 * job is three lines. docs/aggregates.md compares them (what map emits, state, result, memory).
 *
 * ```ts
 * import { defineJob, aggregates } from '@mrm/core';
 * export default defineJob({
 *   name: 'top-urls',
 *   input: 'jsonl',
 *   map: (r: { host: string; url: string }, emit) => emit(r.host, r.url),
 *   ...aggregates.topK(10),
 * });
 * ```
 *
 * Every aggregate gives the same result however values are split into batches and map-side
 * chunks, combined (any number of times) and merged — exactly, except where its documentation
 * says otherwise (float rounding, approxDistinct's estimate, topK beyond its capacity).
 */
import { declareAssociativeParts } from '../associativity.js';
import { codeIdentityOf, declareCodeIdentity, describeArguments } from '../code-identity.js';
import { approxDistinct } from './approx-distinct.js';
import { count } from './count.js';
import { distinct } from './distinct.js';
import { max } from './max.js';
import { mean } from './mean.js';
import { min } from './min.js';
import { sum } from './sum.js';
import { topK } from './top-k.js';

export type { ApproxDistinctOptions, ApproxDistinctPartial, ApproxDistinctState } from './approx-distinct.js';
export type { CountPartial } from './count.js';
export type { DistinctOptions, DistinctPartial, DistinctState } from './distinct.js';
export type { MeanPartial, MeanState } from './mean.js';
export type { OrderedItem } from './order.js';
export type { CountRun, TopKEntry, TopKOptions, TopKPartial, TopKState } from './top-k.js';

/** The built-in aggregates: `{ name, map, ...aggregates.sum() }`. */
export const aggregates = {
  sum: associative(sum),
  count: associative(count),
  min: associative(min),
  max: associative(max),
  mean: associative(mean),
  distinct: associative(distinct),
  approxDistinct: associative(approxDistinct),
  topK: associative(topK),
} as const;

/**
 * The factory with every function it returns declared associative: salting may reduce a hot
 * key's values apart and merge the partials one after another (decisions/0016). Each function
 * also carries what it was made from (`topK([5])`), which its source text does not show.
 */
function associative<F extends (...args: never[]) => object>(factory: F): F {
  return ((...args: Parameters<F>) => {
    const parts = factory(...args) as Record<string, unknown>;
    const identity = `${factory.name}(${describeArguments(args)})`;
    for (const [name, fn] of Object.entries(parts)) {
      if (typeof fn !== 'function') continue;
      const known = codeIdentityOf(fn);
      // A function shared by calls with other arguments gets a wrapper of its own to label.
      const own = known === undefined || known === identity ? fn : (...a: unknown[]) => fn(...a);
      parts[name] = declareCodeIdentity(own as (...a: never[]) => unknown, identity);
    }
    return declareAssociativeParts(parts);
  }) as F;
}
