/**
 * A merge worker that joins while a streaming job runs (issue 6 item 3, issue 11): the open run
 * ends at its next segment and the next run gives the new worker its share of the partitions,
 * restored from their copies in JetStream — within a few intervals, not after the open run's
 * segment budget. The live result stays exactly that of one plain `mrm run` over the same lines.
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
const JOB_NAME = 'status-per-10-minutes';
const LINES = readFileSync(join(EXAMPLES, 'data/apache/apache_logs-lines-1-3000'), 'utf8')
  .split('\n')
  .filter((l) => l.length > 0);
const RESTORED = /restored a partition from its copies .*partition=(\d+)/g;

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe('a merge worker that joins a running stream', () => {
  it('takes its share at the next segment, restored from copies, and the result stays exact', async () => {
    const c = await TestCluster.start({ maps: 1, merges: 1 });
    cluster = c;
    await publishLines(c, 'logs.web', LINES.slice(0, 1000), 'chunk-1');
    const submitted = await c.mrm(['submit', JOB, '--stream', 'logs.web', '--batch-interval', '200', '--nats', c.url]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const jobId = submitted.stdout.split('\n')[0] as string;
    await untilCounted(c, JOB_NAME, 1000);
    const owned = async (id: string) =>
      (await c.status()).workers.find((w) => w.workerId === id)?.partitions?.[JOB_NAME] ?? [];
    const partitions = (await owned('merge-1')).length;
    expect(partitions).toBeGreaterThan(1);

    // merge-2 joins with an empty disk while the stream is idle: the open run ends and the next
    // one splits the partitions, without a record published in between.
    const joined = await c.addWorker('merge', 'merge-2');
    await c.until(
      (s) => (s.workers.find((w) => w.workerId === 'merge-2')?.partitions?.[JOB_NAME]?.length ?? 0) > 0,
      'merge-2 owning partitions of the streaming job',
    );
    expect((await owned('merge-1')).length + (await owned('merge-2')).length).toBe(partitions);
    expect((await owned('merge-2')).length).toBe(partitions / 2);

    // The stream goes on over both workers, exactly.
    await publishLines(c, 'logs.web', LINES.slice(1000), 'chunk-2');
    await untilCounted(c, JOB_NAME, LINES.length);
    const restored = [...joined.output().matchAll(RESTORED)].map((m) => Number(m[1])).sort((a, b) => a - b);
    expect(restored).toEqual([...(await owned('merge-2'))].sort((a, b) => a - b));
    const status = (await c.jobStatus(jobId)) as { state: string; stream?: { runs?: number; lag: number } };
    expect(status.state).toBe('running');
    expect(status.stream?.runs).toBeGreaterThanOrEqual(2);
    expect(status.stream?.lag).toBe(0);

    const live = await c.mrm(['query', '--job', JOB_NAME, '--nats', c.url]);
    writeFileSync(join(c.dir, 'all.log'), `${LINES.join('\n')}\n`);
    const plain = await mrm(['run', JOB, '--input', 'all.log', '--state', 'plain', '--out', '-'], { cwd: c.dir });
    expect(plain.code, plain.stderr).toBe(0);
    expect(live.stdout).toBe(plain.stdout);
    expect((await c.mrm(['cancel', jobId, '--nats', c.url])).code).toBe(0);
  }, 240_000);
});
