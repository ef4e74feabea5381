/**
 * Reference for examples/wordcount: occurrences of each maximal run of A–Z/a–z, case-sensitive.
 */
import { addTo, type ResultLine, readLines, toResult } from './result.js';

/** The wordcount result over `paths`, computed in one process with a Map. */
export function wordcountReference(paths: readonly string[]): ResultLine[] {
  const counts = new Map<string, number>();
  for (const path of paths) {
    for (const line of readLines(path)) {
      for (const word of line.match(/[A-Za-z]+/g) ?? []) addTo(counts, JSON.stringify(word), 1);
    }
  }
  return toResult(counts);
}
