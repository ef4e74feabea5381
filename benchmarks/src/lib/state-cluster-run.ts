/**
 * One measured run of the recovery and checkpoint-cost suites on a fresh local cluster of 2 map
 * and 3 merge workers (real processes, JetStream): `mrm submit --wait` of the state input builds
 * the merge state (not timed), then the increment is submitted with `--checkpoint-every <n>` and
 * timed by the job's own start and finish (`mrm status`). With `kill`, merge worker `merge-1` is
 * sent SIGKILL (its pid) once it has merged that many of the increment's batches, and the run is
 * read from outside (the sniffer, the workers' logs): seconds from the kill until a batch merges
 * in the run that replaced the lost one, how long the new owners took to restore, bytes they
 * downloaded ('restored a partition from its copies … bytes=' in their logs) and how many of the
 * batches the lost worker had merged were merged again.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { BenchFailure } from '../suite.js';
import { jobStatus, queryToFile, runMrm, submittedJobId } from './cluster-cli.js';
import { writeJobFile } from './cluster-jobs.js';
import { cpuBetween, LocalCluster } from './cluster-local.js';
import { ClusterSniffer, mergedSeqs, type SeenMessage } from './cluster-sniffer.js';
import { measureChild } from './measure-child.js';
import { type StateInputs, stateJobSource } from './state-job.js';

/** The job's name in every run. */
export const STATE_JOB = 'state-count';
const VICTIM = 'merge-1';
const MERGES = ['merge-0', 'merge-1', 'merge-2'];
const TIMEOUT_MS = 60 * 60_000;

/** What to run. */
export interface StateRunPlan {
  readonly mrmBin: string;
  /** Scratch folder; the cluster lives in `<work>/<label>`, deleted after. */
  readonly work: string;
  readonly label: string;
  readonly inputs: StateInputs;
  readonly checkpointEvery: number;
  /** false: the cluster keeps no checkpoint copies (`mrm up --no-copies`). */
  readonly copies: boolean;
  /** Kill merge-1 once it has merged this many of the increment's batches. */
  readonly killAfterBatches?: number;
  /** Where the cluster's result goes (`mrm query --out`). */
  readonly resultPath: string;
}

/** What a kill cost. */
export interface Recovery {
  readonly killedAfterBatches: number;
  /** Kill → the coordinator logged the victim lost (its log's clock; null when not found). */
  readonly secondsToLoss: number | null;
  /** Kill → the first `run-start` of the run that replaced the lost one. */
  readonly secondsToNewRun: number;
  /** Kill → the first batch merged by the run that replaced the lost one. */
  readonly secondsToMergeAgain: number;
  /** Longest run-start of the new run at a merge worker (a restore happens inside it). */
  readonly restoreSeconds: number;
  readonly bytesRestored: number;
  readonly restoreBytesPerSecond: number | null;
  readonly partitionsRestored: number;
  /** Batches merge-1 had merged before the kill that the new run merged again. */
  readonly batchesReplayed: number;
  /** Runs of the job after the kill (1 when one reassignment was enough). */
  readonly runsAfterKill: number;
}

/** One run's figures. */
export interface StateRunResult {
  readonly label: string;
  readonly checkpointEvery: number;
  readonly copies: boolean;
  /** The increment's job, started to finished (the coordinator's times). */
  readonly jobSeconds: number;
  /** `mrm submit --wait` of the increment, spawn to exit. */
  readonly wallSeconds: number;
  readonly recordsPerSecond: number;
  readonly versions: number;
  /** The merge workers reported checkpoint copies (`fulls` in checkpoint-written): the copies were on. */
  readonly copied: boolean;
  readonly startupSeconds: number;
  /**
   * CPU seconds (user + system) each process of the cluster spent during the increment (from its
   * submission to its end): `merge-0`…, `coordinator`, `nats-server`, `map-0`… (a killed one is
   * left out). Steadier than job seconds on a shared machine.
   */
  readonly cpuSeconds: Readonly<Record<string, number>>;
  readonly recovery?: Recovery;
}

const merged = (s: SeenMessage, jobId: string) => s.message?.type === 'merged-through' && s.message.jobId === jobId;
const num = (s: SeenMessage, field: string) => Number(s.message?.[field]);

/** Reads a recovery off the messages seen and the merge workers' logs. */
function recoveryOf(
  sniffer: ClusterSniffer,
  cluster: LocalCluster,
  jobId: string,
  killAtMs: number,
  killAtEpochMs: number,
  after: number,
): Recovery {
  const ofJob = sniffer.seen.filter((s) => s.message?.jobId === jobId);
  const before = ofJob.filter((s) => s.atMs < killAtMs);
  const oldRun = Math.max(...before.filter((s) => s.message?.type === 'run-start').map((s) => num(s, 'run')));
  const starts = ofJob.filter((s) => s.message?.type === 'run-start' && num(s, 'run') > oldRun);
  const firstNew = Math.min(...starts.map((s) => num(s, 'run')));
  const again = ofJob.find((s) => merged(s, jobId) && num(s, 'run') === firstNew);
  if (again === undefined) throw new BenchFailure(`no batch merged after ${VICTIM} was killed (run ${oldRun})`);
  const restores = starts
    .filter((s) => num(s, 'run') === firstNew)
    .map((s) => {
      const reply = s.reply !== undefined ? sniffer.replyOn(s.reply) : undefined;
      return reply !== undefined ? reply.atMs - s.atMs : 0;
    });
  // The batches the victim had merged in the old run, by id, and those the new run merged again.
  const oldStart = before.find((s) => s.message?.type === 'run-start' && num(s, 'run') === oldRun);
  const oldIds = (oldStart?.message?.batchIds as string[] | undefined) ?? [];
  const victimMerged = new Set(
    before
      .filter((s) => merged(s, jobId) && s.message?.from === VICTIM && num(s, 'run') === oldRun)
      .flatMap((s) => mergedSeqs(s.message).map((seq) => oldIds[seq])),
  );
  const newIds = (starts.find((s) => num(s, 'run') === firstNew)?.message?.batchIds as string[] | undefined) ?? [];
  let bytesRestored = 0;
  let partitionsRestored = 0;
  for (const worker of MERGES.filter((w) => w !== VICTIM)) {
    for (const m of cluster.log(worker).matchAll(/restored a partition from its copies.* bytes=(\d+)/g)) {
      bytesRestored += Number(m[1]);
      partitionsRestored++;
    }
  }
  const restoreSeconds = Math.max(0, ...restores) / 1000;
  const newRunAtMs = Math.min(...starts.filter((s) => num(s, 'run') === firstNew).map((s) => s.atMs));
  // `<ISO time> WARN worker lost … worker=merge-1` (the CLI's console logger).
  const lostLine = new RegExp(`^(\\S+) \\S+ worker lost .*worker=${VICTIM}\\b`, 'm').exec(cluster.log('coordinator'));
  const lostAtEpochMs = lostLine === null ? Number.NaN : Date.parse(lostLine[1] as string);
  return {
    killedAfterBatches: after,
    secondsToLoss: Number.isNaN(lostAtEpochMs) ? null : (lostAtEpochMs - killAtEpochMs) / 1000,
    secondsToNewRun: (newRunAtMs - killAtMs) / 1000,
    secondsToMergeAgain: (again.atMs - killAtMs) / 1000,
    restoreSeconds,
    bytesRestored,
    restoreBytesPerSecond: restoreSeconds > 0 ? Math.round(bytesRestored / restoreSeconds) : null,
    partitionsRestored,
    batchesReplayed: newIds.filter((id) => victimMerged.has(id)).length,
    runsAfterKill: new Set(starts.map((s) => num(s, 'run'))).size,
  };
}

/** Runs the plan on a fresh cluster, writes the cluster's result to `plan.resultPath`, stops the cluster. */
export async function stateRun(plan: StateRunPlan, log: (line: string) => void): Promise<StateRunResult> {
  const { mrmBin, inputs } = plan;
  const dir = join(plan.work, plan.label);
  const cluster = await LocalCluster.start(mrmBin, { maps: 2, merges: 3, dir, copies: plan.copies });
  try {
    const job = writeJobFile(plan.work, `${STATE_JOB}.js`, stateJobSource(STATE_JOB));
    const submit = ['submit', job, '--wait', '--shared-fs', '--nats', cluster.url, '--timeout', String(TIMEOUT_MS)];
    const built = await runMrm(mrmBin, [...submit, '--input', inputs.state.path], 'mrm submit of the state input');
    const stateJobId = submittedJobId(built.stdout);
    log(
      `${plan.label}: state built (${(inputs.state.bytes / 1e6).toFixed(1)} MB, ${inputs.state.lines.toLocaleString('en-US')} keys)`,
    );
    const sniffer = await ClusterSniffer.start({
      url: cluster.url,
      channels: [{ kind: 'coordinator' }, ...MERGES.map((workerId) => ({ kind: 'worker' as const, workerId }))],
      replies: true,
    });
    try {
      const args = [
        mrmBin,
        ...submit,
        '--input',
        inputs.increment.path,
        '--batch-size',
        String(inputs.increment.batchLines),
        '--checkpoint-every',
        String(plan.checkpointEvery),
      ];
      const cpuBefore = cluster.readings();
      const running = measureChild(process.execPath, args);
      let killAtMs: number | undefined;
      let killAtEpochMs = 0;
      const after = plan.killAfterBatches;
      if (after !== undefined) {
        const isVictims = (s: SeenMessage) =>
          s.message?.type === 'merged-through' && s.message.jobId !== stateJobId && s.message.from === VICTIM;
        await Promise.race([
          // Cumulative: merged through seq after - 1 is `after` batches merged.
          sniffer.next(
            (s) => isVictims(s) && Number(s.message?.throughSeq) + 1 >= after,
            TIMEOUT_MS,
            `batch ${after} merged by ${VICTIM}`,
          ),
          running.then(() => {
            throw new BenchFailure(`the increment finished before ${VICTIM} had merged ${after} batches`);
          }),
        ]);
        killAtMs = performance.now();
        killAtEpochMs = Date.now();
        cluster.kill(VICTIM);
        log(`${plan.label}: killed ${VICTIM} (SIGKILL) after it merged ${after} batches`);
      }
      const m = await running;
      const cpuSeconds = cpuBetween(cpuBefore, cluster.readings());
      if (m.code !== 0) {
        throw new BenchFailure(
          `mrm submit of the increment (${plan.label}) failed: ${m.stderr.trim().split('\n').slice(-2).join(' | ')} | coordinator: ${cluster.logTail('coordinator')}`,
        );
      }
      const jobId = submittedJobId(m.stdout);
      await sniffer.flush();
      const status = await jobStatus(mrmBin, cluster.url, jobId);
      if (status.startedAtMs === undefined || status.finishedAtMs === undefined)
        throw new BenchFailure(`mrm status ${jobId} gave no start and finish times`);
      const jobSeconds = (status.finishedAtMs - status.startedAtMs) / 1000;
      await queryToFile(mrmBin, cluster.url, STATE_JOB, plan.resultPath);
      return {
        label: plan.label,
        checkpointEvery: plan.checkpointEvery,
        copies: plan.copies,
        jobSeconds,
        wallSeconds: m.wallMs / 1000,
        recordsPerSecond: Math.round(inputs.increment.lines / jobSeconds),
        versions: status.versions?.length ?? 0,
        copied: sniffer.seen.some(
          (s) => s.message?.type === 'checkpoint-written' && s.message.jobId === jobId && s.message.fulls !== undefined,
        ),
        startupSeconds: cluster.startupSeconds,
        cpuSeconds,
        ...(killAtMs !== undefined && after !== undefined
          ? { recovery: recoveryOf(sniffer, cluster, jobId, killAtMs, killAtEpochMs, after) }
          : {}),
      };
    } finally {
      await sniffer.close();
    }
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `mrm run` of the state input then the increment into one fresh `--state`: the expected result. */
export async function embeddedReference(mrmBin: string, work: string, inputs: StateInputs, out: string): Promise<void> {
  const job = writeJobFile(work, `${STATE_JOB}-embedded.js`, stateJobSource(STATE_JOB));
  const state = join(work, 'embedded-state');
  await runMrm(
    mrmBin,
    ['run', job, '--input', inputs.state.path, '--state', state, '--quiet'],
    'mrm run (state input)',
  );
  await runMrm(
    mrmBin,
    ['run', job, '--input', inputs.increment.path, '--state', state, '--quiet', '--out', out],
    'mrm run (increment)',
  );
  rmSync(state, { recursive: true, force: true });
}
