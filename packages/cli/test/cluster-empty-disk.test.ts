/**
 * A merge worker that comes back under the same id with an empty disk (its state directory wiped,
 * as a container rescheduled without its volume): it is alive, but it holds nothing of the
 * partitions it owned. A query between runs and the next increment must not trust it: both give
 * exactly what `mrm run` gives in one process, result and version hash alike.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeJob } from './cli-helpers.js';
import { copyInto, expectSameResult, TestCluster } from './cluster-harness.js';
import { embeddedReference, lastClusterVersion, perPathJob } from './cluster-references.js';
import { DAYS } from './state-helpers.js';

const JOB = 'per-path';

const PER_PATH = perPathJob(JOB, 4);

describe('a merge worker back under the same id with an empty disk', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('is not trusted with the partitions it held: queries and the next increment stay exact', {
    timeout: 240_000,
  }, async () => {
    const c = await TestCluster.start({ maps: 1, merges: 2, heartbeatTimeoutMs: 1500 });
    cluster = c;
    const days = copyInto(join(c.dir, 'in'), DAYS);
    const job = writeJob(c.dir, 'per-path.ts', PER_PATH);
    // Eight batches, a version per two: versions 1 to 4.
    const opts = ['--batch-size', '50', '--checkpoint-every', '2'];
    const first = join(c.dir, 'first.jsonl');
    const s1 = await c.submitWait(job, [days[0] as string], first, opts);
    expect(s1.code, `${s1.stderr}\n${c.logs()}`).toBe(0);
    const owned = (await c.status()).workers.find((w) => w.workerId === 'merge-2')?.partitions?.[JOB] ?? [];
    expect(owned.length).toBeGreaterThan(0);

    await c.restartWorkerEmpty('merge-2');
    await c.coordinator.waitForOutput(/worker joined .*worker=merge-2\b[\s\S]*worker joined .*worker=merge-2\b/);

    // Between runs: the query answers the committed result, all of it.
    const queried = join(c.dir, 'queried.jsonl');
    const q = await c.mrm(['query', '--nats', c.url, '--job', JOB, '--out', queried]);
    expect(q.code, `${q.stderr}\n${c.logs()}`).toBe(0);
    const reference1 = await embeddedReference(c, job, JOB, [days[0] as string], 'reference-1');
    expectSameResult(queried, reference1.out);
    // Its partitions were restored from their copies in JetStream, not read from the empty store.
    expect(c.coordinator.output()).toMatch(/moving partitions of an idle job .*emptied=merge-2/);
    expect(c.process('merge-2').output()).toMatch(/restored a partition from its copies/);
    // An older version: the restored partitions hold the state of version 4 only. The query is
    // refused with one line naming the version and why, never answered in part.
    expect((await lastClusterVersion(c, JOB)).version).toBe(4);
    const older = await c.mrm([
      'query',
      '--nats',
      c.url,
      '--job',
      JOB,
      '--version',
      '2',
      '--out',
      join(c.dir, 'v2.jsonl'),
    ]);
    expect(older.code).toBe(1);
    expect(older.stderr.trim().split('\n')).toHaveLength(1);
    expect(older.stderr).toMatch(/restored it at version 4: version 2 of it is no longer kept on the cluster/);
    expect(existsSync(join(c.dir, 'v2.jsonl'))).toBe(false);

    // The next increment merges into the whole committed state, and nothing twice.
    const second = join(c.dir, 'second.jsonl');
    const s2 = await c.submitWait(job, [days[1] as string], second, opts);
    expect(s2.code, `${s2.stderr}\n${c.logs()}`).toBe(0);
    const reference2 = await embeddedReference(c, job, JOB, days.slice(0, 2), 'reference-2');
    expectSameResult(second, reference2.out);
    const last = await lastClusterVersion(c, JOB);
    expect({ hash: last.hash, keys: last.keys }).toEqual({ hash: reference2.last.hash, keys: reference2.last.keys });
    if (process.env.T_LOG) console.error(c.logs());
  });
});
