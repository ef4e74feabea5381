/**
 * The cluster suite's figures: medians per contender, the cluster's time over the embedded
 * engine's, the goal read off them, and the JSON, table and chart the runner writes.
 */
import { medianOf, round } from '../lib/stats.js';
import { type BarPanel, barChartSvg, chartFooter } from '../lib/svg-chart.js';
import { markdownTable } from '../lib/text-table.js';
import type { SuiteReport } from '../suite.js';
import type { Sample } from './wordcount-report.js';

/** The contenders: the wordcount suite's two, the two clusters, and the 1+1 cluster with upload. */
export type ClusterContender = 'loop' | 'mrm' | 'cluster-1x1' | 'cluster-2x2' | 'cluster-1x1-upload';

const CONTENDERS: readonly ClusterContender[] = ['loop', 'mrm', 'cluster-1x1', 'cluster-2x2', 'cluster-1x1-upload'];

const LABEL: Record<ClusterContender, string> = {
  loop: 'plain loop (1 thread)',
  mrm: 'mrm run (embedded)',
  'cluster-1x1': 'cluster 1 map + 1 merge',
  'cluster-2x2': 'cluster 2 map + 2 merge',
  'cluster-1x1-upload': 'cluster 1 + 1, input uploaded',
};
const COLOR: Record<ClusterContender, string> = {
  loop: '#8c8c8c',
  mrm: '#2b6cb0',
  'cluster-1x1': '#2f855a',
  'cluster-2x2': '#68d391',
  'cluster-1x1-upload': '#c05621',
};

/** The goal of the issue: the 1+1 cluster's median time at most this many times the embedded engine's. */
export const CLUSTER_GOAL_RATIO = 1.5;

/**
 * One timed run. For a cluster: `seconds` is the `mrm submit --wait` process's wall time;
 * `cpuSeconds` adds the CPU of every cluster process during it to the submit's own; `peakRssMiB`
 * is the sum of the cluster processes' peaks (each process's high-water mark since start).
 */
export interface ClusterSample extends Sample {
  readonly contender: ClusterContender;
  readonly submitCpuSeconds?: number | null;
  readonly cpuByProcess?: Readonly<Record<string, number>>;
  readonly peakRssMiBByProcess?: Readonly<Record<string, number>>;
  /** The job's time as the coordinator saw it (started → finished), from `mrm status --json`. */
  readonly jobSeconds?: number | null;
  /** How long `mrm up` took; not part of `seconds`. */
  readonly startupSeconds?: number;
  readonly upload?: boolean;
  readonly jobId?: string;
}

/** Everything measured at one input size. */
export interface ClusterSizeResult {
  readonly sizeMb: number;
  readonly copies: number;
  readonly files: number;
  readonly bytes: number;
  readonly runs: number;
  readonly words: number;
  readonly distinct: number;
  readonly samples: Record<ClusterContender, ClusterSample[]>;
}

interface Medians {
  readonly runs: number;
  readonly seconds: number | null;
  readonly cpuSeconds: number | null;
  readonly peakRssMiB: number | null;
  readonly jobSeconds: number | null;
  readonly startupSeconds: number | null;
}

function mediansOf(samples: readonly ClusterSample[]): Medians {
  const r = (x: number | null) => (x === null ? null : round(x));
  return {
    runs: samples.length,
    seconds: r(medianOf(samples.map((s) => s.seconds))),
    cpuSeconds: r(medianOf(samples.map((s) => s.cpuSeconds))),
    peakRssMiB: r(medianOf(samples.map((s) => s.peakRssMiB))),
    jobSeconds: r(medianOf(samples.map((s) => s.jobSeconds ?? null))),
    startupSeconds: r(medianOf(samples.map((s) => s.startupSeconds ?? null))),
  };
}

const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? round(a / b) : null);

function summarize(size: ClusterSizeResult) {
  const medians = Object.fromEntries(CONTENDERS.map((c) => [c, mediansOf(size.samples[c])])) as Record<
    ClusterContender,
    Medians
  >;
  const overMrm = Object.fromEntries(
    CONTENDERS.map((c) => [c, ratio(medians[c].seconds, medians.mrm.seconds)]),
  ) as Record<ClusterContender, number | null>;
  const overLoop = Object.fromEntries(
    CONTENDERS.map((c) => [c, ratio(medians[c].seconds, medians.loop.seconds)]),
  ) as Record<ClusterContender, number | null>;
  return { ...size, medians, overMrm, overLoop };
}

type Summary = ReturnType<typeof summarize>;

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const fixed = (x: number | null, digits = 2) => (x === null ? '?' : x.toFixed(digits));

function range(samples: readonly ClusterSample[]): string {
  if (samples.length < 2) return '';
  const secs = samples.map((s) => s.seconds);
  return `${Math.min(...secs).toFixed(2)}–${Math.max(...secs).toFixed(2)}`;
}

function table(sizes: readonly Summary[]): string {
  const rows: string[][] = [
    [
      'input',
      'contender',
      'runs',
      'median s',
      'min–max s',
      'coordinator s',
      'CPU s',
      'peak RSS MiB',
      '/ mrm run',
      '/ loop',
    ],
  ];
  for (const size of sizes) {
    for (const [i, c] of CONTENDERS.entries()) {
      const m = size.medians[c];
      if (m.runs === 0) continue;
      rows.push([
        i === 0 ? `${mb(size.bytes)} (${size.copies}× books, ${size.files} files)` : '',
        LABEL[c],
        String(m.runs),
        fixed(m.seconds),
        range(size.samples[c]),
        c === 'loop' || c === 'mrm' ? '' : fixed(m.jobSeconds),
        fixed(m.cpuSeconds, 1),
        fixed(m.peakRssMiB, 0),
        c === 'mrm' ? '' : fixed(size.overMrm[c]),
        c === 'loop' ? '' : fixed(size.overLoop[c]),
      ]);
    }
  }
  const checks = sizes.reduce(
    (n, s) => n + CONTENDERS.filter((c) => c !== 'loop').reduce((k, c) => k + s.samples[c].length, 0),
    0,
  );
  const startup = sizes.flatMap((s) => [
    s.medians['cluster-1x1'].startupSeconds,
    s.medians['cluster-2x2'].startupSeconds,
  ]);
  const builds = new Set(sizes.flatMap((s) => CONTENDERS.flatMap((c) => s.samples[c].map((x) => x.engine))));
  builds.delete(undefined);
  const lines = [
    markdownTable(rows, 2),
    '',
    `Correct: every mrm run's and cluster's counts equal the plain loop's (${checks} checked; ${sizes
      .map(
        (s) =>
          `${s.words.toLocaleString('en-US')} words, ${s.distinct.toLocaleString('en-US')} distinct at ${mb(s.bytes)}`,
      )
      .join('; ')}).`,
    `Goal (1+1 cluster ≤ ${CLUSTER_GOAL_RATIO}× mrm run): ${sizes
      .map((s) => {
        const r = s.overMrm['cluster-1x1'];
        return `${r !== null && r <= CLUSTER_GOAL_RATIO ? 'met' : 'not met'} at ${s.sizeMb} MB (${fixed(r)})`;
      })
      .join(', ')}.`,
    'Cluster seconds: wall time of `mrm submit --wait --shared-fs` (workers read the input in place; the upload row ships it ' +
      `through NATS), the cluster already up (\`mrm up\` took a median ${fixed(startup[0] ?? null)} s for 1+1 and ${fixed(startup[1] ?? null)} s for 2+2, not counted). ` +
      'Coordinator s: the job from start to finish as the coordinator saw it. CPU s: the submit process plus every cluster process ' +
      "(nats-server, coordinator, workers) during the submit. Peak RSS: for a cluster, the sum of its processes' peaks.",
  ];
  if (builds.size > 1) {
    lines.push(
      `Warning: the packages were rebuilt during this run; the runs come from ${builds.size} builds (see each sample's engine).`,
    );
  }
  return lines.join('\n');
}

function chart(sizes: readonly Summary[], footer: string): string {
  const panel = (title: string, unit: string, pick: (m: Medians) => number | null, withRatio: boolean): BarPanel => ({
    title,
    unit,
    groups: sizes.map((s) => ({
      label: mb(s.bytes),
      ...(withRatio && s.overMrm['cluster-1x1'] !== null
        ? { note: `1+1 / mrm run = ${s.overMrm['cluster-1x1'].toFixed(2)}` }
        : {}),
      bars: CONTENDERS.filter((c) => s.medians[c].runs > 0).map((c) => ({
        label: LABEL[c],
        value: pick(s.medians[c]) ?? 0,
        color: COLOR[c],
      })),
    })),
  });
  return barChartSvg(
    [
      panel('Word count: median wall time, submit to finished (lower is better)', 's', (m) => m.seconds, true),
      panel('CPU seconds, all processes (median)', 's', (m) => m.cpuSeconds, false),
    ],
    footer,
  );
}

/** What {@link clusterReport} needs. */
export interface ClusterSuiteRun {
  readonly quick: boolean;
  readonly fileCount: number;
  readonly sizes: readonly ClusterSizeResult[];
}

/** The suite's JSON results, table and chart. */
export function clusterReport(run: ClusterSuiteRun): SuiteReport {
  const sizes = run.sizes.map(summarize);
  const goal = sizes.map((s) => ({
    sizeMb: s.sizeMb,
    clusterOverMrm: s.overMrm['cluster-1x1'],
    met: s.overMrm['cluster-1x1'] !== null && s.overMrm['cluster-1x1'] <= CLUSTER_GOAL_RATIO,
  }));
  const footer = chartFooter(`medians of interleaved runs`);
  return {
    results: {
      quick: run.quick,
      filesPerInput: run.fileCount,
      timed: 'mrm submit --wait (--shared-fs except the upload row), the cluster already up',
      correctness: { passed: true, check: "every run's result equals the plain loop's counts key for key" },
      goals: {
        cluster: { goal: `median 1+1 cluster seconds <= ${CLUSTER_GOAL_RATIO} x median mrm run seconds`, bySize: goal },
      },
      sizes,
    },
    table: table(sizes),
    svg: chart(sizes, footer),
  };
}
