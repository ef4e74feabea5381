/**
 * The skew suite's figures: median balance and throughput per contender, the ratios the issue
 * sets goals for (balance salted ≤ 1.25; salting costs ≤ 5 % on uniform keys), and the JSON,
 * table and chart the runner writes.
 */
import type { HotKey } from '@mrm/core';
import { median, round } from '../lib/stats.js';
import { type BarPanel, barChartSvg, chartFooter } from '../lib/svg-chart.js';
import { markdownTable } from '../lib/text-table.js';
import type { SuiteReport } from '../suite.js';

/** What ran: keys, and salting on or off. */
export type SkewContender = 'zipf-salted' | 'zipf-unsalted' | 'uniform-salted' | 'uniform-unsalted';

/** One run. */
export interface SkewSample {
  readonly contender: SkewContender;
  readonly round: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  /** Most pairs reduced by one merge worker ÷ the mean. */
  readonly balance: number;
  readonly pairsByWorker: Readonly<Record<string, number>>;
  readonly hotKeys: readonly HotKey[];
  readonly saltedBatches: number;
}

/** Everything the report needs. */
export interface SkewRun {
  readonly quick: boolean;
  readonly lines: number;
  readonly keys: number;
  readonly exponent: number;
  readonly mergeWorkers: number;
  readonly mapWorkers: number;
  readonly batchLines: number;
  readonly samples: readonly SkewSample[];
}

const COLORS: Record<SkewContender, string> = {
  'zipf-salted': '#2b7bb9',
  'zipf-unsalted': '#c0504d',
  'uniform-salted': '#6aa84f',
  'uniform-unsalted': '#999999',
};

const CONTENDERS = Object.keys(COLORS) as SkewContender[];

/** Builds the report. */
export function skewReport(run: SkewRun): SuiteReport {
  const of = (c: SkewContender, f: (s: SkewSample) => number) =>
    median(run.samples.filter((s) => s.contender === c).map(f)) ?? 0;
  const medians = Object.fromEntries(
    CONTENDERS.map((c) => [
      c,
      { balance: round(of(c, (s) => s.balance)), recordsPerSecond: Math.round(of(c, (s) => s.recordsPerSecond)) },
    ]),
  ) as Record<SkewContender, { balance: number; recordsPerSecond: number }>;
  const ratio = (a: number, b: number) => (b > 0 ? round(a / b) : null);
  const ratios = {
    zipfThroughputSaltedOverUnsalted: ratio(
      medians['zipf-salted'].recordsPerSecond,
      medians['zipf-unsalted'].recordsPerSecond,
    ),
    uniformThroughputSaltedOverUnsalted: ratio(
      medians['uniform-salted'].recordsPerSecond,
      medians['uniform-unsalted'].recordsPerSecond,
    ),
  };
  const goals = {
    zipfBalanceSaltedAtMost125: medians['zipf-salted'].balance <= 1.25,
    uniformSaltingCostAtMost5Percent: (ratios.uniformThroughputSaltedOverUnsalted ?? 0) >= 0.95,
  };
  const hot = run.samples.find((s) => s.contender === 'zipf-salted')?.hotKeys ?? [];
  const table = [
    markdownTable(
      [
        ['contender', 'balance (median)', 'records/s (median)'],
        ...CONTENDERS.map((c) => [
          c,
          medians[c].balance.toFixed(3),
          medians[c].recordsPerSecond.toLocaleString('en-US'),
        ]),
      ],
      1,
    ),
    '',
    `Zipf(${run.exponent}) over ${run.keys.toLocaleString('en-US')} keys and uniform keys, ${run.lines.toLocaleString('en-US')} lines each, ${run.batchLines.toLocaleString('en-US')} lines per batch; a count without combine on ${run.mapWorkers} map + ${run.mergeWorkers} merge workers in one process.`,
    `Salted Zipf throughput ÷ unsalted: ${ratios.zipfThroughputSaltedOverUnsalted}; uniform: ${ratios.uniformThroughputSaltedOverUnsalted} (goal ≥ 0.95). Salted balance ${medians['zipf-salted'].balance} (goal ≤ 1.25).`,
    `Hot keys salted: ${hot.map((h) => `${h.key}×${h.factor}`).join(', ') || 'none'}.`,
  ].join('\n');
  const panel = (title: string, unit: string, value: (c: SkewContender) => number, scale: number): BarPanel => ({
    title,
    unit,
    groups: [
      {
        label: `Zipf(${run.exponent})`,
        bars: (['zipf-salted', 'zipf-unsalted'] as const).map((c) => ({
          label: c,
          value: value(c) / scale,
          color: COLORS[c],
        })),
      },
      {
        label: 'uniform',
        bars: (['uniform-salted', 'uniform-unsalted'] as const).map((c) => ({
          label: c,
          value: value(c) / scale,
          color: COLORS[c],
        })),
      },
    ],
  });
  const footer = chartFooter(`${run.mapWorkers} map + ${run.mergeWorkers} merge workers in one process`);
  return {
    results: {
      quick: run.quick,
      input: { lines: run.lines, keys: run.keys, exponent: run.exponent, batchLines: run.batchLines },
      workers: { map: run.mapWorkers, merge: run.mergeWorkers },
      correctness: { passed: true, check: 'every run counted every key as the suite did' },
      medians,
      ratios,
      goals,
      hotKeys: hot,
      samples: run.samples,
    },
    table,
    svg: barChartSvg(
      [
        panel(
          'Balance: most pairs reduced by one merge worker ÷ mean (lower is better, 1 is even)',
          '',
          (c) => medians[c].balance,
          1,
        ),
        panel('Throughput, median (higher is better)', 'k records/s', (c) => medians[c].recordsPerSecond, 1000),
      ],
      footer,
    ),
  };
}
