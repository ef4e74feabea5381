/**
 * The coordinator is replaceable: its records live in JetStream, one coordinator leads through a
 * lease and the others stand by. A standby takes over from a leader killed with SIGKILL mid-job; a
 * coordinator on an empty `--state` resumes the cluster's running job and knows its history; a
 * leader that was paused while a standby took over does not act when it wakes. Every time the job
 * ends with the exact result.
 */
import { join } from 'node:path';
import type { JobStatus } from '@mrm/core';
import { LmdbStateStore } from '@mrm/store-lmdb';
import { afterEach, describe, expect, it } from 'vitest';
import { statePaths } from '../src/state-dir.js';
import { type ClusterProcess, copyInto, expectSameResult, TestCluster } from './cluster-harness.js';
import { surviveMidJob } from './cluster-scenarios.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname;
/** Short, so a standby takes over within seconds under test (the default is 5 s). */
const LEASE_MS = 1500;
const COORDINATOR_ARGS = ['--leader-lease', String(LEASE_MS)];

describe('coordinators that stand by and take over', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  /** 2 map workers, `merges` merge workers and a leading coordinator (stopped after the test). */
  async function startCluster(merges: number): Promise<TestCluster> {
    cluster = await TestCluster.start({ maps: 2, merges, heartbeatTimeoutMs: 1500, coordinatorArgs: COORDINATOR_ARGS });
    return cluster;
  }

  it('a standby takes over from a leader killed with SIGKILL mid-job and finishes it exactly', {
    timeout: 180_000,
  }, async () => {
    const c = await startCluster(2);
    const leader = c.coordinator;
    const standby = await c.addCoordinator('coordinator-b');
    expect(standby.output()).toMatch(/standing by/);
    let takeoverMs = 0;
    await surviveMidJob(c, async () => {
      const killedAt = Date.now();
      await leader.kill();
      await standby.waitForOutput(/ leading /, 30_000);
      takeoverMs = Date.now() - killedAt;
      c.promote(standby);
    }, ['--checkpoint-every', '5']);
    process.stderr.write(`standby took over ${takeoverMs} ms after the leader's SIGKILL (lease ${LEASE_MS} ms)\n`);
    expect(standby.output()).toMatch(/resuming a job the previous coordinator did not finish/);
    // Within the lease plus a few polls, not a timeout of minutes.
    expect(takeoverMs).toBeLessThan(LEASE_MS * 4);
  });

  it('a job submitted while the leader is dead and before the standby leads is taken once it leads', {
    timeout: 180_000,
  }, async () => {
    // A lease long enough that the submit (bundling the job takes a moment) comes before the takeover.
    const c = await TestCluster.start({ maps: 1, merges: 1, coordinatorArgs: ['--leader-lease', '10000'] });
    cluster = c;
    const standby = await c.addCoordinator('coordinator-b');
    await c.coordinator.kill();
    // Nobody subscribes to the API now: the submit waits for the takeover instead of failing.
    const wordcount = join(EXAMPLES, 'wordcount/job.ts');
    const books = copyInto(join(c.dir, 'books'), [join(EXAMPLES, 'wordcount/data/pg-metamorphosis.txt')]);
    const submitted = c.submitWait(wordcount, books, join(c.dir, 'out.jsonl'));
    await standby.waitForOutput(/ leading /, 30_000);
    c.promote(standby);
    expect(await Promise.race([submitted.then(() => 'ended'), Promise.resolve('waiting')])).toBe('waiting');
    const r = await submitted;
    expect(r.code, r.stderr).toBe(0);
    const reference = join(c.dir, 'reference.jsonl');
    const single = await c.mrm([
      'run',
      wordcount,
      '--input',
      ...books,
      '--state',
      join(c.dir, 'single'),
      '--out',
      reference,
      '-q',
    ]);
    expect(single.code, single.stderr).toBe(0);
    expectSameResult(join(c.dir, 'out.jsonl'), reference);
  });

  it('status and cancel sent while the leader is dead and before the standby leads are answered once it leads', {
    timeout: 120_000,
  }, async () => {
    const c = await TestCluster.start({ maps: 1, merges: 1, coordinatorArgs: ['--leader-lease', '8000'] });
    cluster = c;
    const standby = await c.addCoordinator('coordinator-b');
    await c.coordinator.kill();
    // Nobody subscribes to the API now: both wait for the takeover instead of failing at once.
    const status = c.mrm(['status', '--json', '--nats', c.url]);
    const cancel = c.mrm(['cancel', 'no-such-job', '--nats', c.url]);
    const ended = () => Promise.race([Promise.all([status, cancel]).then(() => 'ended'), Promise.resolve('waiting')]);
    await standby.waitForOutput(/ leading /, 30_000);
    c.promote(standby);
    expect(await ended()).toBe('waiting');
    const s = await status;
    expect(s.code, s.stderr).toBe(0);
    expect((JSON.parse(s.stdout) as { workers: unknown[] }).workers).toBeDefined();
    // The new leader answered the cancel (it knows no such job): not "no responders".
    const x = await cancel;
    expect(x.stderr).not.toMatch(/no responder/i);
    expect(x.stderr).toMatch(/no-such-job/);
  });

  it('a coordinator on an empty --state resumes the running job and answers for the jobs before it', {
    timeout: 180_000,
  }, async () => {
    const c = await startCluster(1);
    // A job that finished under the first coordinator.
    const wordcount = join(EXAMPLES, 'wordcount/job.ts');
    const small = copyInto(join(c.dir, 'small'), [join(EXAMPLES, 'wordcount/data/pg-metamorphosis.txt')]);
    const first = await c.submitWait(wordcount, small, join(c.dir, 'first.jsonl'));
    expect(first.code, first.stderr).toBe(0);
    const firstId = first.stdout.split('\n')[0] ?? '';
    let fresh: ClusterProcess | undefined;
    const r = await surviveMidJob(c, async () => {
      fresh = await c.restartCoordinator('coordinator-fresh');
    }, ['--checkpoint-every', '5']);
    expect(fresh?.output()).toMatch(/resuming a job the previous coordinator did not finish/);
    // Its state directory held nothing: the history comes from JetStream.
    const before = await c.jobStatus(firstId);
    expect(before.state).toBe('succeeded');
    const resumed = await c.jobStatus(r.stdout.split('\n')[0] ?? '');
    expect(resumed.state).toBe('succeeded');
    // Queries find the versions the first coordinator committed.
    const out = join(c.dir, 'query.jsonl');
    const q = await c.mrm(['query', '--job', 'wordcount', '--out', out, '--nats', c.url]);
    expect(q.code, q.stderr).toBe(0);
    expectSameResult(out, join(c.dir, 'first.jsonl'));
  });

  it('a leader paused while a standby took over does not act when it wakes, and the job ends exactly', {
    timeout: 180_000,
  }, async () => {
    const c = await startCluster(2);
    const leader = c.coordinator;
    const standby = await c.addCoordinator('coordinator-b');
    await surviveMidJob(c, async () => {
      leader.signal('SIGSTOP');
      await standby.waitForOutput(/ leading /, 30_000);
      c.promote(standby);
      leader.signal('SIGCONT');
      await leader.waitForOutput(/lost the lead/, 30_000);
    }, ['--checkpoint-every', '5']);
    expect(leader.output()).toMatch(/standing by again/);
    expect(leader.hasExited).toBe(false);
  });

  it('moves the records of a coordinator from before JetStream (its LMDB --state) into JetStream', async () => {
    const c = await TestCluster.start({ maps: 0, merges: 0, coordinatorArgs: COORDINATOR_ARGS });
    cluster = c;
    // What an older coordinator left in its --state: a finished job's status and a job's version.
    const old = await LmdbStateStore.open({ path: statePaths(join(c.dir, 'procs', 'coordinator-old')).lmdb });
    const status: JobStatus = {
      jobId: 'wordcount-old-1',
      name: 'wordcount',
      state: 'succeeded',
      priority: 0,
      submittedAtMs: 1_700_000_000_000,
      versions: [1],
    };
    await old.putMeta('_mrm', `job:${String(status.submittedAtMs).padStart(15, '0')}:${status.jobId}`, status);
    await old.putMeta('wordcount', 'shape', { partitions: 4, incremental: true, bundleHash: 'x', runs: 1 });
    await old.commitVersion('wordcount', {
      version: 1,
      createdAtMs: 1_700_000_000_500,
      base: 0,
      batches: 1,
      records: 10,
      keys: 5,
      label: 'old',
    });
    await old.close();
    const upgraded = await c.restartCoordinator('coordinator-old');
    expect(upgraded.output()).toMatch(/moved the coordinator records from its --state into JetStream .*jobs=2/);
    expect((await c.jobStatus(status.jobId)).state).toBe('succeeded');
    // A coordinator on another machine finds them in JetStream, not on its disk.
    const fresh = await c.restartCoordinator('coordinator-new');
    expect(fresh.output()).not.toMatch(/moved the coordinator records/);
    expect((await c.jobStatus(status.jobId)).versions).toEqual([1]);
  });
});
