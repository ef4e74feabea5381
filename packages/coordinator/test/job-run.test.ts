/**
 * The coordinator's run supervisor and its parts, on the in-memory transport and a fake clock:
 * the dispatch window, dispatching again (stall, lost worker, transport cut), attempts, commit
 * order with one VersionInfo everywhere, rollback and abandoning.
 */
import { ErrorCode, isMrmError, MrmError, toWireError } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { JobRecord } from '../src/job-record.js';
import { checkpointWritten, mergedThrough, ofType, type ScriptedWorker, startRun, taskDone } from './run-harness.js';

describe('JobRun dispatch window', () => {
  it('keeps at most maxTasksInFlight tasks out and sends the next when one reports done', async () => {
    const h = await startRun({ batches: 6, settings: { maxTasksInFlight: 2 } });
    expect(h.tasksSent()).toEqual(['t0#1@map-0', 't1#1@map-0']);
    h.report(taskDone(0));
    await h.settle();
    expect(h.tasksSent()).toEqual(['t0#1@map-0', 't1#1@map-0', 't2#1@map-0']);
    await h.run.abandon('test over');
  });

  it('dispatches no batch maxBatchesAhead past the lowest batch not yet merged everywhere', async () => {
    const h = await startRun({ batches: 6, settings: { maxTasksInFlight: 4, maxBatchesAhead: 2 } });
    expect(h.tasksSent()).toEqual(['t0#1@map-0', 't1#1@map-0']);
    h.report(mergedThrough(0));
    await h.settle();
    expect(h.tasksSent()).toEqual(['t0#1@map-0', 't1#1@map-0', 't2#1@map-0']);
    await h.run.abandon('test over');
  });

  it('counts a batch merged only once every merge worker reported it', async () => {
    const h = await startRun({ batches: 6, mergeWorkers: 2, settings: { maxTasksInFlight: 4, maxBatchesAhead: 2 } });
    h.report(mergedThrough(0, 'merge-0'));
    h.report(mergedThrough(0, 'merge-0'));
    await h.settle();
    expect(h.run.snapshot().mergedBatches).toBe(0);
    h.report(mergedThrough(0, 'merge-1'));
    await h.settle();
    expect(h.run.snapshot().mergedBatches).toBe(1);
    await h.run.abandon('test over');
  });

  it('spreads tasks over map workers by load', async () => {
    const h = await startRun({ batches: 4, mapWorkers: 2, settings: { maxTasksInFlight: 4 } });
    expect(h.tasksSent().sort()).toEqual(['t0#1@map-0', 't1#1@map-1', 't2#1@map-0', 't3#1@map-1']);
    await h.run.abandon('test over');
  });
});

describe('JobRun dispatching again', () => {
  it('after stallTimeoutMs without a report, sends unfinished tasks as new attempts and asks for reports again', async () => {
    const h = await startRun({ batches: 2, settings: { stallTimeoutMs: 1_000 } });
    h.report(taskDone(0));
    h.report(mergedThrough(0));
    await h.clock.advance(900);
    expect(h.tasksSent()).toEqual(['t0#1@map-0', 't1#1@map-0']);
    await h.clock.advance(400);
    // t0 reported done and its batch is merged: only t1 goes again.
    expect(h.tasksSent()).toEqual(['t0#1@map-0', 't1#1@map-0', 't1#2@map-0']);
    expect(ofType(h.merges[0]?.received ?? [], 'resend-reports')).toHaveLength(1);
    await h.run.abandon('test over');
  });

  it('a report resets the stall clock', async () => {
    const h = await startRun({ batches: 2, settings: { stallTimeoutMs: 1_000 } });
    await h.clock.advance(800);
    h.report(mergedThrough(0));
    await h.clock.advance(800);
    expect(h.tasksSent()).toHaveLength(2);
    await h.run.abandon('test over');
  });

  it("gives a lost map worker's unmerged tasks to the others as new attempts", async () => {
    const h = await startRun({ batches: 4, mapWorkers: 2, settings: { maxTasksInFlight: 4 } });
    h.report(taskDone(0, 1, 'map-0'));
    h.report(mergedThrough(0));
    await h.settle();
    h.run.workerLost('map-0');
    await h.settle();
    // t0 (on map-0) is merged: it stays; t2 (on map-0) goes to map-1.
    expect(h.tasksSent().filter((t) => t.startsWith('t2'))).toEqual(['t2#1@map-0', 't2#2@map-1']);
    expect(h.tasksSent().filter((t) => t.startsWith('t0'))).toEqual(['t0#1@map-0']);
    await h.run.abandon('test over');
  });

  it('counts only the current attempt: a late report of an older attempt changes nothing', async () => {
    const h = await startRun({ batches: 1, settings: { stallTimeoutMs: 1_000 } });
    await h.clock.advance(1_100);
    expect(h.tasksSent()).toEqual(['t0#1@map-0', 't0#2@map-0']);
    h.report(taskDone(0, 1));
    h.report(mergedThrough(0));
    h.report(checkpointWritten(1, 0));
    await h.settle();
    await h.settle();
    // The version commits, but the run waits for the current attempt's task-done.
    expect(h.run.state).toBe('running');
    h.report(taskDone(0, 2));
    await expect(h.run.done).resolves.toHaveLength(1);
  });

  it('runs a task cut off by the transport again, at most 3 times, then fails the run', async () => {
    const h = await startRun({ batches: 1 });
    const cut = (attempt: number) => ({
      type: 'task-failed' as const,
      jobId: 'wc-1',
      run: 1,
      taskId: 't0',
      attempt,
      error: toWireError(Object.assign(new Error('connection lost'), { name: 'MrmError', code: ErrorCode.Transport })),
      from: 'map-0',
    });
    for (let attempt = 1; attempt <= 3; attempt++) h.report(cut(attempt));
    await h.settle();
    expect(h.tasksSent()).toEqual(['t0#1@map-0', 't0#2@map-0', 't0#3@map-0', 't0#4@map-0']);
    h.report(cut(4));
    await expect(h.run.done).rejects.toThrow('connection lost');
  });
});

describe('JobRun commits', () => {
  it('commits versions in order, each with one VersionInfo the merge workers and the store share', async () => {
    const h = await startRun({ batches: 4, settings: { maxTasksInFlight: 4 } });
    for (let t = 0; t < 4; t++) h.report(taskDone(t));
    h.report(mergedThrough(3, 'merge-0', 0));
    // Version 2's reports arrive first: it still commits after version 1.
    h.report(checkpointWritten(2, 3));
    await h.clock.advance(10);
    expect(ofType(h.merges[0]?.received ?? [], 'commit-version')).toEqual([]);
    h.report(checkpointWritten(1, 1));
    const versions = await h.run.done;
    // Both were ready when version 1 could commit: one group, version 2 carrying version 1.
    const commits = ofType(h.merges[0]?.received ?? [], 'commit-version');
    expect(commits.map((c) => [...(c.earlier ?? []), c.info].map((i) => i.version))).toEqual([[1, 2]]);
    expect(commits.map((c) => c.last)).toEqual([true]);
    const infos = commits.flatMap((c) => [...(c.earlier ?? []), c.info]);
    expect(await h.store.listVersions('wc')).toEqual(infos);
    expect(versions).toEqual(infos);
    expect(versions.map((v) => [v.batches, v.records, v.keys])).toEqual([
      [2, 20, 4],
      [4, 40, 4],
    ]);
    expect(versions.map((v) => v.createdAtMs)).toEqual([h.clock.nowMs(), h.clock.nowMs()]);
  });

  it('commits every version ready at once as one group: one commit-version per merge worker, each version listed', async () => {
    const h = await startRun({
      batches: 5,
      mergeWorkers: 2,
      settings: { maxTasksInFlight: 5, checkpointEveryBatches: 1 },
    });
    for (let t = 0; t < 5; t++) h.report(taskDone(t));
    for (const w of ['merge-0', 'merge-1']) h.report(mergedThrough(4, w, 0));
    for (const w of h.merges) w.holding = true;
    h.report(checkpointWritten(1, 0, 'merge-0'));
    h.report(checkpointWritten(1, 0, 'merge-1'));
    await h.settle();
    // While version 1 commits, versions 2–5 are written everywhere, out of order.
    for (const v of [3, 2, 5, 4]) {
      h.report(checkpointWritten(v, v - 1, 'merge-1'));
      h.report(checkpointWritten(v, v - 1, 'merge-0'));
    }
    await h.settle();
    const requests = (w: ScriptedWorker | undefined) =>
      ofType(w?.received ?? [], 'commit-version').map((c) => [...(c.earlier ?? []), c.info].map((i) => i.version));
    expect(requests(h.merges[0])).toEqual([[1]]);
    for (const w of h.merges) w.release();
    const versions = await h.run.done;
    for (const w of h.merges) expect(requests(w)).toEqual([[1], [2, 3, 4, 5]]);
    const group = ofType(h.merges[0]?.received ?? [], 'commit-version')[1];
    expect(group?.info.version).toBe(5);
    expect(group?.last).toBe(true);
    // Every version keeps its own info, in the coordinator's store as in the request.
    expect(versions.map((v) => [v.version, v.batches, v.records])).toEqual([
      [1, 1, 10],
      [2, 2, 20],
      [3, 3, 30],
      [4, 4, 40],
      [5, 5, 50],
    ]);
    expect(await h.store.listVersions('wc')).toEqual(versions);
    expect([...(group?.earlier ?? []), group?.info]).toEqual(versions.slice(1));
    // Each version's batch ids are recorded (the next run leaves them out).
    expect(await new JobRecord(h.store, 'wc').committedBatches(5)).toEqual(new Set(['b0', 'b1', 'b2', 'b3', 'b4']));
  });

  it('waits for every merge worker to write a version before committing it', async () => {
    const h = await startRun({ batches: 1, mergeWorkers: 2 });
    h.report(taskDone(0));
    h.report(checkpointWritten(1, 0, 'merge-0'));
    await h.settle();
    expect(ofType(h.merges[0]?.received ?? [], 'commit-version')).toEqual([]);
    h.report(checkpointWritten(1, 0, 'merge-1'));
    await expect(h.run.done).resolves.toHaveLength(1);
  });
});

describe('JobRun failure', () => {
  it('rolls every merge worker back and stops the map tasks when a task fails', async () => {
    const h = await startRun({ batches: 2 });
    h.report({
      type: 'task-failed',
      jobId: 'wc-1',
      run: 1,
      taskId: 't1',
      attempt: 1,
      error: toWireError(new Error('map threw at x.txt:12')),
      from: 'map-0',
    });
    await expect(h.run.done).rejects.toThrow('map threw at x.txt:12');
    expect(h.run.state).toBe('failed');
    const aborts = ofType(h.merges[0]?.received ?? [], 'run-abort');
    expect(aborts.map((a) => a.rollbackTo)).toEqual([0]);
    expect(ofType(h.maps[0]?.received ?? [], 'run-abort')).toHaveLength(1);
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('ends the run at once with E_WORKER_LOST when a merge worker is lost, keeping what was committed', async () => {
    const h = await startRun({ batches: 2, mergeWorkers: 2 });
    (h.merges[1] as ScriptedWorker).silent = true;
    h.run.workerLost('merge-1');
    const error = await h.run.done.catch((e: unknown) => e);
    expect(isMrmError(error) && error.code).toBe(ErrorCode.WorkerLost);
    expect(String(error)).toMatch(/merge worker merge-1 stopped answering/);
    await h.settle();
    // Nobody is asked to roll back: the next run start discards what was never committed.
    expect(ofType(h.merges[1]?.received ?? [], 'run-abort')).toEqual([]);
    expect(ofType(h.merges[0]?.received ?? [], 'run-abort')).toEqual([]);
    expect(ofType(h.maps[0]?.received ?? [], 'run-abort')).toHaveLength(1);
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('ends the run without a rollback when the infrastructure fails past its retries, keeping what was committed', async () => {
    const h = await startRun({ batches: 2, settings: { maxTasksInFlight: 2, checkpointEveryBatches: 1 } });
    // Version 2's commit in the coordinator's records fails as the transport does once its own
    // retries are spent (a NATS cluster without a leader for too long).
    const commitVersions = h.store.commitVersions.bind(h.store);
    h.store.commitVersions = async (job, infos) => {
      if (infos.some((i) => i.version === 2)) {
        throw new MrmError(ErrorCode.Transport, 'cannot update kv key: no responders');
      }
      return commitVersions(job, infos);
    };
    for (let t = 0; t < 2; t++) h.report(taskDone(t));
    h.report(mergedThrough(0, 'merge-0', 0));
    h.report(checkpointWritten(1, 0));
    await h.settle();
    h.report(mergedThrough(1, 'merge-0', 1));
    h.report(checkpointWritten(2, 1));
    const error = await h.run.done.catch((e: unknown) => e);
    expect(isMrmError(error) && error.code).toBe(ErrorCode.Transport);
    await h.settle();
    // Version 1 stays committed; nobody is rolled back to the run's start (the next run goes on).
    expect((await h.store.listVersions('wc')).map((v) => v.version)).toEqual([1]);
    expect(ofType(h.merges[0]?.received ?? [], 'run-abort')).toEqual([]);
    expect(ofType(h.maps[0]?.received ?? [], 'run-abort')).toHaveLength(1);
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('ends the run with E_WORKER_LOST (role map), keeping what was committed, when the last map worker is lost', async () => {
    const h = await startRun({ batches: 2 });
    h.run.workerLost('map-0');
    const error = await h.run.done.catch((e: unknown) => e);
    expect(String(error)).toMatch(/no map workers left for job 'wc'/);
    // Not a job failure: the scheduler runs the job on once a map worker is back.
    expect(isMrmError(error) && error.code).toBe(ErrorCode.WorkerLost);
    expect(isMrmError(error) && error.details.role).toBe('map');
    await h.settle();
    expect(ofType(h.merges[0]?.received ?? [], 'run-abort')).toEqual([]);
  });
});

describe('JobRun abandon', () => {
  it('settles done with E_ABORTED, clears its timers and gives up a request waiting for a silent merge worker', async () => {
    const h = await startRun({ batches: 1 });
    (h.merges[0] as ScriptedWorker).silent = true;
    h.report(taskDone(0));
    h.report(mergedThrough(0));
    h.report(checkpointWritten(1, 0));
    await h.clock.advance(10);
    expect(ofType(h.merges[0]?.received ?? [], 'commit-version')).toHaveLength(1);
    await h.run.abandon('the coordinator is closing');
    const error = await h.run.done.catch((e: unknown) => e);
    expect(isMrmError(error) && error.code).toBe(ErrorCode.Aborted);
    expect(h.run.state).toBe('abandoned');
    expect(h.clock.pendingTimers).toBe(0);
    expect(await h.store.listVersions('wc')).toEqual([]);
  });
});
