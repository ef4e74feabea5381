/**
 * The recovery suite (issue 6 "Numbers", issue 9's fault suite): on a local cluster of 2 map + 3
 * merge workers (real processes, JetStream), a job holding `--size-mb` MB of merge state (about
 * a third per merge worker) runs an increment; merge worker `merge-1` is killed with SIGKILL
 * (its pid) once it has merged a third of the increment's batches. Measured from outside: seconds
 * from the kill until batches merge again, how long the restore took and how many bytes per
 * second it downloaded, batches merged again, and the job's time against the same run undisturbed
 * — for `--checkpoint-every` 1, 10 and 100 (the thesis's trade-off: frequent checkpoints cost
 * throughput, rare ones cost replay). Every result must equal `mrm run`'s over the same inputs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alternateRounds, type Contender } from '../lib/alternating.js';
import { embeddedReference, type Recovery, type StateRunResult, stateRun } from '../lib/state-cluster-run.js';
import { checkSameResult, describeInputs, readResult, stateInputs } from '../lib/state-job.js';
import { median, round } from '../lib/stats.js';
import { barChartSvg } from '../lib/svg-chart.js';
import { markdownTable } from '../lib/text-table.js';
import { BenchFailure, type Suite, type SuiteContext, type SuiteReport } from '../suite.js';

/** `--checkpoint-every` values compared; `--quick`: one. */
const EVERY = [1, 10, 100];
const QUICK_EVERY = [10];
/** State in MB (100 MB per merge worker) and the increment; `--quick` much smaller. */
const FULL = { stateMb: 300, batches: 150, batchLines: 2000, runs: 3 };
const SMALL = { stateMb: 3, batches: 30, batchLines: 200, runs: 1 };
/** The goal: batches merge again within this many seconds of the kill. */
const GOAL_SECONDS = 3;

interface EveryFigures {
  readonly checkpointEvery: number;
  readonly killed: StateRunResult[];
  readonly steady: StateRunResult[];
  readonly medians: {
    readonly secondsToLoss: number | null;
    readonly secondsToNewRun: number | null;
    readonly secondsToMergeAgain: number | null;
    readonly restoreSeconds: number | null;
    readonly bytesRestored: number | null;
    readonly restoreBytesPerSecond: number | null;
    readonly batchesReplayed: number | null;
    readonly killedJobSeconds: number | null;
    readonly steadyJobSeconds: number | null;
  };
  /** Median job seconds killed ÷ undisturbed. */
  readonly killedOverSteady: number | null;
}

function figuresOf(every: number, killed: StateRunResult[], steady: StateRunResult[]): EveryFigures {
  const rec = (f: (r: Recovery) => number | null) => {
    const v = median(
      killed.flatMap((k) => (k.recovery !== undefined && f(k.recovery) !== null ? [f(k.recovery) as number] : [])),
    );
    return v === null ? null : round(v);
  };
  const killedJobSeconds = median(killed.map((k) => k.jobSeconds));
  const steadyJobSeconds = median(steady.map((k) => k.jobSeconds));
  return {
    checkpointEvery: every,
    killed,
    steady,
    medians: {
      secondsToLoss: rec((r) => r.secondsToLoss),
      secondsToNewRun: rec((r) => r.secondsToNewRun),
      secondsToMergeAgain: rec((r) => r.secondsToMergeAgain),
      restoreSeconds: rec((r) => r.restoreSeconds),
      bytesRestored: rec((r) => r.bytesRestored),
      restoreBytesPerSecond: rec((r) => r.restoreBytesPerSecond),
      batchesReplayed: rec((r) => r.batchesReplayed),
      killedJobSeconds: killedJobSeconds === null ? null : round(killedJobSeconds),
      steadyJobSeconds: steadyJobSeconds === null ? null : round(steadyJobSeconds),
    },
    killedOverSteady:
      killedJobSeconds !== null && steadyJobSeconds !== null && steadyJobSeconds > 0
        ? round(killedJobSeconds / steadyJobSeconds, 2)
        : null,
  };
}

const fixed = (x: number | null, digits = 2) => (x === null ? '?' : x.toFixed(digits));

async function run(context: SuiteContext): Promise<SuiteReport> {
  const { options, repoRoot, log } = context;
  const size = options.quick ? SMALL : FULL;
  const stateMb = options.sizesMb?.[0] ?? size.stateMb;
  const runs = options.runs ?? size.runs;
  const everies = options.quick ? QUICK_EVERY : EVERY;
  const killAfter = Math.max(1, Math.floor(size.batches / 3));
  const mrmBin = join(repoRoot, 'packages', 'cli', 'bin', 'mrm.js');
  const inputs = stateInputs(options.cacheDir, stateMb, size.batches, size.batchLines);
  const work = mkdtempSync(join(tmpdir(), 'mrm-bench-recovery-'));
  const killed = new Map<number, StateRunResult[]>(everies.map((e) => [e, []]));
  const steady = new Map<number, StateRunResult[]>(everies.map((e) => [e, []]));
  try {
    const reference = join(work, 'reference.jsonl');
    await embeddedReference(mrmBin, work, inputs, reference);
    const expected = await readResult(reference);
    const contenders: Contender[] = everies.flatMap((every) =>
      [true, false].map((kill) => ({
        id: `${kill ? 'killed' : 'steady'}-${every}`,
        label: `checkpoint every ${every}, ${kill ? `merge-1 killed after ${killAfter} batches` : 'undisturbed'}`,
        run: async (r: number) => {
          const label = `${kill ? 'killed' : 'steady'}-${every}-${r}`;
          const resultPath = join(work, `${label}.jsonl`);
          const result = await stateRun(
            {
              mrmBin,
              work,
              label,
              inputs,
              checkpointEvery: every,
              copies: true,
              resultPath,
              ...(kill ? { killAfterBatches: killAfter } : {}),
            },
            log,
          );
          checkSameResult(`the cluster's result (${label})`, expected, await readResult(resultPath));
          rmSync(resultPath, { force: true });
          if (kill && result.recovery !== undefined) {
            const k = result.recovery;
            if (k.partitionsRestored === 0)
              throw new BenchFailure(`${label}: no live merge worker restored a partition from its copies`);
            log(
              `${label}: after the kill: lost ${fixed(k.secondsToLoss)} s, new run ${k.secondsToNewRun.toFixed(2)} s, merging again ${k.secondsToMergeAgain.toFixed(2)} s; restored ${(k.bytesRestored / 1e6).toFixed(1)} MB in ${k.restoreSeconds.toFixed(2)} s; ${k.batchesReplayed} batches merged again`,
            );
          }
          ((kill ? killed : steady).get(every) as StateRunResult[]).push(result);
          return { seconds: result.jobSeconds, cpuSeconds: null, peakRssMiB: null };
        },
      })),
    );
    await alternateRounds(contenders, runs, log);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const figures = everies.map((e) => figuresOf(e, killed.get(e) ?? [], steady.get(e) ?? []));
  const goals = figures.map((f) => ({
    checkpointEvery: f.checkpointEvery,
    secondsToMergeAgain: f.medians.secondsToMergeAgain,
    met: f.medians.secondsToMergeAgain === null ? null : f.medians.secondsToMergeAgain <= GOAL_SECONDS,
  }));
  const rows = [
    [
      '--checkpoint-every',
      'runs',
      'kill → lost s',
      'kill → new run s',
      'kill → merging again s',
      'restore s',
      'MB restored',
      'MB/s restored',
      'batches merged again',
      'job s killed',
      'job s undisturbed',
      'killed ÷ undisturbed',
    ],
    ...figures.map((f) => {
      const m = f.medians;
      return [
        String(f.checkpointEvery),
        String(f.killed.length),
        fixed(m.secondsToLoss),
        fixed(m.secondsToNewRun),
        fixed(m.secondsToMergeAgain),
        fixed(m.restoreSeconds),
        m.bytesRestored === null ? '?' : (m.bytesRestored / 1e6).toFixed(1),
        m.restoreBytesPerSecond === null ? '?' : (m.restoreBytesPerSecond / 1e6).toFixed(1),
        fixed(m.batchesReplayed, 0),
        fixed(m.killedJobSeconds),
        fixed(m.steadyJobSeconds),
        fixed(f.killedOverSteady),
      ];
    }),
  ];
  const described = describeInputs(inputs);
  const what = `${described.text}; merge-1 killed (SIGKILL) after it merged ${killAfter}`;
  const goalText = `Goal (batches merge again within ${GOAL_SECONDS} s of the kill): ${goals.map((g) => `${g.met === null ? '?' : g.met ? 'met' : 'not met'} at every ${g.checkpointEvery}`).join(', ')}`;
  const footer = `${context.command} · medians of ${runs} rotated round(s) · a fresh cluster per run · see docs/benchmarks.md`;
  return {
    results: {
      quick: options.quick,
      input: described.json,
      workers: { map: 2, merge: 3, killed: 'merge-1', killedAfterBatches: killAfter },
      runs,
      byCheckpointEvery: figures,
      goals,
      correctness: {
        passed: true,
        check: "every run's result, killed or not, equals mrm run's over the same inputs, key for key",
      },
    },
    table: `${markdownTable(rows)}\n\n${what}. ${goalText}. Correct: every run's result equals mrm run's.`,
    svg: barChartSvg(
      [
        {
          title: 'Seconds from the kill until batches merge again, and restore (lower is better)',
          unit: 's',
          groups: figures.map((f) => ({
            label: `checkpoint every ${f.checkpointEvery}`,
            note: `${fixed(f.medians.batchesReplayed, 0)} batches merged again`,
            bars: [
              { label: 'kill → merging again', value: f.medians.secondsToMergeAgain ?? 0, color: '#c05621' },
              { label: 'restore', value: f.medians.restoreSeconds ?? 0, color: '#d69e2e' },
            ],
          })),
        },
        {
          title: 'Job time of the increment, killed against undisturbed (lower is better)',
          unit: 's',
          groups: figures.map((f) => ({
            label: `checkpoint every ${f.checkpointEvery}`,
            note: `killed ÷ undisturbed = ${fixed(f.killedOverSteady)}`,
            bars: [
              { label: 'merge-1 killed', value: f.medians.killedJobSeconds ?? 0, color: '#c05621' },
              { label: 'undisturbed', value: f.medians.steadyJobSeconds ?? 0, color: '#2b6cb0' },
            ],
          })),
        },
      ],
      footer,
    ),
  };
}

/** The recovery suite. */
export const recoverySuite: Suite = {
  name: 'recovery',
  description:
    'kill a merge worker mid-run on a 2+3 cluster: time to merge again, restore rate, replay, vs --checkpoint-every',
  // Its quick mode takes 40–60 s on a loaded 2-core machine: named, not in the default --quick.
  inDefaultQuick: false,
  run,
};
