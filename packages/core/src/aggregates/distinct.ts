import type { AggregateParts } from '../job.js';
import { type CanonicalKey, compareCanonicalKeys, type Key, keyOf } from '../key.js';
import { badOption } from './check.js';
import { canonicalItem } from './item.js';
import { asPartial, type TaggedPartial, tagPartial } from './partial.js';
import { mergeSorted, pushRun, type RunOps, sortUnique } from './sorted-runs.js';

/** Options of {@link distinct}. */
export interface DistinctOptions {
  /** Return the sorted list of distinct items instead of their number. */
  readonly values?: boolean;
}

/** The state of distinct: the canonical forms of the items seen, sorted by code point. */
export type DistinctState = readonly CanonicalKey[];

/** What distinct's combine passes on: sorted runs of canonical items (see sorted-runs.ts). */
export type DistinctPartial = TaggedPartial<'distinct', { readonly runs: readonly DistinctState[] }>;

const keep = (a: CanonicalKey): CanonicalKey => a;
const mergeItems = (a: DistinctState, b: DistinctState): CanonicalKey[] =>
  mergeSorted(a, b, compareCanonicalKeys, keep);
const RUNS: RunOps<DistinctState> = { merge: mergeItems, size: (run) => run.length };

/** Canonical forms of the raw items among `values`, sorted and unique; partials go to `partials`. */
function rawRun(key: Key, values: readonly unknown[], partials: DistinctPartial[]): CanonicalKey[] {
  const raw: CanonicalKey[] = [];
  for (const v of values) {
    const partial = asPartial<DistinctPartial>(v, 'distinct');
    if (partial !== undefined) partials.push(partial);
    else raw.push(canonicalItem('distinct', key, v));
  }
  return sortUnique(raw, compareCanonicalKeys, keep);
}

function combine(key: Key, values: readonly unknown[]): DistinctPartial {
  const partials: DistinctPartial[] = [];
  const run = rawRun(key, values, partials);
  let runs: DistinctState[] = [];
  for (const p of partials) for (const r of p.runs) runs = pushRun(runs, r, RUNS);
  return tagPartial('distinct', { runs: pushRun(runs, run, RUNS) });
}

function reduce(key: Key, values: readonly unknown[]): DistinctState {
  const partials: DistinctPartial[] = [];
  const all = rawRun(key, values, partials);
  for (const p of partials) for (const r of p.runs) for (const item of r) all.push(item);
  return partials.length === 0 ? all : sortUnique(all, compareCanonicalKeys, keep);
}

/**
 * Exact number of distinct values emitted for a key (or, with `{ values: true }`, the values
 * themselves). `map` emits strings, finite numbers or arrays of those; they are compared by their
 * JSON text, as keys are, so `1` and `"1"` are two items. The state is the sorted list of the
 * items' JSON texts, so memory per key grows with the number of distinct items: use
 * {@link approxDistinct} when that number is large.
 *
 * ```ts
 * defineJob({ name: 'visitors-by-host', input: 'jsonl', map: (r, emit) => emit(r.host, r.ip), ...aggregates.distinct() });
 * ```
 */
export function distinct(options?: {
  readonly values?: false;
}): AggregateParts<Key | DistinctPartial, DistinctState, DistinctState, number>;
export function distinct(options: {
  readonly values: true;
}): AggregateParts<Key | DistinctPartial, DistinctState, DistinctState, Key[]>;
export function distinct(
  options?: DistinctOptions,
): AggregateParts<Key | DistinctPartial, DistinctState, DistinctState, number | Key[]>;
export function distinct(
  options: DistinctOptions = {},
): AggregateParts<Key | DistinctPartial, DistinctState, DistinctState, number | Key[]> {
  if (options.values !== undefined && typeof options.values !== 'boolean') {
    throw badOption('distinct', `option 'values' must be true or false`);
  }
  const values = options.values === true;
  return {
    combine,
    reduce,
    merge: (_key, prev, next) => (prev === undefined ? next : mergeItems(prev, next)),
    finalize: (_key, state) => (values ? state.map(keyOf) : state.length),
  };
}
