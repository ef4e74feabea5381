/**
 * Inverted index: for each word, the sorted list of the distinct input files that contain it.
 * Words are maximal runs of A–Z/a–z, lower-cased, so `River` and `river` are one entry.
 *
 * The job is incremental: feeding more files later unions their names into the lists already
 * stored, so indexing a.txt and b.txt, then c.txt, gives the same index as all three at once.
 *
 * ```sh
 * cd examples/inverted-index
 * npx mrm run job.ts --input data/*.txt --out index.jsonl
 * ```
 */
import type { Emit } from '@mrm/core';
import { defineJob } from '@mrm/core';

const WORD = /[A-Za-z]+/g;

/**
 * Union of sorted lists of distinct strings, sorted again. Sorting makes the result independent
 * of the order the values arrive in, which MRM does not specify.
 */
function union(lists: readonly (readonly string[])[]): string[] {
  const all = new Set<string>();
  for (const list of lists) for (const item of list) all.add(item);
  return [...all].sort();
}

export default defineJob({
  name: 'inverted-index',
  description: 'word (lower-cased) -> sorted list of the input files containing it',
  // Emit a one-element list so combine, reduce and merge all work on the same shape: lists.
  map(line: string, emit: Emit<string[]>, ctx) {
    const seen = new Set<string>();
    for (const word of line.match(WORD) ?? []) {
      const w = word.toLowerCase();
      if (seen.has(w)) continue; // one line names its source once per word: less to shuffle
      seen.add(w);
      emit(w, [ctx.source]);
    }
  },
  combine: (_word, lists: string[][]) => union(lists),
  reduce: (_word, lists: string[][]) => union(lists),
  merge: (_word, prev: string[] | undefined, next: string[]) => union(prev === undefined ? [next] : [prev, next]),
});
