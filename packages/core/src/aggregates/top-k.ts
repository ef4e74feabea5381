import type { AggregateParts } from '../job.js';
import type { Key } from '../key.js';
import { badOption, badValue } from './check.js';
import { compareItems, isOrderedItem, type OrderedItem } from './order.js';
import { asPartial, type TaggedPartial, tagPartial } from './partial.js';
import { type Join, pushRun, sortUnique } from './sorted-runs.js';

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

/** What topK's combine passes on: exact counts as sorted runs by item (see sorted-runs.ts). */
export type TopKPartial = TaggedPartial<'topk', { readonly runs: readonly (readonly TopKEntry[])[] }>;

const byItem = (a: TopKEntry, b: TopKEntry): number => compareItems(a[0], b[0]);
const byWeight = (a: TopKEntry, b: TopKEntry): number =>
  a[1] !== b[1] ? (a[1] > b[1] ? -1 : 1) : compareItems(a[0], b[0]);
const addCounts: Join<TopKEntry> = (a, b) => [a[0], a[1] + b[1]];

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

  /** Exact counts of the raw values among `values` (sorted by item); partials go to `partials`. */
  const countRaw = (key: Key, values: readonly unknown[], partials: TopKPartial[]): TopKEntry[] => {
    const counts = new Map<OrderedItem, number>();
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
      // -0 and 0 are one item (as a Map already treats them); keep 0.
      const normal = item === 0 ? 0 : item;
      counts.set(normal, (counts.get(normal) ?? 0) + weight);
    }
    return [...counts].sort(byItem);
  };

  /** The heaviest `capacity` entries of exact counts, with the largest dropped count added to `err`. */
  const truncate = (entries: TopKEntry[], err: number): TopKState => {
    entries.sort(byWeight);
    if (entries.length <= capacity) return { top: entries, err };
    return { top: entries.slice(0, capacity), err: err + (entries[capacity] as TopKEntry)[1] };
  };

  return {
    combine: (key, values) => {
      const partials: TopKPartial[] = [];
      const run = countRaw(key, values, partials);
      let runs: (readonly TopKEntry[])[] = [];
      for (const p of partials) for (const r of p.runs) runs = pushRun(runs, r, byItem, addCounts);
      return tagPartial('topk', { runs: pushRun(runs, run, byItem, addCounts) });
    },
    reduce: (key, values) => {
      const partials: TopKPartial[] = [];
      const entries = countRaw(key, values, partials);
      for (const p of partials) for (const r of p.runs) for (const e of r) entries.push(e);
      return truncate(partials.length === 0 ? entries : sortUnique(entries, byItem, addCounts), 0);
    },
    merge: (_key, prev, next) => {
      if (prev === undefined) return next;
      const entries = sortUnique([...prev.top, ...next.top], byItem, addCounts);
      return truncate(entries, prev.err + next.err);
    },
    finalize: (_key, state) => state.top.slice(0, k),
  };
}
