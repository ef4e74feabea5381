/**
 * The records suite: word count over about 4 MB of the books on one local 1+1 cluster, MRM
 * (`mrm submit --wait --shared-fs`) against the record-at-a-time baseline (`mrm baseline records`)
 * on the same nats-server: every pair its own NATS message, acknowledged one by one. Beside them,
 * what the machine itself does: a bare NATS publish/subscribe loop of pair-sized messages and raw
 * LMDB put/get rates. Goal of the issue: the record-at-a-time baseline at least 10× slower.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alternateRounds, type Contender, measured, medianSeconds, type TimedRun } from '../lib/alternating.js';
import { bareNatsLoop } from '../lib/cluster-bare-nats.js';
import { writeJobFile } from '../lib/cluster-jobs.js';
import { LocalCluster } from '../lib/cluster-local.js';
import { buildDataset, corpusOrGenerated } from '../lib/dataset.js';
import { round } from '../lib/stats.js';
import { barChartSvg } from '../lib/svg-chart.js';
import { markdownTable } from '../lib/text-table.js';
import { totalOf } from '../lib/word-counts.js';
import { type CountedRun, checkCounts, mrmCounts, wordcountPaths } from '../lib/wordcount-contenders.js';
import type { Suite, SuiteContext, SuiteReport } from '../suite.js';

/** 4 MB: at 1 MB the cluster run is mostly its fixed cost (about 3 s), the ratio then says little. */
const DEFAULT_SIZE_MB = 4;
const QUICK_SIZE_MB = 0.25;
const DEFAULT_RUNS = 3;
const GOAL_RATIO = 10;
/** Bytes of a bare NATS message: about one encoded word-count pair with its header. */
const PAIR_BYTES = 16;
const BARE_MESSAGES = 200_000;
const LMDB_KEYS = 100_000;
const LMDB_RATES = fileURLToPath(new URL('../contenders/lmdb-rates.js', import.meta.url));

/** A word-count job under its own name: a cluster keeps a job's state, so each round needs a new one. */
function wordcountSource(name: string): string {
  return `import { aggregates, defineJob } from '@mrm/core';
export default defineJob({
  name: '${name}',
  map(line: string, emit) {
    for (const word of line.match(/[A-Za-z]+/g) ?? []) emit(word, 1);
  },
  ...aggregates.sum(),
});
`;
}

async function run(context: SuiteContext): Promise<SuiteReport> {
  const { options, repoRoot, log } = context;
  const sizeMb = options.sizesMb?.[0] ?? (options.quick ? QUICK_SIZE_MB : DEFAULT_SIZE_MB);
  const runs = options.runs ?? (options.quick ? 1 : DEFAULT_RUNS);
  const corpus = corpusOrGenerated(repoRoot, options.dataDir, options.cacheDir);
  // One copy of the corpus cut into pieces of the size asked; the first piece is the input.
  const dataset = buildDataset(corpus, 1, Math.max(1, Math.round(corpus.bytes / (sizeMb * 1e6))), options.cacheDir);
  const file = dataset.files[0] as string;
  const work = mkdtempSync(join(tmpdir(), 'mrm-bench-records-'));
  const base = wordcountPaths(repoRoot, work);
  mkdirSync(join(work, 'cluster'));
  const cluster = await LocalCluster.start(base.mrm, { maps: 1, merges: 1, dir: join(work, 'cluster') });
  let expected: ReadonlyMap<unknown, unknown> | undefined;
  let pairs = 0;
  const checked = (what: string, counted: CountedRun): TimedRun => {
    if (expected === undefined) {
      expected = counted.counts;
      pairs = totalOf(counted.counts);
    } else checkCounts(what, expected, counted.counts);
    return counted.run;
  };
  const contenders: Contender[] = [
    {
      id: 'mrm',
      label: 'mrm submit (1+1 cluster)',
      run: async (r) => {
        const job = writeJobFile(work, `wc-r${r}.ts`, wordcountSource(`wc-r${r}`));
        const paths = { ...base, job };
        return checked(
          'mrm submit',
          await mrmCounts(paths, 'mrm submit', ['submit'], [file], ['--wait', '--shared-fs', '--nats', cluster.url]),
        );
      },
    },
    {
      id: 'records',
      label: 'record-at-a-time baseline',
      run: async () =>
        checked(
          'the record-at-a-time baseline',
          await mrmCounts(
            base,
            'mrm baseline records',
            ['baseline', 'records'],
            [file],
            ['--nats', cluster.url, '--quiet'],
          ),
        ),
    },
  ];
  let samples: Record<string, TimedRun[]>;
  let bare: Awaited<ReturnType<typeof bareNatsLoop>>;
  let lmdb: { batchedPutsPerSecond: number; singlePutsPerSecond: number; getsPerSecond: number };
  try {
    log(`${(dataset.bytes / dataset.files.length / 1e6).toFixed(2)} MB of text on ${cluster.url}, ${runs} rounds`);
    samples = await alternateRounds(contenders, runs, log);
    log(`bare NATS: ${BARE_MESSAGES} messages of ${PAIR_BYTES} bytes`);
    bare = await bareNatsLoop({
      url: cluster.url,
      payloadBytes: PAIR_BYTES,
      totalBytes: PAIR_BYTES * BARE_MESSAGES,
      windowBytes: 8 << 20,
    });
    const m = await measured('lmdb rates', process.execPath, [LMDB_RATES, work, String(LMDB_KEYS)]);
    lmdb = JSON.parse(m.stdout.trim().split('\n').at(-1) ?? '{}');
  } finally {
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
  const medians = medianSeconds(samples);
  const ratio = round((medians.records as number) / (medians.mrm as number), 2);
  const perSecond = (s: number) => Math.round(pairs / s);
  const rows = [
    ['path', 'median s', 'pairs or ops / s'],
    [
      'mrm submit (1+1 cluster), word count',
      (medians.mrm as number).toFixed(2),
      String(perSecond(medians.mrm as number)),
    ],
    [
      'record-at-a-time baseline, word count',
      (medians.records as number).toFixed(2),
      String(perSecond(medians.records as number)),
    ],
    [
      `bare NATS pub → sub, ${PAIR_BYTES}-byte messages (no acks)`,
      bare.seconds.toFixed(2),
      String(Math.round(bare.messagesPerSecond)),
    ],
    ['raw LMDB puts, 10,000 per transaction', '', String(Math.round(lmdb.batchedPutsPerSecond))],
    ['raw LMDB puts, one transaction each (noSync)', '', String(Math.round(lmdb.singlePutsPerSecond))],
    ['raw LMDB point reads', '', String(Math.round(lmdb.getsPerSecond))],
  ];
  const goal = `record-at-a-time / mrm = ${ratio.toFixed(2)} (goal ≥ ${GOAL_RATIO}: ${ratio >= GOAL_RATIO ? 'met' : 'not met'})`;
  const table = `${markdownTable(rows)}\n\n${pairs} pairs (words) per run; ${goal}. Correct: both results equal in every round.`;
  const svg = barChartSvg(
    [
      {
        title: `word count, ${pairs} pairs, same nats-server: median seconds`,
        unit: 's',
        groups: [
          {
            label: 'word count',
            note: goal,
            bars: contenders.map((c, i) => ({
              label: c.label,
              value: medians[c.id] as number,
              color: i === 0 ? '#2b6cb0' : '#805ad5',
            })),
          },
        ],
      },
      {
        title: 'what the machine does: operations per second (thousands)',
        unit: 'k/s',
        groups: [
          {
            label: 'reference points',
            bars: [
              { label: 'bare NATS msgs', value: bare.messagesPerSecond / 1000, color: '#38a169' },
              { label: 'LMDB batched puts', value: lmdb.batchedPutsPerSecond / 1000, color: '#718096' },
              { label: 'LMDB single puts', value: lmdb.singlePutsPerSecond / 1000, color: '#a0aec0' },
              { label: 'LMDB gets', value: lmdb.getsPerSecond / 1000, color: '#4a5568' },
            ],
          },
        ],
      },
    ],
    `${context.command} · medians of ${runs} alternating rounds`,
  );
  return {
    results: {
      input: { file, bytes: dataset.bytes / dataset.files.length, pairs },
      runs,
      samples,
      medianSeconds: medians,
      bareNats: bare,
      lmdb,
      goal: { recordsOverMrm: ratio, target: GOAL_RATIO, met: ratio >= GOAL_RATIO },
      correctness: { passed: true, keys: expected?.size ?? 0 },
    },
    table,
    svg,
  };
}

/** The records suite. */
export const recordsSuite: Suite = {
  name: 'records',
  description: 'record-at-a-time baseline vs mrm on the same NATS server; bare NATS and raw LMDB rates',
  run,
};
