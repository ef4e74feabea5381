/**
 * `mrm dead-letters --nats` when the owner of partitions holding dead letters is killed after the
 * job finished: like a query, it asks the coordinator again for the partitions' new owners (which
 * restore them, dead letters included, from their copies) and lists exactly what `mrm run` lists.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mrm, writeJob } from './cli-helpers.js';
import { cleanEnv, TestCluster } from './cluster-harness.js';
import { POISON_JOB } from './state-helpers.js';

/** The letters' content, sorted: the same records and keys set aside, whatever version or partition. */
const letterFacts = (stdout: string): string[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => {
      const { stage, source, line, key, message } = JSON.parse(l) as Record<string, unknown>;
      return JSON.stringify({ stage, source, line, key, message });
    })
    .sort();

describe('mrm dead-letters --nats when an owner is gone', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it("asks the coordinator again and lists every letter from the partitions' new owners", {
    timeout: 240_000,
  }, async () => {
    // No liveness probe and a long heartbeat timeout: for seconds after the kill the coordinator
    // still names the dead owner, so the command's first requests find nobody there.
    const c = await TestCluster.start({
      maps: 1,
      merges: 3,
      heartbeatTimeoutMs: 8000,
      coordinatorArgs: ['--liveness-probe', '0'],
    });
    cluster = c;
    const job = writeJob(c.dir, 'poison.ts', POISON_JOB);
    const input = join(c.dir, 'poison.txt');
    writeFileSync(
      input,
      Array.from({ length: 300 }, (_, i) => (i % 7 === 3 ? `POISON ${i}` : `w${i % 23} boom x${i % 11}`)).join('\n'),
    );
    const opts = ['--batch-size', '20', '--on-error', 'skip'];
    const s = await c.mrm(['submit', job, '--input', input, ...opts, '--wait', '--nats', c.url]);
    expect(s.code, `${s.stderr}\n${c.logs()}`).toBe(0);
    const state = join(c.dir, 'embedded');
    const r = await mrm(['run', job, '--input', input, '--state', state, ...opts, '-q'], { env: cleanEnv() });
    expect(r.code, r.stderr).toBe(0);
    const reference = await mrm(['dead-letters', '--state', state, '--job', 'poison']);
    expect(reference.code, reference.stderr).toBe(0);

    const before = await c.mrm(['dead-letters', '--nats', c.url, '--job', 'poison']);
    expect(before.code, before.stderr).toBe(0);
    // The victim: the owner of a partition that holds letters.
    const owners = (await c.status()).workers;
    const lettered = new Set(
      before.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { partition: number }).partition),
    );
    const victim = owners.find((w) => w.role === 'merge' && (w.partitions?.poison ?? []).some((p) => lettered.has(p)));
    expect(victim).toBeDefined();
    const p = c.process(victim?.workerId ?? '');
    process.kill(p.pid, 'SIGKILL');
    expect((await p.exited).signal).toBe('SIGKILL');

    const after = await c.mrm(['dead-letters', '--nats', c.url, '--job', 'poison']);
    expect(after.code, `${after.stderr}\n${c.logs()}`).toBe(0);
    expect(letterFacts(after.stdout)).toEqual(letterFacts(reference.stdout));
    expect(letterFacts(before.stdout)).toEqual(letterFacts(reference.stdout));
    // The letters came from the new owners, which restored the dead one's partitions.
    expect(c.coordinator.output()).toMatch(
      new RegExp(`moving partitions of an idle job away from lost merge workers .*lost=${victim?.workerId}`),
    );
  });
});
