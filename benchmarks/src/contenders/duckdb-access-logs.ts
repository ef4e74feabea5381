/**
 * DuckDB from scratch for the access-logs suite: what a user with one machine would write
 * instead. Reads the files with `read_text`, splits lines, parses the "combined" format with one
 * regular expression (`regexp_extract` into named groups) and `try_strptime`, and aggregates one
 * job in SQL over an in-memory database, on every core. No MRM code.
 *
 * A line is readable as examples/access-logs/parse.ts reads it: the whole line matches, the month
 * is one of Jan…Dec as written, the date exists; times are converted to UTC with the line's offset.
 *
 * Usage: `node duckdb-access-logs.js --job <name> --out <result.json> <file...>`. Prints
 * `{"queryMs":…,"writeMs":…}`; the result goes to `--out` as a JSON array of `[key, value]`.
 */
import { writeFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { jobArgs } from './job-args.js';

const Q = String.raw`"(?:[^"\\]|\\.)*"`;
const COMBINED = String.raw`^(\S+) \S+ .*? \[(\d\d)/([A-Za-z]{3})/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\] ${Q} (\d{3}) (\d+|-) ${Q} ${Q}$`;
const GROUPS = ['client', 'dd', 'mon', 'yyyy', 'hh', 'mi', 'ss', 'sign', 'oh', 'om', 'status', 'bytes'];
const MONTHS = "('Jan','Feb','Mar','Apr','May','Jun','Jul','Aug','Sep','Oct','Nov','Dec')";

/** Lines, parsed; `ms` (UTC milliseconds) is NULL for a line that is not a readable combined line. */
const parsed = (files: string) => `
  lines AS (
    SELECT unnest(string_split(CASE WHEN ends_with(content, chr(10)) THEN left(content, length(content) - 1) ELSE content END, chr(10))) AS line
    FROM read_text([${files}])),
  m AS (SELECT regexp_extract(line, '${COMBINED}', [${GROUPS.map((g) => `'${g}'`).join(', ')}]) AS g FROM lines),
  parsed AS (
    SELECT g.client AS client, TRY_CAST(g.status AS INTEGER) AS status,
      CASE WHEN g.bytes = '-' THEN 0 ELSE TRY_CAST(g.bytes AS BIGINT) END AS bytes,
      CASE WHEN g.client <> '' AND g.mon IN ${MONTHS}
        THEN epoch_ms(try_strptime(g.dd || '/' || g.mon || '/' || g.yyyy || ' ' || g.hh || ':' || g.mi || ':' || g.ss, '%d/%b/%Y %H:%M:%S'))
          - (CASE WHEN g.sign = '-' THEN -1 ELSE 1 END) * (TRY_CAST(g.oh AS BIGINT) * 60 + TRY_CAST(g.om AS BIGINT)) * 60000
      END AS ms
    FROM m)`;

/** The jobs: SQL over `parsed`, and how a row becomes `[key, value]`. */
const JOBS: Readonly<Record<string, { sql: string; row: (r: unknown[]) => [unknown, unknown] }>> = {
  'status-per-hour': {
    sql: `SELECT CASE WHEN ms IS NULL THEN NULL ELSE status END, CASE WHEN ms IS NULL THEN NULL ELSE strftime(epoch_ms(ms), '%Y-%m-%dT%H') END AS hour, count(*)
          FROM parsed GROUP BY ALL`,
    row: ([status, hour, n]) => [status === null ? 'malformed' : [status, hour], Number(n)],
  },
  'bytes-per-client': {
    sql: 'SELECT client, sum(bytes) FROM parsed WHERE ms IS NOT NULL GROUP BY client',
    row: ([client, bytes]) => [client, Number(bytes)],
  },
  'distinct-clients-per-10-minutes': {
    sql: `SELECT strftime(epoch_ms(ms // 600000 * 600000), '%Y-%m-%dT%H:%M:%S.000Z'), count(DISTINCT client)
          FROM parsed WHERE ms IS NOT NULL GROUP BY 1`,
    row: ([window, n]) => [[window, 'clients'], Number(n)],
  },
};

const { job, out: outPath, files: paths } = jobArgs('duckdb-access-logs.js', JOBS);
const started = performance.now();
const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
const files = paths.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ');
const reader = await connection.runAndReadAll(`WITH ${parsed(files)} ${job.sql}`);
const rows = (reader.getRows() as unknown[][]).map(job.row);
const queryMs = performance.now() - started;
const writeStarted = performance.now();
writeFileSync(outPath, JSON.stringify(rows));
process.stdout.write(`${JSON.stringify({ queryMs, writeMs: performance.now() - writeStarted })}\n`);
