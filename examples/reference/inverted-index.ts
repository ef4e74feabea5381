/**
 * Reference for examples/inverted-index: each lower-cased word to the sorted list of the sources
 * (paths exactly as given) that contain it.
 */
import { join } from 'node:path';
import { type ResultLine, readLines, toResult } from './result.js';

/**
 * The inverted index of `paths` (as given on the command line, relative to `cwd`), computed in
 * one process with a Map of Sets.
 */
export function invertedIndexReference(paths: readonly string[], cwd: string): ResultLine[] {
  const sources = new Map<string, Set<string>>();
  for (const path of paths) {
    for (const line of readLines(join(cwd, path))) {
      for (const word of line.match(/[A-Za-z]+/g) ?? []) {
        const keyText = JSON.stringify(word.toLowerCase());
        const set = sources.get(keyText) ?? new Set<string>();
        set.add(path);
        sources.set(keyText, set);
      }
    }
  }
  const lists = new Map<string, string[]>();
  for (const [keyText, set] of sources) lists.set(keyText, [...set].sort());
  return toResult(lists);
}
