/**
 * The push suite: frames and bytes per second one map worker pushes into one merge worker, as a
 * fraction of what a bare NATS publish/subscribe loop moves on the same server in the same run.
 *
 * MRM: a job whose map emits every input line as its own key with a ~1 KB value (nothing combines
 * away, so frames fill up to the default 512 KiB) on a fresh 1 + 1 local cluster per round. The
 * map worker's `framesPushed`/`bytesPushed` and the merge worker's `framesReceived`/`bytesReceived`
 * are asked of each worker before and after the job on its stats subject (the counters as of the
 * answer, as `mrm status` asks for them), by a NATS connection of our own that also stamps the
 * first dispatch and the last `task-done` (the map worker has published and flushed every frame)
 * off the coordinator's subject. Heartbeats are no measure of "after": a beat comes from a thread
 * of its own and carries the counters the main thread posted up to a second or more before, so a
 * beat sent after the job may still count fewer frames than were pushed. Bare NATS: one publisher
 * and one subscriber process on the cluster's nats-server (lib/cluster-bare-nats.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeApi, encodeApi } from '@mrm/core';
import { bareNatsLoop } from '../lib/cluster-bare-nats.js';
import { jobStatus, queryKey, runMrm, submittedJobId } from '../lib/cluster-cli.js';
import { passThroughJobSource, pushInput, pushKey, pushValue, writeJobFile } from '../lib/cluster-jobs.js';
import { cpuBetween, LocalCluster } from '../lib/cluster-local.js';
import { ClusterSniffer, type SeenMessage } from '../lib/cluster-sniffer.js';
import { BenchFailure, type Suite, type SuiteContext } from '../suite.js';
import { type BareSample, type PushSample, pushReport } from './push-report.js';

/** Input size (MB) of a full run, and rounds (each on a fresh cluster). */
const DEFAULT_SIZES_MB = [128];
const DEFAULT_RUNS = 3;
/** Partitions of the job, and lines per batch: ~2 MB per partition and batch, so frames are full. */
const PARTITIONS = 4;
const BATCH_LINES = 8000;
/** The bare loop's payloads: MRM's default largest frame, and a smaller one. */
const BARE_PAYLOADS = [512 * 1024, 64 * 1024];
/** The bare publisher's flush window: MRM's default credit window. */
const WINDOW_BYTES = 8 * 1024 * 1024;
/** The bare loop sends twice the MRM input (at least 32 MiB), so it runs about as long. */
const bareTotalBytes = (sizeMb: number) => Math.max(32 * 2 ** 20, 2 * sizeMb * 1e6);

type Stats = Readonly<Record<string, number>>;

function isHeartbeatOf(workerId: string) {
  return (s: SeenMessage) => s.message?.type === 'heartbeat' && s.message.workerId === workerId;
}

const statsOf = (s: SeenMessage | undefined): Stats => (s?.message?.stats as Stats | undefined) ?? {};
const delta = (after: Stats, before: Stats, key: string) => (after[key] ?? 0) - (before[key] ?? 0);

/** How long a worker gets to answer for its counters, and how often it is asked before the run fails. */
const COUNTERS_TIMEOUT_MS = 10_000;
const COUNTERS_ATTEMPTS = 3;

/** The counters of `workerId` as of its answer (its main thread replies on its stats subject). */
async function countersOf(sniffer: ClusterSniffer, workerId: string): Promise<Stats> {
  let problem = '';
  for (let attempt = 0; attempt < COUNTERS_ATTEMPTS; attempt++) {
    try {
      const reply = decodeApi(
        await sniffer.request({ kind: 'stats', workerId }, encodeApi({ type: 'worker-stats' }), COUNTERS_TIMEOUT_MS),
      );
      if (reply.type === 'worker-stats-reply') return reply.stats;
      problem = `it answered ${reply.type}`;
    } catch (e) {
      problem = String(e);
    }
  }
  throw new BenchFailure(`${workerId} did not tell its counters (${problem})`);
}

/** One MRM push run on a running cluster. */
async function pushRun(
  context: SuiteContext,
  mrmBin: string,
  cluster: LocalCluster,
  sniffer: ClusterSniffer,
  plan: { round: number; work: string; input: ReturnType<typeof pushInput> },
): Promise<PushSample> {
  const name = `push-${plan.round + 1}`;
  const job = writeJobFile(plan.work, `${name}.js`, passThroughJobSource(name, PARTITIONS));
  const [mapA, mergeA] = await Promise.all([countersOf(sniffer, 'map-0'), countersOf(sniffer, 'merge-0')]);
  const cpuBefore = cluster.readings();
  const args = [
    'submit',
    job,
    '--input',
    plan.input.path,
    '--wait',
    '--shared-fs',
    '--batch-size',
    String(BATCH_LINES),
  ];
  args.push('--nats', cluster.url, '--timeout', String(30 * 60_000));
  const started = performance.now();
  const { stdout } = await runMrm(mrmBin, args, `mrm submit (${name})`, context.repoRoot);
  const submitSeconds = (performance.now() - started) / 1000;
  const cpu = cpuBetween(cpuBefore, cluster.readings());
  const jobId = submittedJobId(stdout);
  // Counters as of now, after the job ended: every frame is counted in them. The answers come
  // over the sniffer's connection, after every message the server routed to it before them.
  const [mapB, mergeB] = await Promise.all([countersOf(sniffer, 'map-0'), countersOf(sniffer, 'merge-0')]);
  const ofJob = (type: string) => sniffer.ofType(type).filter((s) => s.message?.jobId === jobId);
  const firstDispatch = ofJob('map-task')[0]?.atMs;
  // A map worker reports tasks finished in one turn together (tasks-done, decisions/0058).
  const lastTaskDone = [...ofJob('task-done'), ...ofJob('tasks-done')].reduce<number | undefined>(
    (last, s) => Math.max(last ?? s.atMs, s.atMs),
    undefined,
  );
  const lastMerged = ofJob('merged-through').at(-1)?.atMs;
  if (firstDispatch === undefined || lastTaskDone === undefined || lastMerged === undefined) {
    throw new BenchFailure(`did not see ${jobId}'s dispatches, task reports and merges on the coordinator's subjects`);
  }
  const frames = delta(mapB, mapA, 'framesPushed');
  const bytes = delta(mapB, mapA, 'bytesPushed');
  const mergeFrames = delta(mergeB, mergeA, 'framesReceived');
  const mergeBytes = delta(mergeB, mergeA, 'bytesReceived');
  await check(mrmBin, cluster, { jobId, name, frames, bytes, mergeFrames, mergeBytes, lines: plan.input.lines });
  // Steady rate: between the map worker's first and last heartbeat inside the push window.
  const beats = sniffer.seen.filter(
    (s) => isHeartbeatOf('map-0')(s) && s.atMs >= firstDispatch && s.atMs <= lastTaskDone,
  );
  const first = beats[0];
  const last = beats.at(-1);
  const steadySeconds = first !== undefined && last !== undefined ? (last.atMs - first.atMs) / 1000 : 0;
  const pushSeconds = (lastTaskDone - firstDispatch) / 1000;
  const batches = ofJob('map-task').length;
  // Every line is its own key, so every batch has output in every partition: one end marker each.
  const endMarkers = batches * PARTITIONS;
  return {
    round: plan.round,
    jobId,
    batches,
    frames,
    bytes,
    avgFrameBytes: frames > 0 ? bytes / frames : 0,
    endMarkers,
    avgDataFrameBytes: frames > endMarkers ? bytes / (frames - endMarkers) : 0,
    pushSeconds,
    framesPerSecond: frames / pushSeconds,
    bytesPerSecond: bytes / pushSeconds,
    mergedSeconds: (lastMerged - firstDispatch) / 1000,
    bytesPerSecondToMerged: bytes / ((lastMerged - firstDispatch) / 1000),
    steadyBytesPerSecond:
      beats.length >= 2 && steadySeconds > 0
        ? delta(statsOf(last), statsOf(first), 'bytesPushed') / steadySeconds
        : null,
    steadyFramesPerSecond:
      beats.length >= 2 && steadySeconds > 0
        ? delta(statsOf(last), statsOf(first), 'framesPushed') / steadySeconds
        : null,
    submitSeconds,
    creditWaits: delta(mapB, mapA, 'waits'),
    creditWaitSeconds: delta(mapB, mapA, 'waitMs') / 1000,
    cpuByProcess: cpu,
  };
}

async function check(
  mrmBin: string,
  cluster: LocalCluster,
  c: {
    jobId: string;
    name: string;
    frames: number;
    bytes: number;
    mergeFrames: number;
    mergeBytes: number;
    lines: number;
  },
): Promise<void> {
  if (c.frames === 0 || c.frames !== c.mergeFrames || c.bytes !== c.mergeBytes) {
    throw new BenchFailure(
      `the map worker pushed ${c.frames} frames (${c.bytes} bytes) but the merge worker received ${c.mergeFrames} (${c.mergeBytes} bytes)`,
    );
  }
  const status = await jobStatus(mrmBin, cluster.url, c.jobId);
  if (status.state !== 'succeeded' || status.progress?.records !== c.lines) {
    throw new BenchFailure(
      `job ${c.jobId} ended ${status.state} with ${status.progress?.records} records, expected ${c.lines}`,
    );
  }
  for (const i of [0, Math.floor(c.lines / 2), c.lines - 1]) {
    const value = await queryKey(mrmBin, cluster.url, c.name, pushKey(i));
    if (value !== pushValue(i)) throw new BenchFailure(`job ${c.name}: ${pushKey(i)} has a wrong value`);
  }
}

async function bare(url: string, sizeMb: number, round: number): Promise<BareSample[]> {
  const out: BareSample[] = [];
  // Alternate the payload order too, so neither size always runs first.
  const payloads = round % 2 === 0 ? BARE_PAYLOADS : [...BARE_PAYLOADS].reverse();
  for (const payloadBytes of payloads) {
    const r = await bareNatsLoop({ url, payloadBytes, totalBytes: bareTotalBytes(sizeMb), windowBytes: WINDOW_BYTES });
    out.push({ round, ...r });
  }
  return out;
}

async function run(context: SuiteContext) {
  const { options, repoRoot, log } = context;
  const mrmBin = join(repoRoot, 'packages', 'cli', 'bin', 'mrm.js');
  const sizeMb = (options.sizesMb ?? DEFAULT_SIZES_MB)[0] as number;
  if ((options.sizesMb?.length ?? 0) > 1) log(`one size per run: using ${sizeMb} MB`);
  const runs = options.quick ? 1 : (options.runs ?? DEFAULT_RUNS);
  const input = pushInput(options.cacheDir, sizeMb);
  log(`${(input.bytes / 1e6).toFixed(1)} MB, ${input.lines.toLocaleString('en-US')} lines of ~1 KB; ${runs} round(s)`);
  const work = mkdtempSync(join(tmpdir(), 'mrm-bench-push-'));
  const pushes: PushSample[] = [];
  const bares: BareSample[] = [];
  try {
    for (let round = 0; round < runs; round++) {
      const cluster = await LocalCluster.start(mrmBin, { maps: 1, merges: 1, dir: join(work, `cluster-${round}`) });
      try {
        const sniffer = await ClusterSniffer.start({
          url: cluster.url,
          channels: [{ kind: 'worker', workerId: 'map-0' }, { kind: 'coordinator' }, { kind: 'heartbeats' }],
        });
        try {
          const mrm = () => pushRun(context, mrmBin, cluster, sniffer, { round, work, input });
          // Who goes first alternates by round, so slow phases of a noisy machine hit both.
          if (round % 2 === 0) {
            bares.push(...(await bare(cluster.url, sizeMb, round)));
            pushes.push(await mrm());
          } else {
            pushes.push(await mrm());
            bares.push(...(await bare(cluster.url, sizeMb, round)));
          }
        } finally {
          await sniffer.close();
        }
      } finally {
        await cluster.stop();
      }
      const p = pushes.at(-1);
      log(
        `round ${round + 1}/${runs}: mrm ${((p?.bytesPerSecond ?? 0) / 1e6).toFixed(1)} MB/s; bare ${bares
          .filter((b) => b.round === round)
          .map((b) => `${b.payloadBytes / 1024} KiB ${(b.bytesPerSecond / 1e6).toFixed(0)} MB/s`)
          .join(', ')}`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return pushReport({
    quick: options.quick,
    input: { bytes: input.bytes, lines: input.lines },
    partitions: PARTITIONS,
    batchLines: BATCH_LINES,
    windowBytes: WINDOW_BYTES,
    bareTotalBytes: bareTotalBytes(sizeMb),
    pushes,
    bares,
  });
}

/** The push suite. */
export const pushSuite: Suite = {
  name: 'push',
  description: 'map → merge push throughput on a 1+1 cluster against a bare NATS publish/subscribe loop',
  run,
};
