/**
 * The freshness suite: how long a record published to a streaming job's input takes to be
 * queryable, at a steady rate (10,000 records per second by default) on a local 1+1 cluster.
 *
 * A publisher appends a block of records every 50 ms (`mrm publish`'s own code path, the
 * StreamLog's JetStream adapter) and notes the time and the sequence number of each block's last
 * record. An observer asks the coordinator for the job's status every 10 ms; a block is fresh once
 * the job's committed sequence reaches it (a committed version is what queries read). Freshness is
 * that moment minus the block's publish time. Goal (issue 11): p99 under 1 s plus the batch interval.
 *
 * The goal is about a steady rate, so the clock starts once the job runs: one record is published
 * first and the steady publishing begins when it is committed. How long that first record took
 * (the job's start: its open run, the workers loading the job, a fresh cluster's first job) is
 * reported beside the figures as `startMs`, not mixed into them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeApi, encodeApi, type StreamStatus } from '@mrm/core';
import { NatsTransport } from '@mrm/transport-nats';
import { runMrm, submittedJobId } from '../lib/cluster-cli.js';
import { countingJobSource, writeJobFile } from '../lib/cluster-jobs.js';
import { LocalCluster } from '../lib/cluster-local.js';
import { barChartSvg } from '../lib/svg-chart.js';
import { BenchFailure, type Suite, type SuiteContext } from '../suite.js';

const RATE_PER_S = 10_000;
const TICK_MS = 50;
const SUBJECT = 'bench.fresh';
/** Batch intervals measured (full run: 500 ms is `mrm submit --stream`'s default), and seconds of steady publishing per interval. */
const INTERVALS_MS = { full: [250, 500, 1000], quick: [250] };
const SECONDS = { full: 20, quick: 5 };

interface Block {
  readonly seq: number;
  readonly publishedAtMs: number;
  freshMs?: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function streamStatus(transport: NatsTransport, jobId: string): Promise<StreamStatus | undefined> {
  const reply = decodeApi(
    await transport.request({ kind: 'api' }, encodeApi({ type: 'status', jobId }), { timeoutMs: 5000 }),
  );
  return reply.type === 'status-reply' ? reply.jobs[0]?.stream : undefined;
}

/** Waits until `committed()` reaches `seq` or `timeoutMs` passes. */
async function waitForCommit(committed: () => number, seq: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (committed() < seq && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

interface IntervalResult {
  readonly intervalMs: number;
  readonly records: number;
  readonly ratePerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly goalMs: number;
  readonly met: boolean;
  /**
   * Ms from publishing the job's first record (before the steady rate starts) to its commit: the
   * job's start (its open run, workers loading the job), kept out of the steady figures.
   */
  readonly startMs: number;
  /** The five slowest blocks: when each was published (ms after the first) and its freshness. */
  readonly slowest: ReadonlyArray<{ readonly atMs: number; readonly freshMs: number }>;
}

async function measure(
  context: SuiteContext,
  mrmBin: string,
  cluster: LocalCluster,
  work: string,
  intervalMs: number,
  seconds: number,
): Promise<IntervalResult> {
  const name = `fresh-${intervalMs}`;
  const subject = `${SUBJECT}.i${intervalMs}`;
  const transport = await NatsTransport.connect({ servers: cluster.url, name: 'bench-freshness' });
  try {
    await transport.streams.ensure(subject);
    const job = writeJobFile(work, `${name}.js`, countingJobSource(name));
    const submitted = await runMrm(
      mrmBin,
      ['submit', job, '--stream', subject, '--batch-interval', String(intervalMs), '--nats', cluster.url],
      'submit a streaming job',
    );
    const jobId = submittedJobId(submitted.stdout);
    const blocks: Block[] = [];
    let committed = 0;
    let observing = true;
    const observer = (async () => {
      while (observing) {
        const s = await streamStatus(transport, jobId).catch(() => undefined);
        const now = performance.now();
        if (s !== undefined && s.committedSeq > committed) {
          committed = s.committedSeq;
          for (const b of blocks) if (b.freshMs === undefined && b.seq <= committed) b.freshMs = now - b.publishedAtMs;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const encoder = new TextEncoder();
    const startSeq = await transport.streams.append(subject, [encoder.encode('k0 start')]);
    const startAt = performance.now();
    await waitForCommit(() => committed, startSeq, 60_000);
    if (committed < startSeq)
      throw new BenchFailure(`the streaming job committed nothing within 60 s of its first record`);
    const startMs = performance.now() - startAt;
    const perTick = (RATE_PER_S * TICK_MS) / 1000;
    const started = performance.now();
    let published = 0;
    for (let tick = 0; performance.now() - started < seconds * 1000; tick++) {
      const due = started + tick * TICK_MS;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const records = Array.from({ length: perTick }, (_, i) => encoder.encode(`k${(published + i) % 1000} ${tick}`));
      const seq = await transport.streams.append(subject, records);
      published += perTick;
      blocks.push({ seq, publishedAtMs: performance.now() });
    }
    const elapsedS = (performance.now() - started) / 1000;
    const last = blocks.at(-1)?.seq ?? 0;
    await waitForCommit(() => committed, last, 60_000);
    observing = false;
    await observer;
    await runMrm(mrmBin, ['cancel', jobId, '--nats', cluster.url], 'cancel the streaming job');
    if (committed < last) throw new BenchFailure(`the streaming job committed ${committed} of ${last} records`);
    const fresh = blocks.map((b) => b.freshMs as number).sort((a, b) => a - b);
    const result: IntervalResult = {
      intervalMs,
      records: published,
      ratePerS: Math.round(published / elapsedS),
      p50Ms: Math.round(percentile(fresh, 50)),
      p99Ms: Math.round(percentile(fresh, 99)),
      maxMs: Math.round(fresh.at(-1) ?? Number.NaN),
      goalMs: 1000 + intervalMs,
      met: percentile(fresh, 99) < 1000 + intervalMs,
      startMs: Math.round(startMs),
      slowest: blocks
        .map((b) => ({ atMs: Math.round(b.publishedAtMs - started), freshMs: Math.round(b.freshMs as number) }))
        .sort((a, b) => b.freshMs - a.freshMs)
        .slice(0, 5),
    };
    context.log(
      `freshness at ${result.ratePerS} records/s, interval ${intervalMs} ms: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms (the job's first record committed ${result.startMs} ms after it was published, before the steady rate); slowest ${result.slowest.map((b) => `${b.freshMs} ms at ${b.atMs} ms`).join(', ')}`,
    );
    return result;
  } finally {
    await transport.close();
  }
}

/** Publish-to-queryable freshness of a streaming job. */
export const freshnessSuite: Suite = {
  name: 'freshness',
  description: 'streaming: from publishing a record to seeing it queryable, at 10,000 records/s on a 1+1 cluster',
  async run(context) {
    const mrmBin = join(context.repoRoot, 'packages/cli/bin/mrm.js');
    const quick = context.options.quick;
    const work = mkdtempSync(join(tmpdir(), 'mrm-bench-fresh-'));
    const cluster = await LocalCluster.start(mrmBin, { maps: 1, merges: 1, dir: join(work, 'cluster') });
    const results: IntervalResult[] = [];
    try {
      for (const intervalMs of quick ? INTERVALS_MS.quick : INTERVALS_MS.full) {
        results.push(await measure(context, mrmBin, cluster, work, intervalMs, quick ? SECONDS.quick : SECONDS.full));
      }
    } finally {
      await cluster.stop();
      rmSync(work, { recursive: true, force: true });
    }
    const table = [
      '| batch interval | records/s | p50 | p99 | max | goal (p99 <) | met | job start |',
      '|---:|---:|---:|---:|---:|---:|:---:|---:|',
      ...results.map(
        (r) =>
          `| ${r.intervalMs} ms | ${r.ratePerS} | ${r.p50Ms} ms | ${r.p99Ms} ms | ${r.maxMs} ms | ${r.goalMs} ms | ${r.met ? 'yes' : 'no'} | ${r.startMs} ms |`,
      ),
    ].join('\n');
    const svg = barChartSvg(
      [
        {
          title: 'Publish → queryable (streaming job, 1+1 cluster)',
          unit: 'ms',
          groups: results.map((r) => ({
            label: `interval ${r.intervalMs} ms`,
            note: `${r.ratePerS} records/s`,
            bars: [
              { label: 'p50', value: r.p50Ms, color: '#4c78a8' },
              { label: 'p99', value: r.p99Ms, color: '#f58518' },
              { label: 'goal p99', value: r.goalMs, color: '#bbbbbb' },
            ],
          })),
        },
      ],
      context.command,
    );
    return { results: { rateGoalPerS: RATE_PER_S, tickMs: TICK_MS, intervals: results }, table, svg };
  },
};
