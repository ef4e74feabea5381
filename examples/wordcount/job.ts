/**
 * Word count: how often each word occurs. A word is a maximal run of the letters A–Z and a–z,
 * case-sensitive (`The` and `the` are two words), exactly as data/SOURCES.md counts them.
 *
 * ```sh
 * npx mrm run examples/wordcount/job.ts --input examples/wordcount/data --out counts.jsonl
 * ```
 */
import { aggregates, defineJob } from '@mrm/core';

const WORD = /[A-Za-z]+/g;

export default defineJob({
  name: 'wordcount',
  description: 'occurrences of each word (maximal run of A-Z/a-z, case-sensitive)',
  map(line: string, emit) {
    for (const word of line.match(WORD) ?? []) emit(word, 1);
  },
  // sum gives combine (map-side pre-aggregation), reduce and merge (incremental runs) in one word.
  ...aggregates.sum(),
});
