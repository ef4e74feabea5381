/**
 * The plain loop of the access-logs suite: the plainest single-threaded JavaScript for one of its
 * jobs, deliberately standalone (no MRM code, not even the example's parser): read each file
 * whole, split it into lines, match each with one regex, aggregate in a Map. It reads the
 * "combined" format as examples/access-logs/parse.ts does (times to UTC, impossible dates and
 * truncated lines unreadable, a size of `-` is 0), so its answers are an independent check.
 *
 * Usage: `node access-log-loop.js --job <name> --out <result.json> <file...>` with a job of
 * {@link JOBS}. Prints `{"lines":…,"keys":…,"countMs":…,"writeMs":…}`; the result goes to `--out`
 * as a JSON array of `[key, value]`, written after counting and timed apart.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { jobArgs } from './job-args.js';

/** Month abbreviations as logged; a month's index is its offset here ÷ 3. */
const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';
const Q = String.raw`"(?:[^"\\]|\\.)*"`;
const COMBINED = new RegExp(
  String.raw`^(\S+) \S+ .*? \[(\d\d)/([A-Za-z]{3})/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\] ${Q} (\d{3}) (\d+|-) ${Q} ${Q}$`,
);

/** Client, UTC milliseconds, status and bytes of a line; undefined when it is not a readable combined line. */
function read(line: string): { client: string; ms: number; status: number; bytes: number } | undefined {
  const m = COMBINED.exec(line);
  if (m === null) return undefined;
  const [, client, dd, mon, yyyy, hh, mi, ss, sign, oh, om, status, bytes] = m as unknown as string[];
  const at = MONTHS.indexOf(mon as string);
  const month = at % 3 === 0 ? at / 3 : -1;
  const [d, h, min, s] = [Number(dd), Number(hh), Number(mi), Number(ss)];
  if (month < 0 || d < 1 || d > 31 || h > 23 || min > 59 || s > 60) return undefined;
  const local = Date.UTC(Number(yyyy), month, d, h, min, s);
  if (new Date(local).getUTCDate() !== d) return undefined;
  const offset = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  return {
    client: client as string,
    ms: local - offset,
    status: Number(status),
    bytes: bytes === '-' ? 0 : Number(bytes),
  };
}

const TEN_MINUTES = 600_000;

/** The jobs: each folds one line into the map of results. */
const JOBS: Readonly<Record<string, (line: string, out: Map<string, unknown>) => void>> = {
  'status-per-hour': (line, out) => {
    const e = read(line);
    const key = e === undefined ? 'malformed' : JSON.stringify([e.status, new Date(e.ms).toISOString().slice(0, 13)]);
    out.set(key, ((out.get(key) as number | undefined) ?? 0) + 1);
  },
  'bytes-per-client': (line, out) => {
    const e = read(line);
    if (e !== undefined) out.set(e.client, ((out.get(e.client) as number | undefined) ?? 0) + e.bytes);
  },
  'distinct-clients-per-10-minutes': (line, out) => {
    const e = read(line);
    if (e === undefined) return;
    const window = new Date(Math.floor(e.ms / TEN_MINUTES) * TEN_MINUTES).toISOString();
    const clients = (out.get(window) as Set<string> | undefined) ?? new Set<string>();
    out.set(window, clients.add(e.client));
  },
};

/** The result as `[key, value]` pairs in the keys' own shape (as `mrm run --out` writes them). */
function resultOf(job: string, out: Map<string, unknown>): Array<[unknown, unknown]> {
  if (job === 'status-per-hour') return [...out].map(([k, v]) => [k === 'malformed' ? k : JSON.parse(k), v]);
  if (job === 'bytes-per-client') return [...out];
  return [...out].map(([w, set]) => [[w, 'clients'], (set as Set<string>).size]);
}

const { name, job: fold, out: outPath, files } = jobArgs('access-log-loop.js', JOBS);
const started = performance.now();
const out = new Map<string, unknown>();
let lines = 0;
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  for (const line of all) {
    fold(line, out);
    lines++;
  }
}
const result = resultOf(name, out);
const countMs = performance.now() - started;
const writeStarted = performance.now();
writeFileSync(outPath, JSON.stringify(result));
const writeMs = performance.now() - writeStarted;
process.stdout.write(`${JSON.stringify({ lines, keys: result.length, countMs, writeMs })}\n`);
