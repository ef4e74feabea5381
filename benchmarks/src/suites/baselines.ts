/**
 * The baselines suite: word count over the books replicated to 64 MB, one shot, `mrm run` against
 * the Hadoop-style baseline (`mrm baseline hadoop`) and what a user with one machine would pick
 * instead: the plain single-threaded loop, GNU coreutils and DuckDB. Alternating rounds, medians,
 * ratios to `mrm run` from the same invocation; every contender's counts must equal the loop's.
 * Goal of the issue: `mrm run` at least 5× faster than the Hadoop-style baseline at 64 MB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alternateRounds, type Contender, medianSeconds, type TimedRun } from '../lib/alternating.js';
import { buildDataset, copiesFor, corpusOrGenerated } from '../lib/dataset.js';
import { median, round } from '../lib/stats.js';
import { barChartSvg } from '../lib/svg-chart.js';
import { markdownTable } from '../lib/text-table.js';
import {
  type CountedRun,
  checkCounts,
  coreutilsCounts,
  duckdbCounts,
  loopCounts,
  mrmCounts,
  wordcountPaths,
} from '../lib/wordcount-contenders.js';
import type { Suite, SuiteContext, SuiteReport } from '../suite.js';
import { warmPageCache } from './wordcount.js';

const DEFAULT_SIZE_MB = 64;
const QUICK_SIZE_MB = 16;
const DEFAULT_RUNS = 3;
const FILE_COUNT = 8;
/** The goal: hadoop-style / mrm run. */
const GOAL_RATIO = 5;

const COLORS: Record<string, string> = {
  mrm: '#2b6cb0',
  hadoop: '#c05621',
  loop: '#718096',
  coreutils: '#38a169',
  duckdb: '#d69e2e',
};

async function run(context: SuiteContext): Promise<SuiteReport> {
  const { options, repoRoot, log } = context;
  const sizeMb = options.sizesMb?.[0] ?? (options.quick ? QUICK_SIZE_MB : DEFAULT_SIZE_MB);
  const runs = options.runs ?? (options.quick ? 1 : DEFAULT_RUNS);
  const corpus = corpusOrGenerated(repoRoot, options.dataDir, options.cacheDir);
  const dataset = buildDataset(corpus, copiesFor(sizeMb, corpus.bytes), FILE_COUNT, options.cacheDir);
  warmPageCache(dataset.files);
  const work = mkdtempSync(join(tmpdir(), 'mrm-bench-baselines-'));
  const paths = wordcountPaths(repoRoot, work);
  let expected: ReadonlyMap<unknown, unknown> | undefined;
  const checked = (what: string, counted: CountedRun): TimedRun => {
    if (expected === undefined) expected = counted.counts;
    else checkCounts(what, expected, counted.counts);
    return counted.run;
  };
  const files = dataset.files;
  const contenders: Contender[] = [
    {
      id: 'loop',
      label: 'plain loop (1 thread)',
      run: async () => checked('the plain loop', await loopCounts(paths, files)),
    },
    {
      id: 'mrm',
      label: 'mrm run (embedded)',
      run: async (r) =>
        checked(
          'mrm run',
          await mrmCounts(paths, 'mrm run', ['run'], files, ['--state', join(work, `mrm-${r}`), '--quiet']),
        ),
    },
    {
      id: 'hadoop',
      label: 'hadoop-style baseline',
      run: async () =>
        checked(
          'the hadoop-style baseline',
          await mrmCounts(paths, 'mrm baseline hadoop', ['baseline', 'hadoop'], files, ['--quiet']),
        ),
    },
    {
      id: 'coreutils',
      label: 'coreutils tr, sort, uniq -c',
      run: async () => checked('coreutils', await coreutilsCounts(paths, files)),
    },
    {
      id: 'duckdb',
      label: 'DuckDB SQL (from scratch)',
      run: async () => checked('DuckDB', await duckdbCounts(paths, files)),
    },
  ];
  let samples: Record<string, TimedRun[]>;
  try {
    log(
      `${(dataset.bytes / 1e6).toFixed(1)} MB in ${files.length} files, ${runs} rounds of ${contenders.length} contenders`,
    );
    samples = await alternateRounds(contenders, runs, log);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const medians = medianSeconds(samples);
  const mrm = medians.mrm as number;
  const ratioToMrm = Object.fromEntries(Object.entries(medians).map(([id, s]) => [id, round(s / mrm, 2)]));
  const hadoopRatio = ratioToMrm.hadoop as number;
  const rows = [
    ['contender', 'runs', 'median s', 'min–max s', 'CPU s', 'peak RSS MiB', '× mrm run'],
    ...contenders.map((c) => {
      const s = samples[c.id] as TimedRun[];
      const secs = s.map((x) => x.seconds);
      const cpu = median(s.flatMap((x) => (x.cpuSeconds !== null ? [x.cpuSeconds] : [])));
      const rss = median(s.flatMap((x) => (x.peakRssMiB !== null ? [x.peakRssMiB] : [])));
      return [
        c.label,
        String(s.length),
        (medians[c.id] as number).toFixed(2),
        `${Math.min(...secs).toFixed(2)}–${Math.max(...secs).toFixed(2)}`,
        cpu !== null ? cpu.toFixed(1) : '',
        rss !== null ? rss.toFixed(0) : '',
        (ratioToMrm[c.id] as number).toFixed(2),
      ];
    }),
  ];
  const goal = `hadoop-style / mrm run = ${hadoopRatio.toFixed(2)} (goal ≥ ${GOAL_RATIO}: ${hadoopRatio >= GOAL_RATIO ? 'met' : 'not met'})`;
  const table = `${markdownTable(rows)}\n\n${(dataset.bytes / 1e6).toFixed(1)} MB, ${files.length} files; ${goal}. Correct: every contender's counts equal the plain loop's.`;
  const svg = barChartSvg(
    [
      {
        title: `word count, ${(dataset.bytes / 1e6).toFixed(1)} MB, one shot: median seconds`,
        unit: 's',
        groups: [
          {
            label: `${(dataset.bytes / 1e6).toFixed(0)} MB`,
            note: goal,
            bars: contenders.map((c) => ({
              label: c.label,
              value: medians[c.id] as number,
              color: COLORS[c.id] ?? '#999',
            })),
          },
        ],
      },
    ],
    `${context.command} · medians of ${runs} alternating rounds`,
  );
  return {
    results: {
      input: { bytes: dataset.bytes, files: files.length, copies: dataset.copies, corpus: corpus.dir },
      runs,
      samples,
      medianSeconds: medians,
      ratioToMrm,
      goal: { hadoopOverMrm: hadoopRatio, target: GOAL_RATIO, met: hadoopRatio >= GOAL_RATIO },
      correctness: { passed: true, keys: expected?.size ?? 0 },
    },
    table,
    svg,
  };
}

/** The baselines suite. */
export const baselinesSuite: Suite = {
  name: 'baselines',
  description: 'word count one shot: mrm run vs the Hadoop-style baseline, plain loop, coreutils, DuckDB',
  run,
};
