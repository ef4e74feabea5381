/**
 * The wordcount suite's figures: medians and ratios from the raw samples, the goals read off
 * them, and the JSON, table and chart the runner writes.
 */
import type { Dataset } from '../lib/dataset.js';
import type { RssMethod } from '../lib/measure-child.js';
import { medianOf, round } from '../lib/stats.js';
import { type BarPanel, barChartSvg, chartFooter } from '../lib/svg-chart.js';
import { markdownTable } from '../lib/text-table.js';
import type { SuiteReport } from '../suite.js';

/** The two contenders: the plain loop and `mrm run`. */
export type Contender = 'loop' | 'mrm';

const LABEL: Record<Contender, string> = { loop: 'plain loop (1 thread)', mrm: 'mrm run (embedded)' };
const COLOR: Record<Contender, string> = { loop: '#8c8c8c', mrm: '#2b6cb0' };

/**
 * mrm's peak RSS at the largest size may be at most this many times that at the smallest for the
 * memory goal to count as met: flat up to noise (GC timing, thread stacks), not proportional.
 */
export const RSS_GROWTH_LIMIT = 1.25;

/** One timed run of one contender. */
export interface Sample {
  readonly round: number;
  /** The figure compared: wall time, minus the loop's result write (mrm is timed without --out). */
  readonly seconds: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number | null;
  readonly peakRssMiB: number | null;
  /** Largest anonymous part of RSS seen by polling (heaps, buffers): what the process allocated. */
  readonly peakRssAnonMiB: number | null;
  /** Largest file-backed part of RSS seen by polling (node binary, LMDB's memory map). */
  readonly peakRssFileMiB: number | null;
  /** The loop's result write, left out of `seconds`. */
  readonly writeSeconds?: number;
  /** mrm's own summary line. */
  readonly summary?: string;
  /** Fingerprint of the packages' build mrm ran from (see lib/engine-version.ts). */
  readonly engine?: string;
}

/** Medians of one contender's samples. */
export interface Medians {
  readonly seconds: number | null;
  readonly cpuSeconds: number | null;
  readonly peakRssMiB: number | null;
  readonly peakRssAnonMiB: number | null;
  readonly peakRssFileMiB: number | null;
}

/** Everything measured at one input size. */
export interface SizeResult {
  readonly sizeMb: number;
  readonly copies: number;
  readonly files: number;
  readonly bytes: number;
  readonly runs: number;
  readonly words: number;
  readonly distinct: number;
  readonly samples: Record<Contender, Sample[]>;
  readonly medians: Record<Contender, Medians>;
  /** Median mrm seconds over median loop seconds, measured in the same run: below 1 means mrm is faster. */
  readonly mrmOverLoop: number | null;
}

/** What {@link summarizeSize} needs. */
export interface SizeInput {
  readonly sizeMb: number;
  readonly dataset: Dataset;
  readonly runs: number;
  readonly samples: Record<Contender, Sample[]>;
  readonly words: number;
  readonly distinct: number;
}

function mediansOf(samples: readonly Sample[]): Medians {
  const r = (x: number | null) => (x === null ? null : round(x));
  return {
    seconds: r(medianOf(samples.map((s) => s.seconds))),
    cpuSeconds: r(medianOf(samples.map((s) => s.cpuSeconds))),
    peakRssMiB: r(medianOf(samples.map((s) => s.peakRssMiB))),
    peakRssAnonMiB: r(medianOf(samples.map((s) => s.peakRssAnonMiB))),
    peakRssFileMiB: r(medianOf(samples.map((s) => s.peakRssFileMiB))),
  };
}

/** Medians and the ratio of one size's samples. */
export function summarizeSize(input: SizeInput): SizeResult {
  const medians = { loop: mediansOf(input.samples.loop), mrm: mediansOf(input.samples.mrm) };
  const { seconds: mrm } = medians.mrm;
  const { seconds: loop } = medians.loop;
  return {
    sizeMb: input.sizeMb,
    copies: input.dataset.copies,
    files: input.dataset.files.length,
    bytes: input.dataset.bytes,
    runs: input.runs,
    words: input.words,
    distinct: input.distinct,
    samples: input.samples,
    medians,
    mrmOverLoop: mrm !== null && loop !== null && loop > 0 ? round(mrm / loop) : null,
  };
}

/** The goals of the issue, read off the medians. */
export function goalsOf(sizes: readonly SizeResult[]) {
  const speed = sizes.map((s) => ({
    sizeMb: s.sizeMb,
    mrmOverLoop: s.mrmOverLoop,
    met: s.mrmOverLoop !== null && s.mrmOverLoop <= 1,
  }));
  const rss = sizes.map((s) => ({ sizeMb: s.sizeMb, mrmPeakRssMiB: s.medians.mrm.peakRssMiB }));
  const first = rss[0]?.mrmPeakRssMiB ?? null;
  const last = rss.at(-1)?.mrmPeakRssMiB ?? null;
  const growth = sizes.length > 1 && first !== null && last !== null ? round(last / first) : null;
  return {
    speed: { goal: 'median mrm seconds <= median plain-loop seconds', bySize: speed },
    memory: {
      goal: `mrm peak RSS at the largest input <= ${RSS_GROWTH_LIMIT} x that at the smallest`,
      bySize: rss,
      growth,
      met: growth === null ? null : growth <= RSS_GROWTH_LIMIT,
    },
  };
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const fixed = (x: number | null, digits = 2) => (x === null ? '?' : x.toFixed(digits));

function range(samples: readonly Sample[]): string {
  if (samples.length < 2) return '';
  const secs = samples.map((s) => s.seconds);
  return `${Math.min(...secs).toFixed(2)}–${Math.max(...secs).toFixed(2)}`;
}

function table(sizes: readonly SizeResult[], goals: ReturnType<typeof goalsOf>, rssMethod: RssMethod): string {
  const rows: string[][] = [
    ['input', 'contender', 'runs', 'median s', 'min–max s', 'CPU s', 'peak RSS MiB', 'anon / file MiB', 'mrm/loop'],
  ];
  for (const size of sizes) {
    for (const contender of ['loop', 'mrm'] as const) {
      const m = size.medians[contender];
      rows.push([
        contender === 'loop' ? `${mb(size.bytes)} (${size.copies}× books, ${size.files} files)` : '',
        LABEL[contender],
        String(size.samples[contender].length),
        fixed(m.seconds),
        range(size.samples[contender]),
        fixed(m.cpuSeconds, 1),
        fixed(m.peakRssMiB, 0),
        `${fixed(m.peakRssAnonMiB, 0)} / ${fixed(m.peakRssFileMiB, 0)}`,
        contender === 'mrm' ? fixed(size.mrmOverLoop) : '',
      ]);
    }
  }
  const checks = sizes.reduce((n, s) => n + s.samples.mrm.length, 0);
  const lines = [
    markdownTable(rows, 2),
    '',
    `Correct: mrm's counts equal the plain loop's in all ${checks} mrm runs (${sizes
      .map(
        (s) =>
          `${s.words.toLocaleString('en-US')} words, ${s.distinct.toLocaleString('en-US')} distinct at ${mb(s.bytes)}`,
      )
      .join('; ')}).`,
    `Speed goal (mrm/loop ≤ 1): ${goals.speed.bySize.map((s) => `${s.met ? 'met' : 'not met'} at ${s.sizeMb} MB (${fixed(s.mrmOverLoop)})`).join(', ')}.`,
    goals.memory.growth === null
      ? 'Memory goal: needs two sizes (run without --quick).'
      : `Memory goal (mrm peak RSS flat, ≤ ${RSS_GROWTH_LIMIT}× from smallest to largest input): ${goals.memory.met ? 'met' : 'not met'} ` +
        `(${goals.memory.bySize.map((s) => `${fixed(s.mrmPeakRssMiB, 0)} MiB at ${s.sizeMb} MB`).join(', ')}; ×${fixed(goals.memory.growth)}).`,
    `Medians over interleaved runs; seconds are wall time of the whole process; anon / file: largest anonymous and file-backed RSS seen polling /proc every 20 ms; peak RSS by ${rssMethod === 'time-v' ? '/usr/bin/time -v' : rssMethod === 'proc-poll' ? 'polling /proc/<pid>/status VmHWM (a lower bound)' : 'nothing (unavailable)'}.`,
  ];
  const builds = new Set(sizes.flatMap((s) => s.samples.mrm.map((m) => m.engine)));
  if (builds.size > 1) {
    lines.push(`Warning: the packages were rebuilt during this run; the mrm runs come from ${builds.size} builds.`);
  }
  return lines.join('\n');
}

function chart(sizes: readonly SizeResult[], footer: string): string {
  const panel = (title: string, unit: string, pick: (m: Medians) => number | null, withRatio: boolean): BarPanel => ({
    title,
    unit,
    groups: sizes.map((s) => ({
      label: mb(s.bytes),
      ...(withRatio && s.mrmOverLoop !== null ? { note: `mrm/loop = ${s.mrmOverLoop.toFixed(2)}` } : {}),
      bars: (['loop', 'mrm'] as const).map((c) => ({
        label: LABEL[c],
        value: pick(s.medians[c]) ?? 0,
        color: COLOR[c],
      })),
    })),
  });
  return barChartSvg(
    [
      panel('Word count: median wall time (lower is better)', 's', (m) => m.seconds, true),
      panel('Peak resident set size (median)', 'MiB', (m) => m.peakRssMiB, false),
    ],
    footer,
  );
}

/** What {@link wordcountReport} needs. */
export interface WordcountRun {
  readonly quick: boolean;
  readonly corpus: { readonly dir: string; readonly books: number; readonly bytes: number };
  readonly rssMethod: RssMethod;
  readonly fileCount: number;
  readonly sizes: readonly SizeResult[];
}

/** The suite's JSON results, table and chart. */
export function wordcountReport(run: WordcountRun): SuiteReport {
  const goals = goalsOf(run.sizes);
  const checks = run.sizes.reduce((n, s) => n + s.samples.mrm.length, 0);
  const footer = chartFooter(`medians of interleaved runs`);
  return {
    results: {
      quick: run.quick,
      corpus: run.corpus,
      rssMethod: run.rssMethod,
      filesPerInput: run.fileCount,
      correctness: {
        passed: true,
        mrmRunsChecked: checks,
        check: "every mrm run's result (mrm query) equals the plain loop's counts",
      },
      goals,
      sizes: run.sizes,
    },
    table: table(run.sizes, goals, run.rssMethod),
    svg: chart(run.sizes, footer),
  };
}
