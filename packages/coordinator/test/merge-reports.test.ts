/**
 * Cumulative, coalesced merge reports (`merged-through`) on the coordinator, on the in-memory
 * transport and a fake clock: one report covering many batches advances the tracker and the
 * dispatch window, a batch is merged only when every merge worker merged through it, a report sent
 * again or overlapping one seen counts once, a report that skips batches (one was lost) is not
 * applied and the worker is asked to send again, and losing a merge worker mid-run still ends the run after its last committed version.
 */
import { ErrorCode, isMrmError, type ProtocolMessage } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { checkpointWritten, mergedThrough, type RunHarness, startRun, taskDone } from './run-harness.js';

/** Lets messages and promise callbacks run until `done()` holds (or fails the test). */
async function until(h: RunHarness, what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await h.settle();
  expect(done(), what).toBe(true);
}

const resends = (received: readonly ProtocolMessage[]) => received.filter((m) => m.type === 'resend-reports').length;

describe('merged-through reports', () => {
  it('one report covering several batches merges them all and refills the window', async () => {
    const h = await startRun({ batches: 8, settings: { maxTasksInFlight: 8, maxBatchesAhead: 4 } });
    expect(h.tasksSent()).toHaveLength(4);
    h.report(mergedThrough(2, 'merge-0', 0));
    await h.settle();
    const snap = h.run.snapshot();
    expect(snap.mergedBatches).toBe(3);
    expect(snap.records).toBe(30);
    // Batches 3..6 may now be dispatched (4 ahead of the lowest unmerged, 3).
    expect(h.tasksSent()).toHaveLength(7);
    expect(h.run.skewStatus().pairsByWorker).toEqual({ 'merge-0': 15 });
    await h.run.abandon('test over');
  });

  it('counts a batch merged only once every merge worker merged through it', async () => {
    const h = await startRun({ batches: 6, mergeWorkers: 3, settings: { maxTasksInFlight: 6 } });
    h.report(mergedThrough(4, 'merge-0', 0));
    h.report(mergedThrough(1, 'merge-1', 0));
    await h.settle();
    expect(h.run.snapshot().mergedBatches).toBe(0);
    h.report(mergedThrough(2, 'merge-2', 0));
    await h.settle();
    expect(h.run.snapshot().mergedBatches).toBe(2);
    expect(h.run.blockers()).toEqual([
      { workerId: 'map-0', waitingFor: 'map task t2' },
      { workerId: 'merge-1', waitingFor: 'batch 3 merged' },
    ]);
    h.report(mergedThrough(5, 'merge-1', 2));
    await h.settle();
    expect(h.run.snapshot().mergedBatches).toBe(3);
    expect(h.run.snapshot().records).toBe(30);
    await h.run.abandon('test over');
  });

  it('a report sent again, or overlapping one seen, counts each batch once', async () => {
    const h = await startRun({ batches: 6, mergeWorkers: 2, settings: { maxTasksInFlight: 6 } });
    h.report(mergedThrough(1, 'merge-0', 0));
    h.report(mergedThrough(1, 'merge-0', 0)); // the same again
    h.report(mergedThrough(3, 'merge-0', 0)); // a resend from the first unconfirmed batch
    h.report(mergedThrough(3, 'merge-1', 0));
    h.report(mergedThrough(3, 'merge-1', 2));
    await h.settle();
    expect(h.run.snapshot().mergedBatches).toBe(4);
    expect(h.run.snapshot().records).toBe(40);
    expect(h.run.skewStatus().pairsByWorker).toEqual({ 'merge-0': 20, 'merge-1': 20 });
    await h.run.abandon('test over');
  });

  it('a report that skips batches is not applied: the worker alone is asked to send again, once per gap', async () => {
    const h = await startRun({ batches: 6, mergeWorkers: 2, settings: { maxTasksInFlight: 6 } });
    h.report(mergedThrough(1, 'merge-0', 0));
    h.report(mergedThrough(1, 'merge-1', 0));
    // merge-0's report of batches 2..3 was lost; the next one (4) arrives.
    h.report(mergedThrough(4, 'merge-0', 4));
    h.report(mergedThrough(5, 'merge-0', 5));
    await h.settle();
    expect(h.run.snapshot().mergedBatches).toBe(2);
    expect(resends(h.merges[0]?.received ?? [])).toBe(1);
    expect(resends(h.merges[1]?.received ?? [])).toBe(0);
    // Its resend starts at the first batch no committed version covers.
    h.report(mergedThrough(5, 'merge-0', 0));
    h.report(mergedThrough(5, 'merge-1', 2));
    await h.settle();
    expect(h.run.snapshot().mergedBatches).toBe(6);
    expect(h.run.snapshot().records).toBe(60);
    expect(h.run.skewStatus().pairsByWorker).toEqual({ 'merge-0': 30, 'merge-1': 30 });
    await h.run.abandon('test over');
  });

  it('losing a merge worker mid-run ends the run with E_WORKER_LOST after its last committed version', async () => {
    const h = await startRun({ batches: 6, mergeWorkers: 2, settings: { maxTasksInFlight: 6 } });
    for (const w of ['merge-0', 'merge-1']) h.report(mergedThrough(2, w, 0));
    h.report(checkpointWritten(1, 1, 'merge-0'));
    h.report(checkpointWritten(1, 1, 'merge-1'));
    await until(h, 'version 1 committed', () => h.run.versionsCommitted === 1);
    h.report(mergedThrough(4, 'merge-0', 3));
    h.run.workerLost('merge-1');
    const error = await h.run.done.catch((e: unknown) => e);
    expect(isMrmError(error) && error.code).toBe(ErrorCode.WorkerLost);
    expect((await h.store.latestVersion('wc'))?.version).toBe(1);
  });

  it('records of a version are those its merge workers reported, batch by batch', async () => {
    const h = await startRun({ batches: 2, settings: { maxTasksInFlight: 2 } });
    for (let t = 0; t < 2; t++) h.report(taskDone(t));
    h.report(mergedThrough(1, 'merge-0', 0, [7, 9]));
    h.report(checkpointWritten(1, 1));
    const versions = await h.run.done;
    expect(versions.map((v) => v.records)).toEqual([16]);
  });
});
