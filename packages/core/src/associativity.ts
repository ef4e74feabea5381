/**
 * Whether a job's partial results may be recombined in any grouping and order — what salting a
 * hot key relies on (its sub-keys are reduced apart, and their partials merged into the key's
 * state one after another). Built-in aggregates declare it; a user's own functions are checked
 * on real values before a map task salts ({@link checkAssociative}).
 */
import { encode } from './codec.js';
import type { Key } from './key.js';
import type { ResolvedJob } from './resolve-job.js';

/** Marks a function as part of an aggregate whose partials recombine exactly (a global symbol: survives bundling). */
const ASSOCIATIVE = Symbol.for('mrm.associative');

/** Declares that `fn` (a reduce, merge or combine) belongs to an associative aggregate. */
export function declareAssociative<F extends (...args: never[]) => unknown>(fn: F): F {
  Object.defineProperty(fn, ASSOCIATIVE, { value: true, enumerable: false });
  return fn;
}

/** Marks every function of a built-in aggregate's parts. */
export function declareAssociativeParts<P extends object>(parts: P): P {
  for (const v of Object.values(parts)) if (typeof v === 'function') declareAssociative(v);
  return parts;
}

/** True when the job's `reduce` and `merge` both come from an aggregate that declares associativity. */
export function declaresAssociative(job: Pick<ResolvedJob, 'reduce' | 'merge'>): boolean {
  const marked = (fn: unknown) =>
    typeof fn === 'function' && (fn as unknown as Record<symbol, unknown>)[ASSOCIATIVE] === true;
  return marked(job.reduce) && marked(job.merge);
}

/** Outcome of {@link checkAssociative}. */
export type AssociativityCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string }
  /** Too few values to tell. */
  | undefined;

/** Fewest values of a key that the check needs (three groups). */
export const MIN_CHECK_VALUES = 3;
/** Most values of a key the check uses. */
const MAX_CHECK_VALUES = 96;

const clone = <T>(v: T): T => structuredClone(v);

function same(a: unknown, b: unknown): boolean {
  const x = encode(a);
  const y = encode(b);
  if (x.byteLength !== y.byteLength) return false;
  for (let i = 0; i < x.byteLength; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Checks on real values of one key that salting gives what not salting gives. The values are cut
 * into three groups a, b, c; with `S = merge(undefined, reduce(a))` as the state before:
 *
 * - unsalted:  `merge(S, reduce(b ∪ c))`
 * - salted:    `merge(merge(S, reduce(b)), reduce(c))` and, in the other order,
 *              `merge(merge(S, reduce(c)), reduce(b))`
 *
 * and, from no state, `merge(undefined, reduce(a ∪ b ∪ c))` against `merge(S, reduce(b ∪ c))`.
 * Each pair must encode to the same bytes. A merge that keeps the last value or subtracts fails;
 * so does one whose result depends on order (a list in arrival order). Every call works on
 * clones, so a function that updates its arguments in place cannot spoil the comparison.
 * Throws what the user's functions throw.
 */
export function checkAssociative(
  job: Pick<ResolvedJob, 'reduce' | 'merge'>,
  key: Key,
  values: readonly unknown[],
): AssociativityCheck {
  const merge = job.merge;
  if (merge === undefined) return { ok: false, reason: 'the job has no merge (plain MapReduce reduces once per run)' };
  const sample = values.slice(0, MAX_CHECK_VALUES);
  if (sample.length < MIN_CHECK_VALUES) return undefined;
  // Uneven groups: equal halves would let "keep the last" pass when both halves reduce alike.
  const i = Math.max(1, Math.floor(sample.length / 4));
  const j = i + Math.max(1, Math.floor((sample.length - i) / 3));
  const a = sample.slice(0, i);
  const b = sample.slice(i, j);
  const c = sample.slice(j);
  const reduce = (vs: unknown[]) => job.reduce(key, clone(vs));
  const before = () => merge(key, undefined, reduce(a));
  const unsalted = merge(key, before(), reduce([...b, ...c]));
  const bc = merge(key, merge(key, before(), reduce(b)), reduce(c));
  if (!same(unsalted, bc)) {
    return {
      ok: false,
      reason: 'merging partial results one after another differs from merging them reduced together',
    };
  }
  const cb = merge(key, merge(key, before(), reduce(c)), reduce(b));
  if (!same(unsalted, cb)) return { ok: false, reason: 'merging partial results in another order gives another state' };
  if (!same(merge(key, undefined, reduce(sample)), unsalted)) {
    return { ok: false, reason: "a key's first state differs when its values come in two parts" };
  }
  return { ok: true };
}
