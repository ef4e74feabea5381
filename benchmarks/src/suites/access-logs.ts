/**
 * The access-logs suite (issue 9): web-server log analytics over the real logs of
 * ../shared/data/logs (generated from a fixed seed where that folder is absent) replicated to the
 * size asked. Three jobs as in examples/access-logs: requests per status and hour, response bytes
 * per client, and distinct clients per 10-minute window (exact, `distinct()`); each run by
 * `mrm run`, the Hadoop-style baseline (`mrm baseline hadoop`), the plain single-threaded loop and
 * DuckDB in SQL from scratch, in alternating rounds. Every contender's result must equal the
 * plain loop's key for key, or the suite fails.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  alternateRounds,
  type Contender,
  measured,
  medianSeconds,
  type TimedRun,
  timedRun,
} from '../lib/alternating.js';
import { buildDataset, copiesFor } from '../lib/dataset.js';
import { logCorpus } from '../lib/log-corpus.js';
import { median, round } from '../lib/stats.js';
import { barChartSvg } from '../lib/svg-chart.js';
import { markdownTable } from '../lib/text-table.js';
import { checkCounts, mrmCounts, wordcountPaths } from '../lib/wordcount-contenders.js';
import type { Suite, SuiteContext, SuiteReport } from '../suite.js';
import { warmPageCache } from './wordcount.js';

const LOOP = fileURLToPath(new URL('../contenders/access-log-loop.js', import.meta.url));
const DUCKDB = fileURLToPath(new URL('../contenders/duckdb-access-logs.js', import.meta.url));

const DEFAULT_SIZE_MB = 64;
/** `--quick`: one copy of the logs (6.6 MB of the real ones). */
const QUICK_SIZE_MB = 1;
const DEFAULT_RUNS = 3;
const FILE_COUNT = 8;

const COLORS: Record<string, string> = { loop: '#718096', mrm: '#2b6cb0', hadoop: '#c05621', duckdb: '#d69e2e' };
const LABELS: Record<string, string> = {
  loop: 'plain loop (1 thread)',
  mrm: 'mrm run (embedded)',
  hadoop: 'hadoop-style baseline',
  duckdb: 'DuckDB SQL (from scratch)',
};

/**
 * Distinct clients per 10-minute window, exactly: the example's clients-per-10-minutes.ts (its
 * window and map) with `distinct()` in place of `approxDistinct()` (HyperLogLog), which no other
 * contender could match key for key.
 */
function distinctClientsJob(repoRoot: string): string {
  const example = join(repoRoot, 'examples', 'access-logs', 'clients-per-10-minutes.ts');
  return `// Written by the access-logs benchmark: distinct clients per 10-minute window, exact.
import { aggregates, defineJob } from '@mrm/core';
import approximate from ${JSON.stringify(example)};

export default defineJob({ ...approximate, name: 'distinct-clients-per-10-minutes', ...aggregates.distinct() });
`;
}

/** A result with its keys as JSON text, so array keys compare by value. */
function byJsonKey(result: ReadonlyMap<unknown, unknown> | ReadonlyArray<readonly [unknown, unknown]>) {
  return new Map([...result].map(([k, v]) => [JSON.stringify(k), v as number]));
}

/** A contender script (`--job`, `--out`, files) timed without its result write. */
async function scriptResult(what: string, script: string, job: string, files: readonly string[], work: string) {
  const out = join(work, `${job}-${what.replace(/\W/g, '')}.json`);
  const m = await measured(what, process.execPath, [script, '--job', job, '--out', out, ...files]);
  const { writeMs } = JSON.parse(m.stdout.trim().split('\n').at(-1) ?? '{}') as { writeMs: number };
  const result = byJsonKey(JSON.parse(readFileSync(out, 'utf8')) as Array<[unknown, unknown]>);
  rmSync(out, { force: true });
  return { run: timedRun(m, (m.wallMs - writeMs) / 1000), result };
}

interface JobFigures {
  readonly job: string;
  readonly keys: number;
  readonly samples: Record<string, TimedRun[]>;
  readonly medianSeconds: Record<string, number>;
  /** Each contender's median seconds ÷ mrm run's, same invocation. */
  readonly ratioToMrm: Record<string, number>;
}

async function runJob(
  context: SuiteContext,
  job: { name: string; path: string },
  files: readonly string[],
  runs: number,
  work: string,
): Promise<JobFigures> {
  const paths = { ...wordcountPaths(context.repoRoot, work), job: job.path };
  let expected: Map<string, number> | undefined;
  const checked = (what: string, counted: { run: TimedRun; result: Map<string, number> }): TimedRun => {
    if (expected === undefined) expected = counted.result;
    else checkCounts(`${what} (${job.name})`, expected, counted.result);
    return counted.run;
  };
  const viaMrm = async (what: string, command: string[], extra: string[]) => {
    const { run, counts } = await mrmCounts(paths, what, command, files, extra);
    return { run, result: byJsonKey(counts) };
  };
  // The loop first: in round 1 its answer is the expectation.
  const contenders: Contender[] = [
    {
      id: 'loop',
      label: LABELS.loop as string,
      run: async () => checked('the plain loop', await scriptResult('the plain loop', LOOP, job.name, files, work)),
    },
    {
      id: 'mrm',
      label: LABELS.mrm as string,
      run: async (r) =>
        checked(
          'mrm run',
          await viaMrm('mrm run', ['run'], ['--state', join(work, `mrm-${job.name}-${r}`), '--quiet']),
        ),
    },
    {
      id: 'hadoop',
      label: LABELS.hadoop as string,
      run: async () =>
        checked('the hadoop-style baseline', await viaMrm('mrm baseline hadoop', ['baseline', 'hadoop'], ['--quiet'])),
    },
    {
      id: 'duckdb',
      label: LABELS.duckdb as string,
      run: async () => checked('DuckDB', await scriptResult('DuckDB', DUCKDB, job.name, files, work)),
    },
  ];
  const samples = await alternateRounds(contenders, runs, (line) => context.log(`${job.name}: ${line}`));
  const medians = medianSeconds(samples);
  const mrm = medians.mrm as number;
  return {
    job: job.name,
    keys: expected?.size ?? 0,
    samples,
    medianSeconds: medians,
    ratioToMrm: Object.fromEntries(Object.entries(medians).map(([id, s]) => [id, round(s / mrm, 2)])),
  };
}

function table(jobs: readonly JobFigures[]): string {
  const rows = [['job', 'contender', 'runs', 'median s', 'CPU s', 'peak RSS MiB', '× mrm run']];
  for (const j of jobs) {
    for (const [i, id] of Object.keys(j.samples).entries()) {
      const s = j.samples[id] as TimedRun[];
      const cpu = median(s.flatMap((x) => (x.cpuSeconds !== null ? [x.cpuSeconds] : [])));
      const rss = median(s.flatMap((x) => (x.peakRssMiB !== null ? [x.peakRssMiB] : [])));
      rows.push([
        i === 0 ? `${j.job} (${j.keys.toLocaleString('en-US')} keys)` : '',
        LABELS[id] ?? id,
        String(s.length),
        (j.medianSeconds[id] as number).toFixed(2),
        cpu !== null ? cpu.toFixed(1) : '',
        rss !== null ? rss.toFixed(0) : '',
        (j.ratioToMrm[id] as number).toFixed(2),
      ]);
    }
  }
  return markdownTable(rows, 2);
}

async function run(context: SuiteContext): Promise<SuiteReport> {
  const { options, repoRoot, log } = context;
  const sizeMb = options.sizesMb?.[0] ?? (options.quick ? QUICK_SIZE_MB : DEFAULT_SIZE_MB);
  const runs = options.runs ?? (options.quick ? 1 : DEFAULT_RUNS);
  const corpus = logCorpus(repoRoot, options.cacheDir);
  const dataset = buildDataset(corpus, copiesFor(sizeMb, corpus.bytes), FILE_COUNT, options.cacheDir);
  warmPageCache(dataset.files);
  const work = mkdtempSync(join(tmpdir(), 'mrm-bench-access-logs-'));
  const distinct = join(work, 'distinct-clients-per-10-minutes.ts');
  writeFileSync(distinct, distinctClientsJob(repoRoot));
  const logs = join(repoRoot, 'examples', 'access-logs');
  const jobs = [
    { name: 'status-per-hour', path: join(logs, 'status-per-hour.ts') },
    { name: 'bytes-per-client', path: join(logs, 'bytes-per-client.ts') },
    { name: 'distinct-clients-per-10-minutes', path: distinct },
  ];
  const mb = (dataset.bytes / 1e6).toFixed(1);
  log(
    `${mb} MB (${dataset.copies} × ${corpus.files.length} log files of ${corpus.dir}) in ${dataset.files.length} files, ${runs} round(s)`,
  );
  const figures: JobFigures[] = [];
  try {
    for (const job of jobs) figures.push(await runJob(context, job, dataset.files, runs, work));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const svg = barChartSvg(
    [
      {
        title: `access-log jobs over ${mb} MB of logs: median seconds (lower is better)`,
        unit: 's',
        groups: figures.map((f) => ({
          label: f.job,
          note: `hadoop-style / mrm run = ${(f.ratioToMrm.hadoop as number).toFixed(2)}`,
          bars: Object.keys(f.samples).map((id) => ({
            label: LABELS[id] ?? id,
            value: f.medianSeconds[id] as number,
            color: COLORS[id] ?? '#999',
          })),
        })),
      },
    ],
    `${context.command} · medians of ${runs} alternating round(s) · see docs/benchmarks.md`,
  );
  return {
    results: {
      quick: options.quick,
      input: {
        bytes: dataset.bytes,
        files: dataset.files.length,
        copies: dataset.copies,
        corpus: corpus.dir,
        corpusFiles: corpus.files.length,
      },
      runs,
      jobs: figures,
      correctness: {
        passed: true,
        check: "every contender's result equals the plain loop's, key for key, in every run",
        keys: Object.fromEntries(figures.map((f) => [f.job, f.keys])),
      },
    },
    table: `${table(figures)}\n\n${mb} MB of logs (${dataset.copies}× ${corpus.dir}), ${dataset.files.length} files. Correct: every contender's result equals the plain loop's, key for key. mrm run and the Hadoop-style baseline are timed with their result written (--out), the loop and DuckDB without.`,
    svg,
  };
}

/** The access-logs suite. */
export const accessLogsSuite: Suite = {
  name: 'access-logs',
  description:
    'access-log jobs (status per hour, bytes per client, distinct clients per 10 min): mrm run vs Hadoop-style, plain loop, DuckDB',
  // Its quick mode takes 40–60 s on a loaded 2-core machine: named, not in the default --quick.
  inDefaultQuick: false,
  run,
};
