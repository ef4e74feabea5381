/**
 * A finished job whose merge worker (the owner of some of its partitions) is killed afterwards:
 * the next query moves the dead owner's partitions to the live merge workers, which restore them
 * from their copies in JetStream at the last committed version, and answers exactly the committed
 * result (decisions/0037). With no merge worker alive the query fails with one clear line; a
 * merge worker that joins later serves.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mrm, writeJob } from './cli-helpers.js';
import {
  type ClusterProcess,
  cleanEnv,
  copyInto,
  expectSameResult,
  fileAppears,
  TestCluster,
} from './cluster-harness.js';
import { referenceWordcount, slowWordcount } from './cluster-scenarios.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname;
const WORDCOUNT_JOB = join(EXAMPLES, 'wordcount/job.ts');
const BOOKS = ['pg-metamorphosis.txt', 'pg-being_ernest.txt'].map((f) => join(EXAMPLES, 'wordcount/data', f));

/** SIGKILL to the process's own pid (not its group), and its exit by that signal. */
async function killByPid(p: ClusterProcess): Promise<void> {
  process.kill(p.pid, 'SIGKILL');
  expect((await p.exited).signal).toBe('SIGKILL');
}

describe('a finished job whose merge worker is killed afterwards', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('answers queries with the committed result from the live merge workers, and from one that joins later', {
    timeout: 300_000,
  }, async () => {
    const c = await TestCluster.start({ maps: 1, merges: 3, heartbeatTimeoutMs: 1500 });
    cluster = c;
    const books = copyInto(join(c.dir, 'books'), BOOKS);
    // The reference: the same job and input in one process (`mrm run`, embedded).
    const local = join(c.dir, 'embedded');
    mkdirSync(local);
    const reference = join(local, 'reference.jsonl');
    const run = await mrm(
      ['run', WORDCOUNT_JOB, '--input', ...books, '--state', 'state', '--out', reference, '--batch-size', '1000'],
      { cwd: local, env: cleanEnv() },
    );
    expect(run.code, run.stderr).toBe(0);

    const submitted = join(c.dir, 'submitted.jsonl');
    const s = await c.submitWait(WORDCOUNT_JOB, books, submitted, ['--batch-size', '1000']);
    expect(s.code, `${s.stderr}\n${c.logs()}`).toBe(0);
    expectSameResult(submitted, reference);
    const owned = (await c.status()).workers.find((w) => w.workerId === 'merge-2')?.partitions?.wordcount ?? [];
    expect(owned.length).toBeGreaterThan(0);

    /** `mrm query --nats` of the whole result, into a new file. */
    let queries = 0;
    const query = async () => {
      const out = join(c.dir, `query-${++queries}.jsonl`);
      return { out, result: await c.mrm(['query', '--nats', c.url, '--job', 'wordcount', '--out', out]) };
    };

    // The owner of some partitions dies after the job finished; the query right after it answers
    // the committed result (the partitions moved and were restored from their copies).
    await killByPid(c.process('merge-2'));
    const afterLoss = await query();
    expect(afterLoss.result.code, `${afterLoss.result.stderr}\n${c.logs()}`).toBe(0);
    expectSameResult(afterLoss.out, reference);
    const restored = `${c.process('merge-1').output()}${c.process('merge-3').output()}`;
    const restoredParts = [...restored.matchAll(/restored a partition from its copies .*partition=(\d+)/g)].map((m) =>
      Number(m[1]),
    );
    expect(restoredParts.sort((a, b) => a - b)).toEqual(owned);
    const workers = (await c.status()).workers;
    expect(workers.find((w) => w.workerId === 'merge-2')?.partitions).toBeUndefined();

    // No merge worker left: one clear line, exit 1, nothing written as if it were the result.
    await killByPid(c.process('merge-1'));
    await killByPid(c.process('merge-3'));
    const none = await query();
    expect(none.result.code).toBe(1);
    expect(none.result.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.result.stderr).toMatch(/no merge worker is running to serve job 'wordcount'/);

    // A merge worker that joins with an empty disk serves every partition.
    await c.addWorker('merge', 'merge-4');
    const joined = await query();
    expect(joined.result.code, `${joined.result.stderr}\n${c.logs()}`).toBe(0);
    expectSameResult(joined.out, reference);
  });

  it("lets `submit --wait --out` write the committed result when the owner dies between the job's end and the read", {
    timeout: 300_000,
  }, async () => {
    const c = await TestCluster.start({ maps: 1, merges: 3, heartbeatTimeoutMs: 1500 });
    cluster = c;
    const marker = join(c.dir, 'past-line-800');
    const job = writeJob(c.dir, 'slowcount.ts', slowWordcount(marker));
    const books = copyInto(join(c.dir, 'books'), BOOKS.slice(0, 1));
    const out = join(c.dir, 'out.jsonl');
    let client = 0;
    const submitted = c.mrm(
      ['submit', job, '--input', ...books, '--wait', '--out', out, '--batch-size', '20', '--nats', c.url],
      {},
      (pid) => {
        client = pid;
      },
    );
    // The job is under way: the client is stopped, so it reads nothing until we let it go on.
    await fileAppears(marker, 60_000);
    process.kill(client, 'SIGSTOP');
    try {
      const done = await c.until(
        (s) => s.jobs.some((j) => j.name === 'slowcount' && j.state === 'succeeded'),
        'the job succeeded',
        120_000,
      );
      const victim = done.workers.find((w) => w.role === 'merge' && (w.partitions?.slowcount?.length ?? 0) > 0);
      expect(victim).toBeDefined();
      // The owner of some partitions dies after the job's end, before the client reads the result.
      await killByPid(c.process(victim?.workerId ?? ''));
    } finally {
      process.kill(client, 'SIGCONT');
    }
    const r = await submitted;
    expect(r.code, `${r.stderr}\n${c.logs()}`).toBe(0);
    const reference = join(c.dir, 'reference.jsonl');
    writeFileSync(reference, referenceWordcount(books));
    expectSameResult(out, reference);
    expect(c.coordinator.output()).toMatch(
      /moving partitions of an idle job away from lost merge workers .*job=slowcount/,
    );
  });
});
