/**
 * The coordinator-scale suite's figures: rates per worker count, the coordinator's CPU per
 * message it handles (flat means its work grows linearly with the workers), the goal read off
 * them, and the JSON, table and chart the runner writes.
 */
import { round } from '../lib/stats.js';
import { type BarPanel, barChartSvg } from '../lib/svg-chart.js';
import { markdownTable } from '../lib/text-table.js';
import type { SuiteReport } from '../suite.js';

/** The goal: tasks dispatched per second with 200 workers. */
export const TASKS_GOAL = 5_000;
/** CPU per message at the largest count over that at the smallest above which growth counts as super-linear. */
export const SUPERLINEAR_FACTOR = 2;

/** One worker count's figures. */
export interface ScaleSample {
  readonly workers: number;
  readonly mapWorkers: number;
  readonly mergeWorkers: number;
  readonly tasks: number;
  readonly tasksSeconds: number;
  readonly tasksPerSecond: number;
  /** Coordinator CPU milliseconds per task in the tasks phase. */
  readonly cpuMsPerTask: number;
  /** Reports the workers sent the coordinator per task in the tasks phase (counted by them). */
  readonly reportsPerTask: number;
  readonly versions: number;
  readonly versionsSeconds: number;
  readonly versionsPerSecond: number;
  readonly cpuMsPerVersion: number;
}

/** What the suite measured. */
export interface ScaleRun {
  readonly quick: boolean;
  readonly samples: readonly ScaleSample[];
}

/** Messages the coordinator handles per task in the tasks phase: the dispatch and the reports it gets. */
function messagesPerTask(s: ScaleSample): number {
  return 1 + s.reportsPerTask;
}

/** Coordinator CPU microseconds per message handled in the tasks phase. */
function cpuUsPerMessage(s: ScaleSample): number {
  return round((s.cpuMsPerTask * 1000) / messagesPerTask(s), 2);
}

/** The suite's JSON results, table and chart. */
export function scaleReport(run: ScaleRun): SuiteReport {
  const { samples } = run;
  const first = samples[0];
  const last = samples[samples.length - 1];
  const growth = first !== undefined && last !== undefined ? cpuUsPerMessage(last) / cpuUsPerMessage(first) : null;
  const goal = {
    tasksPerSecondGoal: TASKS_GOAL,
    tasksPerSecondAtMostWorkers: last?.tasksPerSecond ?? null,
    workers: last?.workers ?? null,
    met: last !== undefined && last.workers >= 200 ? last.tasksPerSecond >= TASKS_GOAL : null,
    cpuPerMessageGrowth: growth === null ? null : round(growth, 2),
    cpuPerTaskGrowth:
      first !== undefined && last !== undefined ? round(last.cpuMsPerTask / first.cpuMsPerTask, 2) : null,
    superLinear: growth === null ? null : growth > SUPERLINEAR_FACTOR,
  };
  const rows = [
    [
      'workers (map + merge)',
      'tasks/s',
      'CPU ms/task',
      'messages/task',
      'CPU µs/message',
      'versions/s',
      'CPU ms/version',
    ],
    ...samples.map((s) => [
      `${s.workers} (${s.mapWorkers} + ${s.mergeWorkers})`,
      s.tasksPerSecond.toFixed(0),
      s.cpuMsPerTask.toFixed(3),
      messagesPerTask(s).toFixed(2),
      cpuUsPerMessage(s).toFixed(1),
      s.versionsPerSecond.toFixed(0),
      s.cpuMsPerVersion.toFixed(2),
    ]),
  ];
  const verdict =
    goal.met === null
      ? `goal (≥ ${TASKS_GOAL} tasks/s at 200 workers): not measured at 200 workers in this run`
      : `goal (≥ ${TASKS_GOAL} tasks/s at 200 workers): ${goal.met ? 'met' : 'NOT met'} (${goal.tasksPerSecondAtMostWorkers})`;
  const table = [
    markdownTable(rows),
    '',
    verdict,
    `coordinator CPU per message, most workers / fewest: ${goal.cpuPerMessageGrowth ?? '-'} (above ${SUPERLINEAR_FACTOR}: super-linear)`,
    `coordinator CPU per task, most workers / fewest: ${goal.cpuPerTaskGrowth ?? '-'} (for ${last?.workers ?? '-'} / ${first?.workers ?? '-'} workers)`,
  ].join('\n');
  const panel = (title: string, unit: string, pick: (s: ScaleSample) => number): BarPanel => ({
    title,
    unit,
    groups: samples.map((s) => ({
      label: `${s.workers} workers`,
      bars: [{ label: unit, value: pick(s), color: '#4c78a8' }],
    })),
  });
  const svg = barChartSvg(
    [
      panel('Tasks dispatched per second, simulated workers (higher is better)', 'tasks/s', (s) => s.tasksPerSecond),
      panel('Coordinator CPU per message handled (flat = linear growth)', 'µs', cpuUsPerMessage),
      panel('Versions committed per second, a version per batch', 'versions/s', (s) => s.versionsPerSecond),
    ],
    `coordinator-scale${run.quick ? ' --quick' : ''}: real coordinator + LMDB + NATS, simulated workers in one other process`,
  );
  return { results: { quick: run.quick, samples, goal }, table, svg };
}
