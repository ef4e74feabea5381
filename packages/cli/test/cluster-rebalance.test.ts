/**
 * Rebalancing (issue 6 item 3): a merge worker that joins a cluster later, with an empty disk,
 * takes its share of a job's partitions at the job's next run. It restores them from their copies
 * in JetStream; the worker that already held the job keeps the rest on its own disk and downloads
 * nothing; the result, and the state's hash, equal an embedded `mrm run` of the same increments.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mrm } from './cli-helpers.js';
import { cleanEnv, copyInto, expectSameResult, TestCluster } from './cluster-harness.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname;
const WORDCOUNT_JOB = join(EXAMPLES, 'wordcount/job.ts');
const BOOKS = ['pg-metamorphosis.txt', 'pg-being_ernest.txt'].map((f) => join(EXAMPLES, 'wordcount/data', f));
/** The wordcount example's partitions (the default). */
const PARTITIONS = 16;
const RESTORED = /restored a partition from its copies .*partition=(\d+)/g;

/** The partitions a worker's log says it restored from copies. */
function restoredPartitions(log: string): number[] {
  return [...log.matchAll(RESTORED)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

/** The last line of `mrm versions --json` (the state as of the latest version), without its time. */
function lastVersion(stdout: string): { keys: unknown; hash: unknown } {
  const lines = stdout.split('\n').filter((l) => l.length > 0);
  const { keys, hash } = JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
  return { keys, hash };
}

describe('a merge worker that joins a cluster', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('takes its share of the partitions at the next run, restored from copies, and the result stays exact', {
    timeout: 400_000,
  }, async () => {
    const c = await TestCluster.start({ maps: 1, merges: 1 });
    cluster = c;
    const books = copyInto(join(c.dir, 'books'), BOOKS);
    const first = books.slice(0, 1);
    const submit = async (inputs: readonly string[], out: string) => {
      const r = await c.submitWait(WORDCOUNT_JOB, inputs, out, ['--batch-size', '1000']);
      expect(r.code, `${r.stderr}\n${c.logs()}`).toBe(0);
    };
    /** `mrm query --nats` of the whole result, into a new file. */
    const query = async () => {
      const out = join(c.dir, `query-${Math.random().toString(36).slice(2)}.jsonl`);
      const q = await c.mrm(['query', '--nats', c.url, '--job', 'wordcount', '--out', out]);
      expect(q.code, q.stderr).toBe(0);
      return out;
    };

    // The same two increments embedded, as the reference.
    const local = join(c.dir, 'embedded');
    mkdirSync(local);
    for (const [inputs, out] of [
      [first, 'local-1.jsonl'],
      [books, 'local-2.jsonl'],
    ] as const) {
      const r = await mrm(
        ['run', WORDCOUNT_JOB, '--input', ...inputs, '--state', 'state', '--out', out, '--batch-size', '1000'],
        { cwd: local, env: cleanEnv() },
      );
      expect(r.code, r.stderr).toBe(0);
    }

    // Run 1: one merge worker owns every partition.
    await submit(first, join(c.dir, 'run-1.jsonl'));
    expectSameResult(join(c.dir, 'run-1.jsonl'), join(local, 'local-1.jsonl'));
    expect((await c.status()).workers.find((w) => w.workerId === 'merge-1')?.partitions?.wordcount).toHaveLength(
      PARTITIONS,
    );

    // A second merge worker joins with an empty state directory. The same input again has nothing
    // to merge, so no run starts and nothing moves: every partition stays readable where it is.
    await c.addWorker('merge', 'merge-2');
    await submit(first, join(c.dir, 'again.jsonl'));
    expectSameResult(join(c.dir, 'again.jsonl'), join(local, 'local-1.jsonl'));
    expect((await c.status()).workers.find((w) => w.workerId === 'merge-2')?.partitions).toBeUndefined();
    expectSameResult(await query(), join(local, 'local-1.jsonl'));

    // Run 2 merges the next increment: merge-2 takes its share.
    await submit(books, join(c.dir, 'run-2.jsonl'));
    expectSameResult(join(c.dir, 'run-2.jsonl'), join(local, 'local-2.jsonl'));

    const workers = (await c.status()).workers;
    const owned = (id: string) => workers.find((w) => w.workerId === id)?.partitions?.wordcount ?? [];
    // Balanced: half each. Sticky: only the half that moved was restored, on the worker that joined.
    expect(owned('merge-1')).toHaveLength(PARTITIONS / 2);
    expect(owned('merge-2')).toHaveLength(PARTITIONS / 2);
    expect([...owned('merge-1'), ...owned('merge-2')].sort((a, b) => a - b)).toEqual(
      Array.from({ length: PARTITIONS }, (_, p) => p),
    );
    expect(restoredPartitions(c.process('merge-2').output())).toEqual(owned('merge-2'));
    // merge-1 kept its half on its own disk: it downloaded nothing.
    expect(restoredPartitions(c.process('merge-1').output())).toEqual([]);
    expect(c.coordinator.output()).toMatch(new RegExp(`partitions move .*moved=${PARTITIONS / 2}\\b`));

    // Queries read each partition from its new owner; the state's hash is the embedded one.
    expectSameResult(await query(), join(local, 'local-2.jsonl'));
    const clusterVersions = await c.mrm(['versions', '--job', 'wordcount', '--json', '--nats', c.url]);
    const localVersions = await mrm(['versions', '--state', 'state', '--job', 'wordcount', '--json'], {
      cwd: local,
      env: cleanEnv(),
    });
    expect(clusterVersions.code, clusterVersions.stderr).toBe(0);
    expect(localVersions.code, localVersions.stderr).toBe(0);
    expect(lastVersion(clusterVersions.stdout).hash).toMatch(/^[0-9a-f]{16,}$/);
    expect(lastVersion(clusterVersions.stdout)).toEqual(lastVersion(localVersions.stdout));

    // Run 3, the same workers: nothing moves and nothing is restored again.
    const moves = (c.coordinator.output().match(/partitions move/g) ?? []).length;
    const extra = join(c.dir, 'books', 'extra.txt');
    writeFileSync(extra, 'Gregor Samsa woke\nthe Monster spoke\n');
    await submit([...books, extra], join(c.dir, 'run-3.jsonl'));
    expect((c.coordinator.output().match(/partitions move/g) ?? []).length).toBe(moves);
    expect(restoredPartitions(c.process('merge-1').output())).toEqual([]);
    expect(restoredPartitions(c.process('merge-2').output())).toEqual(owned('merge-2'));
  });
});
