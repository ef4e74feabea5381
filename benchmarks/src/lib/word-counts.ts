/**
 * Word counts as the two contenders leave them, and the comparison that makes a wrong answer
 * fail the benchmark. Kept free of MRM code, so a bug in MRM cannot hide in the check too.
 */
import { readFileSync } from 'node:fs';

/** What the plain loop prints on stdout. */
export interface LoopSummary {
  readonly words: number;
  readonly distinct: number;
  readonly countMs: number;
  readonly writeMs: number;
}

/** Parses the plain loop's stdout (one JSON line). */
export function parseLoopSummary(stdout: string): LoopSummary {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const parsed = JSON.parse(line) as Partial<LoopSummary>;
  const { words, distinct, countMs, writeMs } = parsed;
  if (
    typeof words !== 'number' ||
    typeof distinct !== 'number' ||
    typeof countMs !== 'number' ||
    typeof writeMs !== 'number'
  ) {
    throw new Error(`the plain loop printed no summary: '${line.slice(0, 200)}'`);
  }
  return { words, distinct, countMs, writeMs };
}

/** Reads the plain loop's `--out` file: a JSON array of `[word, count]`. */
export function readLoopCounts(path: string): Map<string, number> {
  return new Map(JSON.parse(readFileSync(path, 'utf8')) as Array<[string, number]>);
}

/** Reads a result in the contract's JSON Lines format (`{"key":…,"value":…}` per line) into a Map. */
export function readResultCounts(path: string): Map<unknown, unknown> {
  const counts = new Map<unknown, unknown>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const { key, value } = JSON.parse(line) as { key: unknown; value: unknown };
    if (counts.has(key)) throw new Error(`key ${JSON.stringify(key)} appears twice in '${path}'`);
    counts.set(key, value);
  }
  return counts;
}

/** Total of the counts. */
export function totalOf(counts: ReadonlyMap<unknown, unknown>): number {
  let total = 0;
  for (const value of counts.values()) total += typeof value === 'number' ? value : Number.NaN;
  return total;
}

/**
 * Differences between `expected` and `actual`, at most `limit` of them described, as lines; an
 * empty array means the two are equal (same keys, same values).
 */
export function countDifferences(
  expected: ReadonlyMap<string, number>,
  actual: ReadonlyMap<unknown, unknown>,
  limit = 5,
): string[] {
  const found: string[] = [];
  let more = 0;
  const note = (line: string) => {
    if (found.length < limit) found.push(line);
    else more++;
  };
  for (const [word, count] of expected) {
    if (!actual.has(word)) note(`missing ${JSON.stringify(word)} (expected ${count})`);
    else if (actual.get(word) !== count)
      note(`${JSON.stringify(word)}: ${JSON.stringify(actual.get(word))}, expected ${count}`);
  }
  for (const [key, value] of actual) {
    if (typeof key !== 'string' || !expected.has(key))
      note(`unexpected key ${JSON.stringify(key)} = ${JSON.stringify(value)}`);
  }
  if (more > 0) found.push(`… and ${more} more`);
  return found;
}
