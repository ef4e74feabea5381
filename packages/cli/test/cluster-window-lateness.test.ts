/**
 * Event-time windows with a watermark on a real cluster (decisions/0022): the same input in the same
 * batches gives what `mrm run` gives — result, version hashes, watermarks, late records and dead
 * letters —, and a streaming job keeps late records out and its state bounded while records are
 * published out of order, through a merge worker killed with SIGKILL mid-stream.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mrm } from './cli-helpers.js';
import { TestCluster } from './cluster-harness.js';
import { parseMetricsText, sumOf } from './metrics-text.js';
import { type TimedRecord, timedJob, timedRecords, windowReference } from './window-reference.js';

const START = Date.parse('2025-06-01T12:00:00Z');
const MIN = 60_000;

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

function writeRecords(dir: string, name: string, records: readonly TimedRecord[]): string {
  writeFileSync(join(dir, name), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return name;
}

/** `mrm versions --json` lines, without the commit times (which differ between deployments). */
function versionFacts(stdout: string): unknown[] {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const { version, keys, hash, bytes, watermarkMs, lateRecords, batches, records } = JSON.parse(l) as Record<
        string,
        unknown
      >;
      return { version, keys, hash, bytes, watermarkMs, lateRecords, batches, records };
    });
}

/** Dead letters without what differs by deployment (time, partition's version is kept). */
function letterFacts(stdout: string): unknown[] {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const { stage, source, line, message, version } = JSON.parse(l) as Record<string, unknown>;
      return { stage, source, line, message, version };
    })
    .sort((a, b) => (a.line as number) - (b.line as number));
}

describe('event-time windows with allowed lateness on a cluster', () => {
  it('gives what mrm run gives: result, version hashes, watermarks, late records and dead letters', async () => {
    cluster = await TestCluster.start({ maps: 2, merges: 2 });
    const c = cluster;
    const records = timedRecords(900, 31, START);
    const input = writeRecords(c.dir, 'in.jsonl', records);
    // approxDistinct inside windows, unchanged.
    writeFileSync(join(c.dir, 'ips.ts'), timedJob({ name: 'ips', lateness: '4m', retain: '2m', distinct: true }));
    const opts = ['--batch-size', '30', '--checkpoint-every', '4', '--on-error', 'skip'];
    const submitted = await c.submitWait('ips.ts', [input], 'cluster.jsonl', opts);
    expect(submitted.code, submitted.stderr).toBe(0);
    const ref = windowReference(records, { sizeMs: MIN, latenessMs: 4 * MIN, batchSize: 30, checkpointEvery: 4 });
    expect(submitted.stderr).toContain(`${ref.lateLines.length} late records`);

    const embedded = await mrm(
      ['run', 'ips.ts', '--input', input, '--state', 'local', '--out', 'local.jsonl', ...opts],
      {
        cwd: c.dir,
      },
    );
    expect(embedded.code, embedded.stderr).toBe(0);
    const local = (await mrm(['query', '--state', 'local', '--job', 'ips', '--out', '-'], { cwd: c.dir })).stdout;
    const remote = await c.mrm(['query', '--job', 'ips', '--nats', c.url]);
    expect(remote.stdout).toBe(local);
    expect(local.split('\n').length).toBeGreaterThan(3);

    const localVersions = await mrm(['versions', '--state', 'local', '--job', 'ips', '--json'], { cwd: c.dir });
    const clusterVersions = await c.mrm(['versions', '--job', 'ips', '--json', '--nats', c.url]);
    expect(clusterVersions.code, clusterVersions.stderr).toBe(0);
    expect(versionFacts(clusterVersions.stdout)).toEqual(versionFacts(localVersions.stdout));
    const last = versionFacts(localVersions.stdout).at(-1) as { watermarkMs: number; lateRecords: number };
    expect(last.watermarkMs).toBe(ref.watermarks.at(-1));
    expect(last.lateRecords).toBe(ref.lateLines.length);

    const localDead = await mrm(['dead-letters', '--state', 'local', '--job', 'ips'], { cwd: c.dir });
    const clusterDead = await c.mrm(['dead-letters', '--job', 'ips', '--nats', c.url]);
    expect(letterFacts(clusterDead.stdout)).toEqual(letterFacts(localDead.stdout));
    expect(letterFacts(clusterDead.stdout).map((l) => (l as { line: number }).line)).toEqual(ref.lateLines);
  }, 240_000);

  it('streams out-of-order records: late ones counted, state bounded, exact through a SIGKILLed merge worker', async () => {
    cluster = await TestCluster.start({
      maps: 2,
      merges: 2,
      heartbeatTimeoutMs: 2000,
      coordinatorArgs: ['--http', '0'],
    });
    const c = cluster;
    // Chunk 1 and 3 in event-time order; chunk 2 all older than chunk 1's newest record, some within
    // the lateness, some past it. So what is late does not depend on how rounds cut the stream.
    const inOrder = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ t: from + i * 5000, ip: `10.0.1.${i % 5}` }));
    const chunk1 = inOrder(START, 600); // 50 minutes
    const newest = (chunk1.at(-1) as TimedRecord).t;
    const chunk2 = Array.from({ length: 300 }, (_, i) => ({
      t: newest - ((i * 7919) % 600) * 1000, // 0 to 10 minutes behind the newest
      ip: `10.0.2.${i % 3}`,
    }));
    const chunk3 = inOrder(newest + 60_000, 600);
    writeFileSync(join(c.dir, 'stream.ts'), timedJob({ name: 'stream', lateness: '4m', retain: '3m' }));
    const publish = async (name: string, records: readonly TimedRecord[]) => {
      writeRecords(c.dir, name, records);
      const r = await c.mrm(['publish', 'events', '--file', name, '--nats', c.url]);
      expect(r.code, r.stderr).toBe(0);
    };
    const committed = async (jobId: string, n: number) => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const s = await c.jobStatus(jobId);
        if (s.stream?.committedSeq === n && s.stream.lag === 0) return s;
        if (Date.now() > deadline) throw new Error(`stream not committed to ${n}: ${JSON.stringify(s.stream)}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    };

    await publish('chunk-1.jsonl', chunk1);
    const submitted = await c.mrm(
      ['submit', 'stream.ts', '--stream', 'events', '--batch-interval', '200', '--batch-size', '100'].concat([
        '--nats',
        c.url,
      ]),
    );
    expect(submitted.code, submitted.stderr).toBe(0);
    const jobId = submitted.stdout.split('\n')[0] as string;
    await committed(jobId, 600);

    await publish('chunk-2.jsonl', chunk2);
    const victim = c.process('merge-2');
    await victim.kill();
    expect((await victim.exited).signal).toBe('SIGKILL');
    await committed(jobId, 900);
    await publish('chunk-3.jsonl', chunk3);
    const status = await committed(jobId, 1500);

    // The same three chunks run one after another by `mrm run`: the same state, hash included.
    const runs = ['chunk-1.jsonl', 'chunk-2.jsonl', 'chunk-3.jsonl'];
    for (const file of runs) {
      const r = await mrm(['run', 'stream.ts', '--input', file, '--state', 'local'], { cwd: c.dir });
      expect(r.code, r.stderr).toBe(0);
    }
    const local = await mrm(['query', '--state', 'local', '--job', 'stream', '--out', '-'], { cwd: c.dir });
    const live = await c.mrm(['query', '--job', 'stream', '--nats', c.url]);
    expect(live.stdout).toBe(local.stdout);
    const lastOf = (stdout: string) =>
      versionFacts(stdout).at(-1) as { hash: string; keys: number; watermarkMs: number; lateRecords: number };
    const localLast = lastOf(
      (await mrm(['versions', '--state', 'local', '--job', 'stream', '--json'], { cwd: c.dir })).stdout,
    );
    const clusterVersions = await c.mrm(['versions', '--job', 'stream', '--json', '--nats', c.url]);
    const clusterLast = lastOf(clusterVersions.stdout);
    expect(clusterLast.hash).toBe(localLast.hash);
    expect(clusterLast.watermarkMs).toBe((chunk3.at(-1) as TimedRecord).t - 4 * MIN);

    // Chunk 2's late records: those whose minute ended at or before chunk 1's watermark.
    const w1 = newest - 4 * MIN;
    const late = chunk2.filter((r) => Math.floor(r.t / MIN) * MIN + MIN <= w1).length;
    expect(late).toBeGreaterThan(0);
    expect(late).toBeLessThan(chunk2.length);
    expect(clusterLast.lateRecords).toBe(late);
    expect(status.progress?.lateRecords).toBe(late);
    expect(status.progress?.watermarkMs).toBe(clusterLast.watermarkMs);
    const metrics = parseMetricsText(await (await fetch(`${await c.dashboardUrl()}/metrics`)).text());
    expect(sumOf(metrics, 'mrm_late_records', { job: 'stream' })).toBe(late);
    expect(sumOf(metrics, 'mrm_watermark_seconds', { job: 'stream' })).toBe(clusterLast.watermarkMs / 1000);
    // 111 minutes of windows went through; the state kept lateness + retain of them (and the newest).
    expect(Math.max(...versionFacts(clusterVersions.stdout).map((v) => (v as { keys: number }).keys))).toBeLessThan(20);
    expect(clusterLast.keys).toBeLessThanOrEqual(8);
    if (process.env.T_LOG) console.error(c.coordinator.output());
    expect(c.coordinator.output()).toMatch(/worker lost .*worker=merge-2|moving its partitions .*worker=merge-2/);
  }, 300_000);
});
