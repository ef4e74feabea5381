/**
 * The latency suite's figures: percentiles of per-batch latency by scenario and end point, the
 * goal read off them, and the JSON, table and chart the runner writes.
 */
import { type Percentiles, percentilesOf } from '../lib/cluster-percentiles.js';
import { median, round } from '../lib/stats.js';
import { type BarPanel, barChartSvg, chartFooter } from '../lib/svg-chart.js';
import { markdownTable } from '../lib/text-table.js';
import type { SuiteReport } from '../suite.js';
import type { BatchTimeline, RunTimeline } from './latency-timeline.js';

/** The issue's goal (issue 14, goal 3): p50 and p99 latency from dispatch to merged-and-queryable below these. */
export const LATENCY_GOAL_MS = { p50: 10, p99: 25 } as const;
/** The issue's goal under a backlog: versions committed per second (group commit). */
export const BACKLOG_GOAL_VERSIONS_PER_SECOND = 500;
/** Batches at the start of each backlog job left out of the "after warm-up" figures. */
export const WARMUP_BATCHES = 10;

/** What the suite measured. */
export interface LatencyRun {
  readonly quick: boolean;
  readonly linesPerBatch: number;
  readonly backlogBatches: number;
  readonly startupSeconds: number;
  /** Jobs of many batches submitted at once. */
  readonly backlog: readonly RunTimeline[];
  /** Jobs of one batch each, one after another. */
  readonly single: readonly RunTimeline[];
  /** CPU seconds per cluster process (coordinator, map-0, merge-0, nats-server) over each scenario. */
  readonly cpuSeconds: {
    readonly backlog: Readonly<Record<string, number>>;
    readonly single: Readonly<Record<string, number>>;
  };
}

/** The goal's verdict on a scenario's percentiles to committed. */
function meetsGoal(p: Percentiles): boolean | null {
  return p.p50 === null || p.p99 === null ? null : p.p50 < LATENCY_GOAL_MS.p50 && p.p99 < LATENCY_GOAL_MS.p99;
}

/** CPU milliseconds per committed version of each process over a scenario. */
function cpuMsPerVersion(cpu: Readonly<Record<string, number>>, versions: number): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [name, seconds] of Object.entries(cpu))
    out[name] = versions > 0 ? round((seconds * 1000) / versions, 2) : null;
  return out;
}

/** The end points of a batch's timeline that are reported. */
const END_POINTS = {
  commitRequestedMs: 'commit requested (commit-version sent)',
  committedMs: 'committed (merge worker acknowledged)',
} as const;
type EndPoint = keyof typeof END_POINTS;

/** Percentiles of one set of batches at each end point, and the median time of each step. */
interface ScenarioFigures {
  readonly label: string;
  readonly batches: number;
  readonly percentilesMs: Record<EndPoint, Percentiles>;
  readonly medianStepMs: {
    readonly merged: number | null;
    readonly checkpointWritten: number | null;
    readonly commitRequested: number | null;
    readonly committed: number | null;
  };
}

function roundedPercentiles(values: number[]): Percentiles {
  const p = percentilesOf(values);
  const r = (x: number | null) => (x === null ? null : round(x, 2));
  return { count: p.count, p50: r(p.p50), p90: r(p.p90), p99: r(p.p99), max: r(p.max) };
}

function figures(label: string, batches: readonly BatchTimeline[]): ScenarioFigures {
  const values = (pick: (b: BatchTimeline) => number | null) =>
    batches.map(pick).filter((v): v is number => v !== null);
  const med = (pick: (b: BatchTimeline) => number | null) => {
    const m = median(values(pick));
    return m === null ? null : round(m, 2);
  };
  return {
    label,
    batches: batches.length,
    percentilesMs: {
      commitRequestedMs: roundedPercentiles(values((b) => b.commitRequestedMs)),
      committedMs: roundedPercentiles(values((b) => b.committedMs)),
    },
    medianStepMs: {
      merged: med((b) => b.mergedMs),
      checkpointWritten: med((b) => b.checkpointWrittenMs),
      commitRequested: med((b) => b.commitRequestedMs),
      committed: med((b) => b.committedMs),
    },
  };
}

function runSummary(t: RunTimeline) {
  return {
    jobId: t.jobId,
    batches: t.batches.length,
    spanSeconds: t.spanMs === null ? null : round(t.spanMs / 1000),
    batchesPerSecond: t.spanMs === null || t.spanMs <= 0 ? null : round(t.batches.length / (t.spanMs / 1000), 1),
    redispatches: t.redispatches,
    versions: t.versions,
    commitRequests: t.commitRequests,
    versionsPerSecond: t.spanMs === null || t.spanMs <= 0 ? null : round(t.versions / (t.spanMs / 1000), 1),
    committedMs: roundedPercentiles(t.batches.map((b) => b.committedMs).filter((v): v is number => v !== null)),
  };
}

const fixed = (x: number | null, digits = 1) => (x === null ? '?' : x.toFixed(digits));

function table(scenarios: readonly ScenarioFigures[], run: LatencyRun): string {
  const rows: string[][] = [
    [
      'scenario',
      'end point',
      'batches',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'max ms',
      `p50 < ${LATENCY_GOAL_MS.p50}, p99 < ${LATENCY_GOAL_MS.p99} ms`,
    ],
  ];
  for (const s of scenarios) {
    for (const [i, point] of (Object.keys(END_POINTS) as EndPoint[]).entries()) {
      const p = s.percentilesMs[point];
      rows.push([
        i === 0 ? s.label : '',
        END_POINTS[point],
        String(p.count),
        fixed(p.p50),
        fixed(p.p90),
        fixed(p.p99),
        fixed(p.max),
        point !== 'committedMs' ? '' : meetsGoal(p) === null ? '?' : meetsGoal(p) ? 'met' : 'not met',
      ]);
    }
  }
  const steps = scenarios.map(
    (s) =>
      `${s.label}: merged ${fixed(s.medianStepMs.merged)}, checkpoint written ${fixed(s.medianStepMs.checkpointWritten)}, ` +
      `commit requested ${fixed(s.medianStepMs.commitRequested)}, committed ${fixed(s.medianStepMs.committed)}`,
  );
  const throughput = run.backlog.map(runSummary);
  const cpu = (scenario: 'backlog' | 'single', timelines: readonly RunTimeline[]) => {
    const perVersion = cpuMsPerVersion(
      run.cpuSeconds[scenario],
      timelines.reduce((n, t) => n + t.versions, 0),
    );
    return ['coordinator', 'merge-0', 'map-0', 'nats-server']
      .map((name) => `${name} ${fixed(perVersion[name] ?? null, 2)}`)
      .join(', ');
  };
  return [
    markdownTable(rows, 2),
    '',
    `Milliseconds from a batch's dispatch (map-task on the map worker's subject) to each point, every batch its own version (--checkpoint-every 1), ${run.linesPerBatch.toLocaleString('en-US')} records per batch, 1 map + 1 merge worker on loopback.`,
    `Median ms after dispatch, step by step: ${steps.join('; ')}.`,
    `Backlog jobs: ${throughput.map((t) => `${t.batches} batches in ${fixed(t.spanSeconds, 2)} s (${fixed(t.versionsPerSecond)} versions/s, ${t.versions} versions in ${t.commitRequests} commit requests)`).join(', ')}; goal ≥ ${BACKLOG_GOAL_VERSIONS_PER_SECOND} versions/s.`,
    `CPU ms per committed version (submits included): backlog: ${cpu('backlog', run.backlog)}; one batch at a time: ${cpu('single', run.single)}.`,
    `Correct: every job's records and its count of k0 (mrm query) as expected; ${run.backlog.reduce((n, t) => n + t.redispatches, 0) + run.single.reduce((n, t) => n + t.redispatches, 0)} map tasks dispatched again.`,
  ].join('\n');
}

function chart(scenarios: readonly ScenarioFigures[], footer: string): string {
  const colors = { p50: '#2b6cb0', p90: '#4a90d9', p99: '#c05621', max: '#8c8c8c' } as const;
  const panels: BarPanel[] = scenarios.map((s) => ({
    title: `${s.label}: ms from dispatch (goal: p50 < ${LATENCY_GOAL_MS.p50}, p99 < ${LATENCY_GOAL_MS.p99} ms)`,
    unit: 'ms',
    groups: (Object.keys(END_POINTS) as EndPoint[]).map((point) => ({
      label: point === 'committedMs' ? 'to committed' : 'to commit request',
      note: `${s.percentilesMs[point].count} batches`,
      bars: (['p50', 'p90', 'p99', 'max'] as const).map((q) => ({
        label: q,
        value: s.percentilesMs[point][q] ?? 0,
        color: colors[q],
      })),
    })),
  }));
  return barChartSvg(panels, footer);
}

/** The suite's JSON results, table and chart. */
export function latencyReport(run: LatencyRun): SuiteReport {
  const backlogAll = run.backlog.flatMap((t) => t.batches);
  const backlogWarm = run.backlog.flatMap((t) => t.batches.slice(WARMUP_BATCHES));
  const singles = run.single.flatMap((t) => t.batches);
  const scenarios = [
    figures(`backlog (${run.backlog.length} × ${run.backlogBatches} batches), all`, backlogAll),
    ...(backlogWarm.length > 0 && backlogWarm.length < backlogAll.length
      ? [figures(`backlog, after the first ${WARMUP_BATCHES} batches of each job`, backlogWarm)]
      : []),
    ...(singles.length > 0 ? [figures(`one batch at a time (${singles.length} jobs)`, singles)] : []),
  ];
  const goal = scenarios.map((s) => ({
    scenario: s.label,
    p50CommittedMs: s.percentilesMs.committedMs.p50,
    p99CommittedMs: s.percentilesMs.committedMs.p99,
    p99CommitRequestedMs: s.percentilesMs.commitRequestedMs.p99,
    met: meetsGoal(s.percentilesMs.committedMs) === true,
  }));
  const backlogJobs = run.backlog.map(runSummary);
  const backlogVersions = run.backlog.reduce((n, t) => n + t.versions, 0);
  const singleVersions = run.single.reduce((n, t) => n + t.versions, 0);
  const footer = chartFooter(`1 map + 1 merge worker, loopback NATS`);
  return {
    results: {
      quick: run.quick,
      cluster: { maps: 1, merges: 1, startupSeconds: round(run.startupSeconds) },
      linesPerBatch: run.linesPerBatch,
      checkpointEveryBatches: 1,
      warmupBatches: WARMUP_BATCHES,
      measuredFrom: 'outside: a NATS connection listening to the map worker, merge worker and coordinator subjects',
      endPoints: END_POINTS,
      correctness: { passed: true, check: "each job's record count (mrm status) and its count of k0 (mrm query)" },
      goal: {
        goal: `dispatch → committed: p50 < ${LATENCY_GOAL_MS.p50} ms and p99 < ${LATENCY_GOAL_MS.p99} ms; backlog ≥ ${BACKLOG_GOAL_VERSIONS_PER_SECOND} versions/s`,
        byScenario: goal,
        backlogVersionsPerSecond: backlogJobs.map((j) => j.versionsPerSecond),
        backlogMet: backlogJobs.every(
          (j) => j.versionsPerSecond !== null && j.versionsPerSecond >= BACKLOG_GOAL_VERSIONS_PER_SECOND,
        ),
      },
      scenarios,
      backlogJobs,
      cpu: {
        what: 'CPU seconds of each cluster process over the scenario (its submits included), and per committed version',
        backlog: {
          seconds: run.cpuSeconds.backlog,
          msPerVersion: cpuMsPerVersion(run.cpuSeconds.backlog, backlogVersions),
        },
        single: {
          seconds: run.cpuSeconds.single,
          msPerVersion: cpuMsPerVersion(run.cpuSeconds.single, singleVersions),
        },
      },
      embedded: {
        measured: false,
        why: "the embedded engine's roles talk over an in-process memory transport that cannot be observed from outside without changing engine code",
      },
      timelines: { backlog: run.backlog, single: run.single },
    },
    table: table(scenarios, run),
    svg: chart(scenarios, footer),
  };
}
