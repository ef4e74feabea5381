/**
 * The baseline of the wordcount suite: the plainest single-threaded JavaScript word count.
 * Deliberately standalone (no MRM code, no helpers): read each file whole, split it into lines,
 * match words with a regex, count them in a Map.
 *
 * Usage: `node plain-loop.js --out <counts.json> <file...>`. Prints one JSON line on stdout:
 * `{"words":…,"distinct":…,"countMs":…,"writeMs":…}`. The counts go to `--out` as a JSON array of
 * `[word, count]` pairs, written after counting and timed apart (`writeMs`) so the harness can
 * leave the write out: `mrm run` is timed without writing its result either.
 *
 * Why whole files and not a stream: it is what the plain loop is (the "read, regex, Map"),
 * and with the suite's inputs cut into a few files its memory follows the file size, not the
 * input size. The harness reports its peak RSS next to MRM's so that trade is visible.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? args[outAt + 1] : undefined;
const files = outAt >= 0 ? [...args.slice(0, outAt), ...args.slice(outAt + 2)] : args;

const started = performance.now();
const counts = new Map<string, number>();
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  for (const line of text.split('\n')) {
    for (const word of line.match(/[A-Za-z]+/g) ?? []) {
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
}
const countMs = performance.now() - started;

let words = 0;
for (const n of counts.values()) words += n;

const writeStarted = performance.now();
if (out !== undefined) writeFileSync(out, JSON.stringify([...counts]));
const writeMs = performance.now() - writeStarted;

process.stdout.write(`${JSON.stringify({ words, distinct: counts.size, countMs, writeMs })}\n`);
