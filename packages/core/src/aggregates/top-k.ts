import type { AggregateParts } from '../job.js';
import type { Key } from '../key.js';
import { badOption, badValue } from './check.js';
import { compareItems, isOrderedItem, type OrderedItem } from './order.js';
import { asPartial, type TaggedPartial, tagPartial } from './partial.js';
import { pushRun, type RunOps } from './sorted-runs.js';

/** Options of {@link topK}. */
export interface TopKOptions {
  /** `map` emits `[item, weight]` (weight a finite number ≥ 0) instead of the item alone. */
  readonly weighted?: boolean;
  /** Most items the state keeps (default max(1000, 50 × k), at least k). */
  readonly capacity?: number;
}

/** An item and its count (or total weight). */
export type TopKEntry = readonly [item: OrderedItem, count: number];

/**
 * The state of topK: the heaviest items, by count descending then item ascending, at most
 * `capacity` of them; `err` bounds what truncation lost: an item's true count is at least its
 * count here (0 when absent) and at most that plus `err`. `err` is 0 while nothing was dropped.
 */
export interface TopKState {
  readonly top: readonly TopKEntry[];
  readonly err: number;
}

/**
 * Exact counts sorted by item, flat: item, count, item, count… (flat so that merging runs, the
 * map side's main cost for a hot key, allocates nothing per item).
 */
export type CountRun = readonly OrderedItem[];

/** What topK's combine passes on: exact counts as sorted runs (see sorted-runs.ts). */
export type TopKPartial = TaggedPartial<'topk', { readonly runs: readonly CountRun[] }>;

function mergeCountRuns(a: CountRun, b: CountRun): OrderedItem[] {
  const out: OrderedItem[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const c = compareItems(a[i] as OrderedItem, b[j] as OrderedItem);
    if (c < 0) {
      out.push(a[i] as OrderedItem, a[i + 1] as number);
      i += 2;
    } else if (c > 0) {
      out.push(b[j] as OrderedItem, b[j + 1] as number);
      j += 2;
    } else {
      out.push(a[i] as OrderedItem, (a[i + 1] as number) + (b[j + 1] as number));
      i += 2;
      j += 2;
    }
  }
  while (i < a.length) out.push(a[i++] as OrderedItem);
  while (j < b.length) out.push(b[j++] as OrderedItem);
  return out;
}

const RUNS: RunOps<CountRun> = { merge: mergeCountRuns, size: (run) => run.length / 2 };
const byItem = (a: TopKEntry, b: TopKEntry): number => compareItems(a[0], b[0]);
const byWeight = (a: TopKEntry, b: TopKEntry): number =>
  a[1] !== b[1] ? (a[1] > b[1] ? -1 : 1) : compareItems(a[0], b[0]);

/** Adds `n` to the count of `item` (-0 and 0 are one item, as a Map already treats them). */
function addTo(counts: Map<OrderedItem, number>, item: OrderedItem, n: number): void {
  const normal = item === 0 ? 0 : item;
  counts.set(normal, (counts.get(normal) ?? 0) + n);
}

/**
 * The k most frequent values emitted for a key, with their counts: `[[item, count], …]` by count
 * descending then item ascending (numbers before strings, strings by code point), at most k
 * entries. `map` emits the item (a string or a number), or with `{ weighted: true }` a pair
 * `[item, weight]` whose weight is added instead of 1.
 *
 * Exact while the key has at most `capacity` distinct items (default max(1000, 50 × k)). Beyond
 * that the state keeps only the `capacity` heaviest items after each batch, as in space-saving
 * summaries: an item's reported count is then a lower bound, short by at most the state's `err`,
 * and an item can be missing when it was repeatedly outweighed by `capacity` others in separate
 * batches. Within one batch counting is exact (the map side never truncates). Memory per key:
 * `capacity` entries.
 *
 * ```ts
 * defineJob({ name: 'top-urls-by-host', input: 'jsonl', map: (r, emit) => emit(r.host, r.url), ...aggregates.topK(10) });
 * ```
 */
export function topK(
  k: number,
  options: TopKOptions = {},
): AggregateParts<OrderedItem | readonly [OrderedItem, number] | TopKPartial, TopKState, TopKState, TopKEntry[]> {
  if (!Number.isInteger(k) || k < 1) throw badOption('topK', `k must be a positive integer, got ${String(k)}`);
  const capacity = options.capacity ?? Math.max(1000, 50 * k);
  if (!Number.isInteger(capacity) || capacity < k) {
    throw badOption('topK', `capacity must be an integer of at least k (${k}), got ${String(capacity)}`);
  }
  const weighted = options.weighted === true;

  /** Counts the raw values among `values` into `counts`; partials go to `partials`. */
  const countRaw = (
    key: Key,
    values: readonly unknown[],
    counts: Map<OrderedItem, number>,
    partials: TopKPartial[],
  ) => {
    for (const v of values) {
      const partial = asPartial<TopKPartial>(v, 'topk');
      if (partial !== undefined) {
        partials.push(partial);
        continue;
      }
      let item: unknown = v;
      let weight = 1;
      if (weighted) {
        if (!Array.isArray(v) || v.length !== 2 || typeof v[1] !== 'number' || !(v[1] >= 0) || v[1] === Infinity) {
          throw badValue('topK', key, v, 'a pair [item, weight] with a finite weight ≥ 0');
        }
        [item, weight] = v as [unknown, number];
        if (weight === 0) continue;
      }
      if (!isOrderedItem(item)) throw badValue('topK', key, item, 'a string or a number (not NaN)');
      addTo(counts, item, weight);
    }
  };

  /** The heaviest `capacity` entries, with the largest dropped count added to `err`. */
  const truncate = (counts: Map<OrderedItem, number>, err: number): TopKState => {
    const entries: TopKEntry[] = [...counts].sort(byWeight);
    if (entries.length <= capacity) return { top: entries, err };
    return { top: entries.slice(0, capacity), err: err + (entries[capacity] as TopKEntry)[1] };
  };

  return {
    combine: (key, values) => {
      const counts = new Map<OrderedItem, number>();
      const partials: TopKPartial[] = [];
      countRaw(key, values, counts, partials);
      const raw: OrderedItem[] = [];
      for (const [item, n] of [...counts].sort(byItem)) raw.push(item, n);
      let runs: CountRun[] = [];
      for (const p of partials) for (const r of p.runs) runs = pushRun(runs, r, RUNS);
      return tagPartial('topk', { runs: pushRun(runs, raw, RUNS) });
    },
    reduce: (key, values) => {
      const counts = new Map<OrderedItem, number>();
      const partials: TopKPartial[] = [];
      countRaw(key, values, counts, partials);
      for (const p of partials) {
        for (const run of p.runs)
          for (let i = 0; i < run.length; i += 2) addTo(counts, run[i] as OrderedItem, run[i + 1] as number);
      }
      return truncate(counts, 0);
    },
    merge: (_key, prev, next) => {
      if (prev === undefined) return next;
      const counts = new Map<OrderedItem, number>();
      for (const [item, n] of prev.top) addTo(counts, item, n);
      for (const [item, n] of next.top) addTo(counts, item, n);
      return truncate(counts, prev.err + next.err);
    },
    finalize: (_key, state) => state.top.slice(0, k),
  };
}
