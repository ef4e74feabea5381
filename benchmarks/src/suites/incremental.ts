/**
 * The incremental suite: the books replicated to the size asked, cut into 51 files that arrive
 * one after another. After each one, the time to bring the word counts up to date (the complete
 * result written as JSON Lines) for MRM embedded (`mrm run` on one `--state`), MRM on a running
 * cluster (`mrm submit --wait --shared-fs`), the Hadoop-style baseline (`mrm baseline hadoop
 * --state`: the whole job again over everything so far) and DuckDB (the query again over every
 * file so far). The order of the contenders rotates with each increment. The two full
 * recomputes keep nothing but the list of inputs seen, so their time depends only on the history's
 * size: they run at the increments the figures and the checks use (`recomputedAt`) and are given
 * every file since their previous run there, which cuts the suite's time by about two thirds.
 * Goal of the issue: after 50 increments, one more at least 20× faster than the Hadoop-style full
 * recompute, and flat as history grows; DuckDB's ratio beside it.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TimedRun } from '../lib/alternating.js';
import { LocalCluster } from '../lib/cluster-local.js';
import { buildDataset, copiesFor, corpusOrGenerated } from '../lib/dataset.js';
import { median, round } from '../lib/stats.js';
import { barChartSvg } from '../lib/svg-chart.js';
import { markdownTable } from '../lib/text-table.js';
import { type CountedRun, checkCounts, duckdbCounts, mrmCounts, wordcountPaths } from '../lib/wordcount-contenders.js';
import type { Suite, SuiteContext, SuiteReport } from '../suite.js';
import { warmPageCache } from './wordcount.js';

const INCREMENTS = 51;
const DEFAULT_SIZE_MB = 64;
/** `--quick`: the first few increments of the cut only. */
const QUICK_INCREMENTS = 4;
/** How many increments the "after 50" and "first" figures take the median of. */
const WINDOW = 5;
const HADOOP_GOAL = 20;
/** Flat: the median of the last increments at most this many times that of the first ones. */
const FLAT_BOUND = 1.25;
/** Check every contender's counts at these increments (and the last). */
const CHECK_EVERY = 10;

const CONTENDERS = [
  { id: 'mrm', label: 'mrm run (embedded)', color: '#2b6cb0' },
  { id: 'cluster', label: 'mrm submit (1+1 cluster)', color: '#4299e1' },
  { id: 'hadoop', label: 'hadoop-style full recompute', color: '#c05621' },
  { id: 'duckdb', label: 'DuckDB full recompute', color: '#d69e2e' },
] as const;
type ContenderId = (typeof CONTENDERS)[number]['id'];
/** The contenders that recompute from every input so far (measured at `recomputedAt` only). */
const RECOMPUTES: ReadonlySet<ContenderId> = new Set(['hadoop', 'duckdb']);
/** Increments marked in the chart (those past the run's count are left out). */
const CHART_MARKS = [1, 10, 25, 50];

/**
 * Whether the full recomputes run after increment `n` (1-based) of `count`: the first increments
 * and the last `window` (the figures' medians), every `CHECK_EVERY`th (the correctness check) and
 * the chart's marks.
 */
export function recomputedAt(n: number, count: number, window: number): boolean {
  return n <= 1 + window || n > count - window || n % CHECK_EVERY === 0 || CHART_MARKS.includes(n);
}

async function run(context: SuiteContext): Promise<SuiteReport> {
  const { options, repoRoot, log } = context;
  const sizeMb = options.sizesMb?.[0] ?? DEFAULT_SIZE_MB;
  const corpus = corpusOrGenerated(repoRoot, options.dataDir, options.cacheDir);
  const dataset = buildDataset(corpus, copiesFor(sizeMb, corpus.bytes), INCREMENTS, options.cacheDir);
  // --runs: how many of the increments to run (a shorter measurement on a busy machine).
  const count = Math.min(
    dataset.files.length,
    options.quick ? QUICK_INCREMENTS : (options.runs ?? dataset.files.length),
  );
  const files = dataset.files.slice(0, count);
  warmPageCache(files);
  const work = mkdtempSync(join(tmpdir(), 'mrm-bench-incremental-'));
  const paths = wordcountPaths(repoRoot, work);
  const mrmState = join(work, 'mrm-state');
  const hadoopState = join(work, 'hadoop-state');
  mkdirSync(join(work, 'cluster'));
  const cluster = await LocalCluster.start(paths.mrm, { maps: 1, merges: 1, dir: join(work, 'cluster') });
  const window = Math.min(WINDOW, Math.max(1, Math.floor(count / 2)));
  const steps: Array<{ increment: number; historyBytes: number; seconds: Partial<Record<ContenderId, number>> }> = [];
  const samples: Record<ContenderId, TimedRun[]> = { mrm: [], cluster: [], hadoop: [], duckdb: [] };
  let historyBytes = 0;
  try {
    log(
      `${count} increments of about ${(dataset.bytes / dataset.files.length / 1e6).toFixed(2)} MB (${(dataset.bytes / 1e6).toFixed(1)} MB in all)`,
    );
    let recomputedThrough = 0;
    for (let i = 0; i < count; i++) {
      const file = files[i] as string;
      const recompute = recomputedAt(i + 1, count, window);
      const sinceRecompute = files.slice(recomputedThrough, i + 1);
      const history = files.slice(0, i + 1);
      historyBytes += dataset.bytes / dataset.files.length;
      const runs: Record<ContenderId, () => Promise<CountedRun>> = {
        mrm: () => mrmCounts(paths, 'mrm run', ['run'], [file], ['--state', mrmState, '--quiet']),
        cluster: () =>
          mrmCounts(paths, 'mrm submit', ['submit'], [file], ['--wait', '--shared-fs', '--nats', cluster.url]),
        hadoop: () =>
          mrmCounts(paths, 'mrm baseline hadoop', ['baseline', 'hadoop'], sinceRecompute, [
            '--state',
            hadoopState,
            '--quiet',
          ]),
        duckdb: () => duckdbCounts(paths, history),
      };
      const results: Partial<Record<ContenderId, CountedRun>> = {};
      for (let k = 0; k < CONTENDERS.length; k++) {
        const c = CONTENDERS[(k + i) % CONTENDERS.length] as (typeof CONTENDERS)[number];
        if (RECOMPUTES.has(c.id) && !recompute) continue;
        const result = await runs[c.id]();
        results[c.id] = result;
        samples[c.id].push(result.run);
      }
      if (recompute) recomputedThrough = i + 1;
      if (i % CHECK_EVERY === CHECK_EVERY - 1 || i === count - 1) {
        const reference = results.mrm as CountedRun;
        for (const c of CONTENDERS.slice(1))
          checkCounts(`${c.label} after increment ${i + 1}`, reference.counts, (results[c.id] as CountedRun).counts);
      }
      const seconds: Partial<Record<ContenderId, number>> = {};
      for (const c of CONTENDERS) {
        const result = results[c.id];
        if (result !== undefined) seconds[c.id] = round(result.run.seconds, 3);
      }
      steps.push({ increment: i + 1, historyBytes: Math.round(historyBytes), seconds });
      log(
        `increment ${i + 1}/${count}: ${CONTENDERS.filter((c) => seconds[c.id] !== undefined)
          .map((c) => `${c.id} ${seconds[c.id]?.toFixed(2)} s`)
          .join(', ')}`,
      );
    }
  } finally {
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
  const medianOver = (id: ContenderId, from: number, to: number) =>
    median(
      steps
        .slice(from, to)
        .map((s) => s.seconds[id])
        .filter((v) => v !== undefined),
    ) ?? Number.NaN;
  // The first increment is left out of "first": it starts empty state and a cold cluster.
  const first = Object.fromEntries(CONTENDERS.map((c) => [c.id, round(medianOver(c.id, 1, 1 + window), 3)])) as Record<
    ContenderId,
    number
  >;
  const last = Object.fromEntries(
    CONTENDERS.map((c) => [c.id, round(medianOver(c.id, count - window, count), 3)]),
  ) as Record<ContenderId, number>;
  const final = steps.at(-1)?.seconds as Record<ContenderId, number>; // every contender ran at the last
  const hadoopRatio = round(last.hadoop / last.mrm, 2);
  const duckdbRatio = round(last.duckdb / last.mrm, 2);
  const growth = round(last.mrm / first.mrm, 2);
  const rows = [
    [
      'contender',
      `increments 2–${1 + window} median s`,
      `last ${window} median s`,
      `increment ${count} s`,
      'last / first',
      '× mrm run (last)',
    ],
    ...CONTENDERS.map((c) => [
      c.label,
      first[c.id].toFixed(2),
      last[c.id].toFixed(2),
      final[c.id].toFixed(2),
      (last[c.id] / first[c.id]).toFixed(2),
      (last[c.id] / last.mrm).toFixed(2),
    ]),
  ];
  const goal =
    `hadoop-style / mrm run over the last ${window} increments = ${hadoopRatio.toFixed(2)} (goal ≥ ${HADOOP_GOAL}: ${hadoopRatio >= HADOOP_GOAL ? 'met' : 'not met'}); ` +
    `DuckDB / mrm run = ${duckdbRatio.toFixed(2)}; mrm run last / first = ${growth.toFixed(2)} (flat if ≤ ${FLAT_BOUND}: ${growth <= FLAT_BOUND ? 'yes' : 'no'})`;
  const table = `${markdownTable(rows)}\n\n${count} increments, ${(historyBytes / 1e6).toFixed(1)} MB of history at the end; ${goal}. Correct: the four results were equal at every ${CHECK_EVERY}th and the last increment. The full recomputes ran at ${steps.filter((s) => s.seconds.hadoop !== undefined).length} of the ${count} increments (the first ${1 + window}, the last ${window}, every ${CHECK_EVERY}th and the chart's), each over every file so far.`;
  const marks = [...new Set([...CHART_MARKS, count].filter((n) => n <= count))];
  const svg = barChartSvg(
    [
      {
        title: 'seconds to bring word counts up to date after increment n',
        unit: 's',
        groups: marks.map((n) => {
          const step = steps[n - 1] as (typeof steps)[number];
          return {
            label: `increment ${n}`,
            note: `${(step.historyBytes / 1e6).toFixed(1)} MB history`,
            bars: CONTENDERS.map((c) => ({ label: c.label, value: step.seconds[c.id] ?? 0, color: c.color })),
          };
        }),
      },
    ],
    `${context.command} · ${goal}`,
  );
  return {
    results: {
      input: { bytes: dataset.bytes, increments: count, corpus: corpus.dir },
      steps,
      samples,
      firstMedianSeconds: first,
      lastMedianSeconds: last,
      goal: {
        hadoopOverMrm: hadoopRatio,
        target: HADOOP_GOAL,
        met: hadoopRatio >= HADOOP_GOAL,
        duckdbOverMrm: duckdbRatio,
        mrmLastOverFirst: growth,
        flat: growth <= FLAT_BOUND,
      },
      correctness: { passed: true },
    },
    table,
    svg,
  };
}

/** The incremental suite. */
export const incrementalSuite: Suite = {
  name: 'incremental',
  description: '51 increments one after another: mrm run, mrm on a cluster, Hadoop-style and DuckDB full recompute',
  run,
};
