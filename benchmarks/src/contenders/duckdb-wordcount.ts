/**
 * DuckDB from scratch: what a user with one machine would write instead. Counts the words (maximal
 * runs of A–Z/a–z, case-sensitive, as the wordcount job) of the files in SQL over an in-memory
 * database, on every core. No MRM code.
 *
 * Usage: `node duckdb-wordcount.js --out <counts.json> <file...>`. Prints `{"queryMs":…,"writeMs":…}`;
 * the counts go to `--out` as a JSON array of `[word, count]` (written after the query, timed apart).
 */
import { writeFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = args[outAt + 1];
const files = [...args.slice(0, outAt), ...args.slice(outAt + 2)];
if (outAt < 0 || out === undefined || files.length === 0) {
  process.stderr.write('usage: duckdb-wordcount.js --out <counts.json> <file...>\n');
  process.exit(2);
}
const started = performance.now();
const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ');
// read_text gives one row per file; the words of each file are unnested and grouped.
const reader = await connection.runAndReadAll(
  `SELECT word, count(*) AS n FROM (SELECT unnest(regexp_extract_all(content, '[A-Za-z]+')) AS word FROM read_text([${list}])) GROUP BY word`,
);
const rows = reader.getRows() as Array<[string, bigint]>;
const queryMs = performance.now() - started;
const writeStart = performance.now();
writeFileSync(out, JSON.stringify(rows.map(([w, n]) => [w, Number(n)])));
process.stdout.write(`${JSON.stringify({ queryMs, writeMs: performance.now() - writeStart })}\n`);
