/**
 * Killed and restarted processes in the middle of a job: a restarted nats-server (same port, same
 * JetStream store), a coordinator killed and started again, a map worker killed. Every process
 * that remains reconnects or takes over, unfinished work is dispatched again, and
 * `mrm submit --wait` still ends in success with the exact result.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliResult } from './cli-helpers.js';
import { expectedLines, writeJob } from './cli-helpers.js';
import { copyInto, expectSameResult, fileAppears, TestCluster } from './cluster-harness.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname;
const BOOKS = ['pg-metamorphosis.txt'].map((f) => join(EXAMPLES, 'wordcount/data', f));

/** Word count whose map takes ~1 ms per line; writes `marker` once it is past line 800 of a source. */
function slowWordcount(marker: string): string {
  return `
import { writeFileSync } from 'node:fs';
import { aggregates, defineJob } from '@mrm/core';
export default defineJob({
  name: 'slowcount',
  map(line: string, emit, ctx) {
    const until = performance.now() + 1;
    while (performance.now() < until) {}
    if (ctx.line > 800) writeFileSync(${JSON.stringify(marker)}, 'past line 800');
    for (const w of line.match(/[A-Za-z]+/g) ?? []) emit(w, 1);
  },
  ...aggregates.sum(),
});
`;
}

function referenceWordcount(files: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const f of files) {
    for (const w of readFileSync(f, 'utf8').match(/[A-Za-z]+/g) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return expectedLines(counts);
}

/**
 * Submits the slow word count with `--wait`, calls `disturb` once the job is past line 800, and
 * checks the job still succeeds with the exact result. Returns the submit's outcome.
 */
async function surviveMidJob(
  cluster: TestCluster,
  disturb: () => Promise<unknown>,
  extraArgs: string[] = [],
): Promise<CliResult> {
  const marker = join(cluster.dir, 'past-line-800');
  const job = writeJob(cluster.dir, 'slowcount.ts', slowWordcount(marker));
  const books = copyInto(join(cluster.dir, 'books'), BOOKS);
  const out = join(cluster.dir, 'out.jsonl');
  const submitted = cluster.submitWait(job, books, out, ['--batch-size', '20', ...extraArgs]);
  await fileAppears(marker, 30_000);
  await disturb();
  const r = await submitted;
  expect(r.code, `${r.stderr}\n${cluster.logs()}`).toBe(0);
  const reference = join(cluster.dir, 'reference.jsonl');
  writeFileSync(reference, referenceWordcount(books));
  expectSameResult(out, reference);
  return r;
}

describe('a cluster whose processes are killed or restarted mid-job', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('finishes a job under way with the exact result when nats-server restarts', async () => {
    const c = await TestCluster.start({ maps: 2, merges: 2 });
    cluster = c;
    const r = await surviveMidJob(c, () => c.nats.restart());
    const jobId = r.stdout.split('\n')[0] ?? '';
    const status = await c.jobStatus(jobId);
    expect(status.state).toBe('succeeded');
    expect(status.progress?.totalBatches).toBeGreaterThan(100);
    // Recovered by the reconnect handling (dispatch again once every worker is back), not by the
    // stall timer's 30 s.
    expect(c.coordinator.output()).toMatch(/reason=transport reconnected/);
    expect(c.coordinator.output()).not.toMatch(/reason=no progress/);
  });

  it('resumes a job under way when its coordinator is killed and started again, exactly once', async () => {
    const c = await TestCluster.start({ maps: 2, merges: 1, heartbeatTimeoutMs: 1500 });
    cluster = c;
    let restarted: Awaited<ReturnType<TestCluster['restartCoordinator']>> | undefined;
    await surviveMidJob(c, async () => {
      restarted = await c.restartCoordinator();
    }, ['--checkpoint-every', '5']);
    expect(restarted?.output()).toMatch(/resuming a job the previous coordinator did not finish/);
  });

  it('finishes a job exactly when a map worker is killed mid-way (its tasks go to the other)', async () => {
    const c = await TestCluster.start({ maps: 2, merges: 1, heartbeatTimeoutMs: 1500 });
    cluster = c;
    await surviveMidJob(c, () => c.process('map-1').kill());
    expect(c.coordinator.output()).toMatch(/worker lost .*worker=map-1/);
    if (process.env.T_LOG) console.error(c.coordinator.output());
  });
});
