/**
 * Sorted runs: how distinct and topK keep a map-side partial that `combine` extends over and
 * over. The map worker folds a hot key's values by calling `combine([partial, ...newValues])`
 * every few values; rebuilding one sorted list each time would cost the whole partial per call
 * (quadratic in the number of items). Instead a partial is a list of sorted runs, each more than
 * twice as long as the next: new values become a small run, and only runs of similar size are
 * merged, so each item takes part in O(log n) merges and a partial has O(log n) runs. Runs are
 * never mutated, so a partial stays valid after it has been combined into a newer one.
 */

/** Orders two elements of a run. */
export type Compare<T> = (a: T, b: T) => number;
/** Joins two elements that compare equal into one. */
export type Join<T> = (a: T, b: T) => T;

/** Merges two sorted runs into one, joining equal elements. */
export function mergeSorted<T>(a: readonly T[], b: readonly T[], compare: Compare<T>, join: Join<T>): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as T;
    const y = b[j] as T;
    const c = compare(x, y);
    if (c < 0) {
      out.push(x);
      i++;
    } else if (c > 0) {
      out.push(y);
      j++;
    } else {
      out.push(join(x, y));
      i++;
      j++;
    }
  }
  while (i < a.length) out.push(a[i++] as T);
  while (j < b.length) out.push(b[j++] as T);
  return out;
}

/** Sorts `items` (a fresh array, sorted in place) and joins neighbours that compare equal. */
export function sortUnique<T>(items: T[], compare: Compare<T>, join: Join<T>): T[] {
  items.sort(compare);
  const out: T[] = [];
  for (const item of items) {
    const last = out.length - 1;
    if (last >= 0 && compare(out[last] as T, item) === 0) out[last] = join(out[last] as T, item);
    else out.push(item);
  }
  return out;
}

/** How to merge two runs of one kind and how many elements a run holds. */
export interface RunOps<R> {
  readonly merge: (a: R, b: R) => R;
  readonly size: (run: R) => number;
}

/** Runs with `run` added (a new list; the inputs are not touched). */
export function pushRun<R>(runs: readonly R[], run: R, ops: RunOps<R>): R[] {
  const out = runs.slice();
  if (ops.size(run) === 0) return out;
  let last = run;
  for (let prev = out.at(-1); prev !== undefined && ops.size(prev) <= 2 * ops.size(last); prev = out.at(-1)) {
    out.pop();
    last = ops.merge(prev, last);
  }
  out.push(last);
  return out;
}
