/**
 * The latency suite: how long a small batch (1,000 records) takes from dispatch to committed and
 * queryable on a local cluster of one map and one merge worker on loopback. Measured from
 * outside, without changing engine code: a NATS connection of our own listens to the
 * coordinator's and workers' subjects and stamps every message (see lib/cluster-sniffer.ts and
 * latency-timeline.ts). Every batch is its own version (`--checkpoint-every 1`).
 *
 * Two scenarios: a backlog (a job of 200 batches submitted at once: the engine runs as fast as it
 * can and a batch also waits for the ones before it) and one batch at a time (jobs of a single
 * batch, submitted one after another: nothing to wait for but the engine itself).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobStatus, queryKey, runMrm, submittedJobId } from '../lib/cluster-cli.js';
import { countingJobSource, LATENCY_KEYS, writeJobFile, writeLatencyInput } from '../lib/cluster-jobs.js';
import { cpuBetween, LocalCluster } from '../lib/cluster-local.js';
import { ClusterSniffer } from '../lib/cluster-sniffer.js';
import { BenchFailure, type Suite, type SuiteContext } from '../suite.js';
import { type LatencyRun, latencyReport } from './latency-report.js';
import { type RunTimeline, runTimeline } from './latency-timeline.js';

/** Records per batch: the small batch. A multiple of the input's 1,000 keys. */
const LINES_PER_BATCH = 1000;
/** Batches of a backlog job (full run, quick run). */
const BACKLOG_BATCHES = { full: 200, quick: 20 };
/** Backlog jobs in a full run (`--runs` overrides); a quick run has one. */
const DEFAULT_RUNS = 3;
/** Single-batch jobs, one after another (full run, quick run). */
const SINGLE_JOBS = { full: 20, quick: 2 };

/** Runs one job to the end on the cluster and reads its batches' timelines off the sniffer. */
class LatencyBench {
  constructor(
    private readonly context: SuiteContext,
    private readonly mrmBin: string,
    private readonly cluster: LocalCluster,
    private readonly sniffer: ClusterSniffer,
    private readonly work: string,
  ) {}

  async job(name: string, batches: number, salt: string): Promise<RunTimeline> {
    const jobFile = writeJobFile(this.work, `${name}.js`, countingJobSource(name));
    const input = join(this.work, `${name}-${salt}.txt`);
    writeLatencyInput(input, batches, LINES_PER_BATCH, salt);
    const args = [
      'submit',
      jobFile,
      '--input',
      input,
      '--wait',
      '--shared-fs',
      '--batch-size',
      String(LINES_PER_BATCH),
    ];
    args.push('--checkpoint-every', '1', '--nats', this.cluster.url, '--timeout', '600000');
    const { stdout } = await runMrm(this.mrmBin, args, `mrm submit (${name})`, this.context.repoRoot).catch((e) => {
      throw new BenchFailure(`${(e as Error).message} | coordinator log: ${this.cluster.logTail('coordinator')}`);
    });
    const jobId = submittedJobId(stdout);
    await this.sniffer.flush();
    const timeline = runTimeline(this.sniffer.seen, jobId, (subject) => this.sniffer.replyOn(subject)?.atMs);
    const status = await jobStatus(this.mrmBin, this.cluster.url, jobId);
    const records = batches * LINES_PER_BATCH;
    if (status.state !== 'succeeded' || status.progress?.records !== records) {
      throw new BenchFailure(
        `job ${jobId} ended ${status.state} with ${status.progress?.records} records, expected ${records}`,
      );
    }
    const unseen = timeline.batches.filter((b) => b.committedMs === null).length;
    if (timeline.batches.length !== batches || unseen > 0) {
      throw new BenchFailure(
        `saw ${timeline.batches.length} of ${batches} batches of ${jobId} dispatched, ${unseen} of them without a committed version`,
      );
    }
    return timeline;
  }

  /** The result must hold each key once per 1,000 lines submitted to job `name`. */
  async checkCounts(name: string, lines: number): Promise<void> {
    const expected = lines / LATENCY_KEYS;
    const value = await queryKey(this.mrmBin, this.cluster.url, name, 'k0');
    if (value !== expected) throw new BenchFailure(`job ${name}: k0 = ${JSON.stringify(value)}, expected ${expected}`);
  }
}

async function run(context: SuiteContext) {
  const { options, repoRoot, log } = context;
  const mrmBin = join(repoRoot, 'packages', 'cli', 'bin', 'mrm.js');
  if (options.sizesMb !== undefined) log('--size-mb does not apply: batches are 1,000 records, 200 per job');
  const backlogBatches = options.quick ? BACKLOG_BATCHES.quick : BACKLOG_BATCHES.full;
  const runs = options.quick ? 1 : (options.runs ?? DEFAULT_RUNS);
  const singles = options.quick ? SINGLE_JOBS.quick : SINGLE_JOBS.full;
  const work = mkdtempSync(join(tmpdir(), 'mrm-bench-latency-'));
  const backlog: RunTimeline[] = [];
  const single: RunTimeline[] = [];
  /** CPU seconds per cluster process over each scenario (submits included). */
  const cpuSeconds: { backlog: Record<string, number>; single: Record<string, number> } = { backlog: {}, single: {} };
  let startupSeconds = 0;
  try {
    const cluster = await LocalCluster.start(mrmBin, { maps: 1, merges: 1, dir: join(work, 'cluster') });
    startupSeconds = cluster.startupSeconds;
    try {
      const sniffer = await ClusterSniffer.start({
        url: cluster.url,
        channels: [
          { kind: 'worker', workerId: 'map-0' },
          { kind: 'worker', workerId: 'merge-0' },
          { kind: 'coordinator' },
        ],
        replies: true,
      });
      try {
        const bench = new LatencyBench(context, mrmBin, cluster, sniffer, work);
        let readings = cluster.readings();
        for (let r = 0; r < runs; r++) {
          const name = `latency-backlog-${r + 1}`;
          const timeline = await bench.job(name, backlogBatches, `r${r}`);
          await bench.checkCounts(name, backlogBatches * LINES_PER_BATCH);
          backlog.push(timeline);
          const seconds = (timeline.spanMs ?? 0) / 1000;
          log(
            `backlog job ${r + 1}/${runs}: ${backlogBatches} batches in ${seconds.toFixed(2)} s, ${timeline.versions} versions in ${timeline.commitRequests} commit requests`,
          );
        }
        cpuSeconds.backlog = cpuBetween(readings, cluster.readings());
        readings = cluster.readings();
        for (let i = 0; i < singles; i++) {
          single.push(await bench.job('latency-single', 1, `s${i}`));
          log(`single-batch job ${i + 1}/${singles}: ${single.at(-1)?.batches[0]?.committedMs?.toFixed(1)} ms`);
        }
        cpuSeconds.single = cpuBetween(readings, cluster.readings());
        if (singles > 0) await bench.checkCounts('latency-single', singles * LINES_PER_BATCH);
      } finally {
        await sniffer.close();
      }
    } finally {
      await cluster.stop();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const report: LatencyRun = {
    quick: options.quick,
    linesPerBatch: LINES_PER_BATCH,
    backlogBatches,
    startupSeconds,
    backlog,
    single,
    cpuSeconds,
  };
  return latencyReport(report);
}

/** The latency suite. */
export const latencySuite: Suite = {
  name: 'latency',
  description: 'per-batch latency (1,000 records) from dispatch to committed on a 1+1 local cluster',
  run,
};
