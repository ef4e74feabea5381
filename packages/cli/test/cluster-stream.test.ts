/**
 * A streaming job on a real cluster: a real access log published in chunks (`mrm publish`) while a
 * windowed job (`mrm submit --stream`) runs; a map worker, the coordinator and a merge worker
 * killed with SIGKILL on the way. Once the last chunk is merged, the live result equals one plain `mrm run` over the
 * same lines, key for key, and status shows the stream caught up.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { mrm } from './cli-helpers.js';
import { TestCluster } from './cluster-harness.js';
import { publishLines, untilCounted } from './stream-helpers.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/access-logs/', import.meta.url));
const JOB = join(EXAMPLES, 'status-per-10-minutes.ts');
const LINES = readFileSync(join(EXAMPLES, 'data/apache/apache_logs-lines-1-3000'), 'utf8')
  .split('\n')
  .filter((l) => l.length > 0)
  .concat(readFileSync(join(EXAMPLES, 'data/apache/apache_logs-line-8899'), 'utf8').trimEnd());

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe('a streaming job on a cluster', () => {
  it('keeps a windowed result current as records are published, exactly, through SIGKILLed processes', async () => {
    cluster = await TestCluster.start({ maps: 2, merges: 2, heartbeatTimeoutMs: 2000 });
    const c = cluster;
    await publishLines(c, 'logs.web', LINES.slice(0, 1000), 'chunk-1');
    const submitted = await c.mrm([
      'submit',
      JOB,
      '--stream',
      'logs.web',
      '--batch-interval',
      '200',
      '--batch-size',
      '300',
      '--nats',
      c.url,
    ]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const jobId = submitted.stdout.split('\n')[0] as string;
    await untilCounted(c, 'status-per-10-minutes', 1000);

    // Many micro-batches, one run (decisions/0027): each chunk is a segment of the open run.
    for (let part = 0; part < 4; part++) {
      const from = 1000 + part * 200;
      await publishLines(c, 'logs.web', LINES.slice(from, from + 200), `chunk-1-${part}`);
      await untilCounted(c, 'status-per-10-minutes', from + 200);
    }
    const streaming = (await c.jobStatus(jobId)) as { stream?: { rounds: number; runs?: number } };
    expect(streaming.stream?.runs).toBe(1);
    expect(streaming.stream?.rounds).toBeGreaterThanOrEqual(5);

    await publishLines(c, 'logs.web', LINES.slice(1800, 2000), 'chunk-2');
    const mapWorker = c.process('map-1');
    process.kill(mapWorker.pid, 'SIGKILL');
    expect((await mapWorker.exited).signal).toBe('SIGKILL');
    await untilCounted(c, 'status-per-10-minutes', 2000);

    const coordinator = c.coordinator;
    await c.restartCoordinator();
    expect((await coordinator.exited).signal).toBe('SIGKILL');
    await publishLines(c, 'logs.web', LINES.slice(2000), 'chunk-3');
    // A merge worker lost mid-stream: its partitions move to the other, restored from their copies.
    const mergeWorker = c.process('merge-2');
    await mergeWorker.kill();
    expect((await mergeWorker.exited).signal).toBe('SIGKILL');
    await untilCounted(c, 'status-per-10-minutes', LINES.length);

    const status = (await c.jobStatus(jobId)) as { state: string; stream?: { subject: string; lag: number } };
    expect(status.state).toBe('running');
    expect(status.stream).toMatchObject({ subject: 'logs.web', lag: 0 });

    const live = await c.mrm(['query', '--job', 'status-per-10-minutes', '--nats', c.url]);
    writeFileSync(join(c.dir, 'all.log'), `${LINES.join('\n')}\n`);
    const plain = await mrm(['run', JOB, '--input', 'all.log', '--state', 'plain', '--out', '-'], { cwd: c.dir });
    expect(plain.code, plain.stderr).toBe(0);
    expect(live.stdout).toBe(plain.stdout);

    // A streaming job runs until cancelled; its state stays queryable as of its last round.
    const cancelled = await c.mrm(['cancel', jobId, '--nats', c.url]);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    await c.until((s) => s.jobs.some((j) => j.jobId === jobId && j.state === 'cancelled'), 'the job cancelled');
    expect((await c.mrm(['query', '--job', 'status-per-10-minutes', '--nats', c.url])).stdout).toBe(plain.stdout);
  }, 300_000);

  it("runs batch jobs beside a streaming job, and refuses one of the streaming job's name", async () => {
    cluster = await TestCluster.start({ maps: 1, merges: 1 });
    const c = cluster;
    await publishLines(c, 'logs.web', LINES.slice(0, 500), 'chunk-1');
    const submitted = await c.mrm(['submit', JOB, '--stream', 'logs.web', '--batch-interval', '200', '--nats', c.url]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const streamId = submitted.stdout.split('\n')[0] as string;
    await untilCounted(c, 'status-per-10-minutes', 500);

    // A batch job of another name runs to its end while the stream keeps running.
    const other = join(c.dir, 'other.ts');
    writeFileSync(other, `import job from ${JSON.stringify(JOB)};\nexport default { ...job, name: 'batch-beside' };\n`);
    writeFileSync(join(c.dir, 'some.log'), `${LINES.slice(500, 900).join('\n')}\n`);
    const out = join(c.dir, 'batch.jsonl');
    const batch = await c.submitWait(other, [join(c.dir, 'some.log')], out);
    expect(batch.code, `${batch.stderr}\n${c.logs()}`).toBe(0);
    const plain = await mrm(['run', other, '--input', 'some.log', '--state', 'plain', '--out', '-'], { cwd: c.dir });
    expect(readFileSync(out, 'utf8')).toBe(plain.stdout);

    // The stream still merges what is published.
    await publishLines(c, 'logs.web', LINES.slice(500, 800), 'chunk-2');
    await untilCounted(c, 'status-per-10-minutes', 800);
    expect((await c.jobStatus(streamId)).state).toBe('running');

    // The streaming job's own name: refused with one line (two runs must not write one state).
    const same = await c.submitWait(JOB, [join(c.dir, 'some.log')], join(c.dir, 'same.jsonl'));
    expect(same.code).not.toBe(0);
    expect(same.stderr.trim().split('\n').at(-1)).toMatch(
      new RegExp(`job 'status-per-10-minutes' is already running as ${streamId} \\(a streaming job`),
    );
    expect((await c.jobStatus(streamId)).state).toBe('running');
    expect((await c.mrm(['cancel', streamId, '--nats', c.url])).code).toBe(0);
  }, 180_000);

  it('refuses --stream together with --input, and a bad subject, with one line each', async () => {
    cluster = await TestCluster.start({ maps: 1, merges: 1 });
    const both = await cluster.mrm(['submit', JOB, '--stream', 'logs.web', '--input', JOB, '--nats', cluster.url]);
    expect(both.code).not.toBe(0);
    expect(both.stderr.trim()).toBe('mrm: error: give either --input <path...> or --stream <subject>');
    const bad = await cluster.mrm(['publish', 'bad subject', '--nats', cluster.url]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/stream subject 'bad subject' must be/);
  });
});
