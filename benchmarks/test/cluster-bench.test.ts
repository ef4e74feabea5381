import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ProcessResult, runProcess } from '@mrm/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { percentile, percentilesOf } from '../src/lib/cluster-percentiles.js';
import type { SeenMessage } from '../src/lib/cluster-sniffer.js';
import { runTimeline } from '../src/suites/latency-timeline.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'benchmarks', 'dist', 'main.js');
/** Four books kept in the repository; examples/wordcount/README.md gives their counts. */
const BOOKS = join(ROOT, 'examples', 'wordcount', 'data');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mrm-cluster-bench-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the benchmark with its temp files (and so its clusters' directories) under `dir`. */
function bench(args: readonly string[]): Promise<ProcessResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: dir };
  delete env.MRM_BENCH_DATA;
  return runProcess(process.execPath, [MAIN, ...args], { cwd: ROOT, env });
}

/** Processes whose command line mentions `dir`: a cluster the suite failed to stop. */
function processesUnder(path: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(path)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // Gone in between.
    }
  }
  return found;
}

const common = () => ['--out-dir', join(dir, 'out'), '--cache-dir', join(dir, 'cache')];
const resultOf = (suite: string) => JSON.parse(readFileSync(join(dir, 'out', `${suite}.json`), 'utf8'));

describe('percentile', () => {
  it('takes the nearest-rank value, always one of the samples', () => {
    const values = Array.from({ length: 200 }, (_, i) => 200 - i); // 200 … 1, unsorted on purpose
    expect(percentile(values, 50)).toBe(100);
    expect(percentile(values, 99)).toBe(198);
    expect(percentile(values, 100)).toBe(200);
    expect(percentile([7], 99)).toBe(7);
    expect(percentilesOf([])).toEqual({ count: 0, p50: null, p90: null, p99: null, max: null });
  });
});

describe('runTimeline', () => {
  const at = (
    atMs: number,
    message: Record<string, unknown>,
    reply?: string,
    subject = 'mrm.worker.m0',
  ): SeenMessage => ({
    atMs,
    subject,
    reply,
    message: { jobId: 'j', ...message } as unknown as SeenMessage['message'],
    bytes: 1,
  });
  const task = (ms: number, seqs: number[], attempt = 1) =>
    at(ms, { type: 'map-task', attempt, split: { batches: seqs.map((seq) => ({ seq })) } });

  it('times each batch from its first dispatch to the commit of the version that covers it', () => {
    const seen = [
      task(0, [0]),
      task(1, [1]),
      task(2, [2]),
      at(5, { type: 'heartbeat', jobId: undefined }),
      at(10, { type: 'merged-through', fromSeq: 0, throughSeq: 0 }),
      at(12, { type: 'merged-through', fromSeq: 1, throughSeq: 1 }),
      at(20, { type: 'checkpoint-written', version: 4, throughSeq: 1 }),
      at(25, { type: 'commit-version', info: { version: 4 } }, '_INBOX.a'),
      task(26, [2], 2), // a re-dispatch: the first dispatch counts
      at(30, { type: 'merged-through', fromSeq: 2, throughSeq: 2 }),
      at(40, { type: 'checkpoint-written', version: 5, throughSeq: 2 }),
      at(41, { type: 'commit-version', info: { version: 5 } }, '_INBOX.b'),
      at(99, { type: 'map-task', jobId: 'other', attempt: 1, split: { batches: [{ seq: 0 }] } }),
    ];
    const replies: Record<string, number> = { '_INBOX.a': 28, '_INBOX.b': 50 };
    const t = runTimeline(seen, 'j', (s) => replies[s]);
    expect(t.redispatches).toBe(1);
    expect(t.spanMs).toBe(50);
    expect(t.batches).toEqual([
      { seq: 0, version: 4, mergedMs: 10, checkpointWrittenMs: 20, commitRequestedMs: 25, committedMs: 28 },
      { seq: 1, version: 4, mergedMs: 11, checkpointWrittenMs: 19, commitRequestedMs: 24, committedMs: 27 },
      { seq: 2, version: 5, mergedMs: 28, checkpointWrittenMs: 38, commitRequestedMs: 39, committedMs: 48 },
    ]);
  });

  it('times every version of a group commit by its one request and reply', () => {
    const seen = [
      task(0, [0]),
      task(1, [1]),
      task(2, [2]),
      at(10, { type: 'checkpoint-written', version: 1, throughSeq: 0 }),
      at(11, { type: 'commit-version', info: { version: 1 } }, '_INBOX.a'),
      at(12, { type: 'checkpoint-written', version: 2, throughSeq: 1 }),
      at(13, { type: 'checkpoint-written', version: 3, throughSeq: 2 }),
      at(20, { type: 'commit-version', info: { version: 3 }, earlier: [{ version: 2 }] }, '_INBOX.b'),
    ];
    const replies: Record<string, number> = { '_INBOX.a': 15, '_INBOX.b': 24 };
    const t = runTimeline(seen, 'j', (s) => replies[s]);
    expect(t.batches.map((b) => [b.version, b.commitRequestedMs, b.committedMs])).toEqual([
      [1, 11, 15],
      [2, 19, 23],
      [3, 18, 22],
    ]);
    expect([t.versions, t.commitRequests]).toEqual([3, 2]);
  });

  it('counts a version committed when the last merge worker acknowledged, and not before', () => {
    const seen = [
      task(0, [0]),
      at(10, { type: 'checkpoint-written', version: 1, throughSeq: 0 }),
      at(11, { type: 'commit-version', info: { version: 1 } }, '_INBOX.a', 'mrm.worker.m0'),
      at(11, { type: 'commit-version', info: { version: 1 } }, '_INBOX.b', 'mrm.worker.m1'),
      // The request to m1 sent again: its first reply counts.
      at(30, { type: 'commit-version', info: { version: 1 } }, '_INBOX.c', 'mrm.worker.m1'),
    ];
    const replies: Record<string, number> = { '_INBOX.a': 12, '_INBOX.c': 33 };
    expect(runTimeline(seen, 'j', (s) => replies[s]).batches[0]?.committedMs).toBe(33);
    // m1 never answers: the batch is not committed.
    const unanswered = runTimeline(seen.slice(0, 4), 'j', (s) => replies[s]).batches[0];
    expect(unanswered?.committedMs).toBeNull();
    expect(unanswered?.commitRequestedMs).toBe(11);
  });
});

describe('the cluster benchmark suites (tiny mode)', () => {
  it('are listed by the runner', async () => {
    const { code, stdout } = await bench(['--help']);
    expect(code).toBe(0);
    for (const suite of ['cluster', 'latency', 'push']) expect(stdout).toContain(`${suite} (`);
  });

  it('cluster: runs word count on 1+1 and 2+2 clusters, checks every answer and stops every cluster', async () => {
    const { code, stdout, stderr } = await bench([
      'cluster',
      '--size-mb',
      '1',
      '--runs',
      '1',
      '--data',
      BOOKS,
      ...common(),
    ]);
    expect(code, stderr).toBe(0);
    expect(processesUnder(dir)).toEqual([]);
    const json = resultOf('cluster');
    expect(json.suite).toBe('cluster');
    expect(json.correctness.passed).toBe(true);
    const [size] = json.sizes;
    expect(size).toMatchObject({ copies: 1, files: 8, words: 205_475, distinct: 13_662 });
    for (const c of ['loop', 'mrm', 'cluster-1x1', 'cluster-2x2', 'cluster-1x1-upload']) {
      expect(size.samples[c], c).toHaveLength(1);
      expect(size.medians[c].seconds, c).toBeGreaterThan(0);
    }
    const [one] = size.samples['cluster-1x1'];
    expect(Object.keys(one.cpuByProcess).sort()).toEqual(['coordinator', 'map-0', 'merge-0', 'nats-server']);
    expect(one.upload).toBe(false);
    expect(one.startupSeconds).toBeGreaterThan(0);
    expect(one.jobSeconds).toBeLessThanOrEqual(one.seconds);
    expect(Object.keys(size.samples['cluster-2x2'][0].cpuByProcess)).toContain('merge-1');
    expect(size.samples['cluster-1x1-upload'][0].upload).toBe(true);
    expect(size.overMrm['cluster-1x1']).toBeCloseTo(size.medians['cluster-1x1'].seconds / size.medians.mrm.seconds, 2);
    expect(json.goals.cluster.bySize[0].clusterOverMrm).toBe(size.overMrm['cluster-1x1']);
    expect(readFileSync(join(dir, 'out', 'cluster.svg'), 'utf8')).toMatch(/^<svg [\s\S]*1\+1 \/ mrm run = [\d.]+/);
    expect(stdout).toContain('| cluster 1 map + 1 merge');
  }, 120_000);

  it('latency: times every batch from dispatch to committed, in causal order, and stops the cluster', async () => {
    const { code, stdout, stderr } = await bench(['latency', '--quick', ...common()]);
    expect(code, stderr).toBe(0);
    expect(processesUnder(dir)).toEqual([]);
    const json = resultOf('latency');
    expect(json.correctness.passed).toBe(true);
    const [backlog] = json.timelines.backlog;
    expect(backlog.batches.map((b: { seq: number }) => b.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (const b of backlog.batches) {
      // A batch is merged before its checkpoint is written, which is before the commit is asked and done.
      expect(b.mergedMs).toBeGreaterThan(0);
      expect(b.checkpointWrittenMs).toBeGreaterThanOrEqual(b.mergedMs);
      expect(b.commitRequestedMs).toBeGreaterThanOrEqual(b.checkpointWrittenMs);
      expect(b.committedMs).toBeGreaterThanOrEqual(b.commitRequestedMs);
    }
    // --checkpoint-every 1: one version per batch.
    expect(new Set(backlog.batches.map((b: { version: number }) => b.version)).size).toBe(20);
    expect(json.timelines.single).toHaveLength(2);
    const [all] = json.scenarios;
    const p = all.percentilesMs.committedMs;
    expect(p.count).toBe(20);
    expect(p.p50).toBeLessThanOrEqual(p.p90);
    expect(p.p90).toBeLessThanOrEqual(p.p99);
    expect(p.p99).toBeLessThanOrEqual(p.max);
    expect(stdout).toContain('p50 < 10, p99 < 25 ms');
    // Group commit: 20 versions, in at most 20 requests; CPU per version of each process.
    expect(backlog.versions).toBe(20);
    expect(backlog.commitRequests).toBeGreaterThanOrEqual(1);
    expect(backlog.commitRequests).toBeLessThanOrEqual(20);
    expect(json.cpu.backlog.msPerVersion.coordinator).toBeGreaterThan(0);
    expect(stdout).toMatch(/versions\/s, 20 versions in \d+ commit requests/);
  }, 120_000);

  it('push: measures MRM push and the bare NATS loop on the same server and stops the cluster', async () => {
    const { code, stdout, stderr } = await bench(['push', '--quick', '--size-mb', '4', ...common()]);
    expect(code, stderr).toBe(0);
    expect(processesUnder(dir)).toEqual([]);
    const json = resultOf('push');
    expect(json.correctness.passed).toBe(true);
    const [mrm] = json.samples.mrm;
    // Every input byte travels once, plus the encoding's few bytes per pair: near the input size.
    expect(mrm.bytes).toBeGreaterThan(json.input.bytes * 0.95);
    expect(mrm.bytes).toBeLessThan(json.input.bytes * 1.1);
    expect(mrm.bytesPerSecond).toBeCloseTo(mrm.bytes / mrm.pushSeconds, 0);
    expect(mrm.frames).toBeGreaterThan(mrm.endMarkers);
    const sizes = json.samples.bare
      .map((b: { payloadBytes: number }) => b.payloadBytes)
      .sort((a: number, b: number) => a - b);
    expect(sizes).toEqual([65_536, 524_288]);
    for (const b of json.samples.bare) {
      expect(b.bytes).toBe(b.messages * b.payloadBytes);
      expect(b.bytesPerSecond).toBeGreaterThan(0);
    }
    const bare512 = json.medians[0];
    expect(json.mrmShareOfBare512.bytes).toBeCloseTo(mrm.bytesPerSecond / bare512.bytesPerSecond, 2);
    expect(stdout).toContain('| bare NATS pub → sub');
  }, 120_000);
});
