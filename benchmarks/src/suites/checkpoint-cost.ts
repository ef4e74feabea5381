/**
 * The checkpoint-cost suite (issue 6, "Numbers"): throughput of the same job on a local cluster
 * of 2 map + 3 merge workers with a checkpoint every 1, 10 and 100 batches, each copied into
 * JetStream, against the same cluster keeping no copies (`mrm up --no-copies`), with a checkpoint
 * every 10 batches (what the local LMDB checkpoint costs alone) and with one version at the end
 * only (no checkpoints). Goal: a checkpoint every 10 batches costs at most 10 %.
 *
 * Each run is a fresh cluster: the state input builds the merge state (`--size-mb` MB, not
 * timed), then the increment's job time is measured (lib/state-cluster-run.ts). Contenders run
 * in rotated rounds; every run's result must equal `mrm run`'s over the same inputs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alternateRounds, type Contender } from '../lib/alternating.js';
import { embeddedReference, type StateRunResult, stateRun } from '../lib/state-cluster-run.js';
import { checkSameResult, describeInputs, readResult, stateInputs } from '../lib/state-job.js';
import { median, round } from '../lib/stats.js';
import { barChartSvg } from '../lib/svg-chart.js';
import { markdownTable } from '../lib/text-table.js';
import { BenchFailure, type Suite, type SuiteContext, type SuiteReport } from '../suite.js';

/** What a contender runs: copies on or off, and a checkpoint every so many batches. */
const SETTINGS: Record<string, { copies: boolean; every: number; label: string; color: string }> = {
  'copies-1': { copies: true, every: 1, label: 'copies, checkpoint every 1', color: '#c05621' },
  'copies-10': { copies: true, every: 10, label: 'copies, checkpoint every 10', color: '#2b6cb0' },
  'copies-100': { copies: true, every: 100, label: 'copies, checkpoint every 100', color: '#38a169' },
  'local-10': { copies: false, every: 10, label: 'no copies, checkpoint every 10', color: '#805ad5' },
  none: { copies: false, every: 1_000_000, label: 'no copies, one version at the end', color: '#718096' },
};
/** Quick: copies every 10, the local checkpoint alone every 10 (which tells the two costs apart), none. */
const QUICK = ['copies-10', 'local-10', 'none'];
/** State in MB (100 MB per merge worker) and the increment; `--quick` much smaller. */
const FULL = { stateMb: 300, batches: 200, batchLines: 2000, runs: 3 };
const SMALL = { stateMb: 3, batches: 30, batchLines: 200, runs: 1 };
/** The goal: with copies every 10 batches, throughput at least this share of no checkpoints. */
const GOAL_SHARE = 0.9;

/** Median CPU milliseconds per increment batch: the three merge workers together, the coordinator, nats-server. */
interface CpuPerBatch {
  readonly merge: number | null;
  readonly coordinator: number | null;
  readonly nats: number | null;
}

function cpuPerBatch(runs: readonly StateRunResult[], batches: number): CpuPerBatch {
  const perBatch = (pick: (cpu: Readonly<Record<string, number>>) => number) =>
    median(runs.map((r) => Math.round((pick(r.cpuSeconds) * 1000) / batches)));
  return {
    merge: perBatch((cpu) =>
      Object.entries(cpu)
        .filter(([name]) => name.startsWith('merge-'))
        .reduce((n, [, s]) => n + s, 0),
    ),
    coordinator: perBatch((cpu) => cpu.coordinator ?? 0),
    nats: perBatch((cpu) => cpu['nats-server'] ?? 0),
  };
}

async function run(context: SuiteContext): Promise<SuiteReport> {
  const { options, repoRoot, log } = context;
  const size = options.quick ? SMALL : FULL;
  const stateMb = options.sizesMb?.[0] ?? size.stateMb;
  const runs = options.runs ?? size.runs;
  const ids = options.quick ? QUICK : Object.keys(SETTINGS);
  const mrmBin = join(repoRoot, 'packages', 'cli', 'bin', 'mrm.js');
  const inputs = stateInputs(options.cacheDir, stateMb, size.batches, size.batchLines);
  const work = mkdtempSync(join(tmpdir(), 'mrm-bench-checkpoint-cost-'));
  const results: Record<string, StateRunResult[]> = Object.fromEntries(ids.map((id) => [id, []]));
  try {
    const reference = join(work, 'reference.jsonl');
    await embeddedReference(mrmBin, work, inputs, reference);
    const expected = await readResult(reference);
    const contenders: Contender[] = ids.map((id) => {
      const s = SETTINGS[id] as (typeof SETTINGS)[string];
      return {
        id,
        label: s.label,
        run: async (r) => {
          const resultPath = join(work, `${id}-${r}.jsonl`);
          const result = await stateRun(
            { mrmBin, work, label: `${id}-${r}`, inputs, checkpointEvery: s.every, copies: s.copies, resultPath },
            log,
          );
          checkSameResult(`the cluster's result (${s.label})`, expected, await readResult(resultPath));
          if (result.copied !== s.copies)
            throw new BenchFailure(
              `${s.label}: the merge workers ${result.copied ? 'did' : 'did not'} copy checkpoints`,
            );
          rmSync(resultPath, { force: true });
          (results[id] as StateRunResult[]).push(result);
          return { seconds: result.jobSeconds, cpuSeconds: null, peakRssMiB: null };
        },
      };
    });
    await alternateRounds(contenders, runs, log);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const medians = Object.fromEntries(
    ids.map((id) => {
      const rs = results[id] as StateRunResult[];
      return [
        id,
        {
          jobSeconds: round(median(rs.map((x) => x.jobSeconds)) ?? 0),
          recordsPerSecond: Math.round(median(rs.map((x) => x.recordsPerSecond)) ?? 0),
          versions: median(rs.map((x) => x.versions)),
          cpu: cpuPerBatch(rs, size.batches),
        },
      ];
    }),
  ) as Record<string, { jobSeconds: number; recordsPerSecond: number; versions: number | null; cpu: CpuPerBatch }>;
  const none = medians.none?.recordsPerSecond ?? 0;
  const shareOfNone = Object.fromEntries(
    ids.map((id) => [id, none > 0 ? round((medians[id]?.recordsPerSecond ?? 0) / none) : null]),
  );
  const share10 = shareOfNone['copies-10'] ?? null;
  const goal = {
    goal: `throughput with copies every 10 batches >= ${GOAL_SHARE} x that with no checkpoints (cost <= 10 %)`,
    share: share10,
    met: share10 === null ? null : share10 >= GOAL_SHARE,
  };
  const goalText = `copies every 10 / no checkpoints = ${share10?.toFixed(2) ?? '?'} (goal ≥ ${GOAL_SHARE}: ${goal.met === null ? 'not measured' : goal.met ? 'met' : 'not met'})`;
  const rows = [
    [
      'setting',
      'runs',
      'versions',
      'median job s',
      'records/s',
      '÷ no checkpoints',
      'merge CPU ms/batch',
      'coordinator CPU ms/batch',
      'nats-server CPU ms/batch',
    ],
    ...ids.map((id) => [
      SETTINGS[id]?.label ?? id,
      String(results[id]?.length ?? 0),
      String(medians[id]?.versions ?? ''),
      (medians[id]?.jobSeconds ?? 0).toFixed(2),
      (medians[id]?.recordsPerSecond ?? 0).toLocaleString('en-US'),
      shareOfNone[id]?.toFixed(2) ?? '',
      String(medians[id]?.cpu.merge ?? ''),
      String(medians[id]?.cpu.coordinator ?? ''),
      String(medians[id]?.cpu.nats ?? ''),
    ]),
  ];
  const described = describeInputs(inputs);
  const what = `${described.text}`;
  return {
    results: {
      quick: options.quick,
      input: described.json,
      workers: { map: 2, merge: 3 },
      runs,
      settings: Object.fromEntries(ids.map((id) => [id, SETTINGS[id]])),
      samples: results,
      medians,
      shareOfNoCheckpoints: shareOfNone,
      goal,
      correctness: { passed: true, check: "every run's result equals mrm run's over the same inputs, key for key" },
    },
    table: `${markdownTable(rows)}\n\n${what}. ${goalText}. Correct: every run's result equals mrm run's.`,
    svg: barChartSvg(
      [
        {
          title: 'Increment throughput by checkpoint setting (higher is better)',
          unit: 'k records/s',
          groups: [
            {
              label: `${(inputs.state.bytes / 1e6).toFixed(0)} MB state`,
              note: goalText,
              bars: ids.map((id) => ({
                label: SETTINGS[id]?.label ?? id,
                value: (medians[id]?.recordsPerSecond ?? 0) / 1000,
                color: SETTINGS[id]?.color ?? '#999',
              })),
            },
          ],
        },
      ],
      `${context.command} · medians of ${runs} rotated round(s) · a fresh cluster per run · see docs/benchmarks.md`,
    ),
  };
}

/** The checkpoint-cost suite. */
export const checkpointCostSuite: Suite = {
  name: 'checkpoint-cost',
  description: 'cluster throughput with checkpoints copied to JetStream every 1, 10, 100 batches vs no copies',
  // Its quick mode takes 40–60 s on a loaded 2-core machine: named, not in the default --quick.
  inDefaultQuick: false,
  run,
};
