/**
 * Helpers shared by the reference computations: reading input the way MRM's `lines` format does,
 * and writing a result the way the contract's "Result format" says. Deliberately free of MRM
 * code, so a bug in MRM cannot hide in the expectation too.
 */
import { readFileSync } from 'node:fs';

/** One result line: `{"key": <key>, "value": <value>}`. */
export interface ResultLine {
  readonly key: unknown;
  readonly value: unknown;
}

/** A file's records in `lines` format: its lines without `\n` or `\r\n`, no record after a final newline. */
export function readLines(path: string): string[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

/** Compares two strings by Unicode code point (JS `<` compares UTF-16 code units, which differs for astral characters). */
export function compareByCodePoint(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const ca = ia.next();
    const cb = ib.next();
    if (ca.done || cb.done) return ca.done && cb.done ? 0 : ca.done ? -1 : 1;
    const pa = ca.value.codePointAt(0) ?? 0;
    const pb = cb.value.codePointAt(0) ?? 0;
    if (pa !== pb) return pa < pb ? -1 : 1;
  }
}

/**
 * A result in the contract's order: one `{key, value}` per key, sorted by the key's JSON text
 * compared by code point. `groups` maps each key's JSON text to its value.
 */
export function toResult(groups: ReadonlyMap<string, unknown>): ResultLine[] {
  return [...groups.keys()]
    .sort(compareByCodePoint)
    .map((keyText) => ({ key: JSON.parse(keyText) as unknown, value: groups.get(keyText) }));
}

/** The result as the JSON Lines text `--out` writes (without a final newline). */
export function toJsonLines(result: readonly ResultLine[]): string {
  return result.map((line) => JSON.stringify({ key: line.key, value: line.value })).join('\n');
}

/** Adds `by` to the number stored under `keyText`. */
export function addTo(groups: Map<string, number>, keyText: string, by: number): void {
  groups.set(keyText, (groups.get(keyText) ?? 0) + by);
}
