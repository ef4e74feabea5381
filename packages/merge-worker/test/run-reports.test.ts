/**
 * A merge run's reports: merged batches go out cumulatively and coalesced (one `merged-through`
 * per flush, covering what merged since the last), never after a report that follows them, and a
 * resend carries everything no committed version covers in one report.
 */
import type { MessageBody, RunStartMessage } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { RunReports } from '../src/run-reports.js';

const START: RunStartMessage = {
  type: 'run-start',
  v: 1,
  jobId: 'j-1',
  run: 1,
  job: { name: 'j', bundleHash: 'h' },
  jobName: 'j',
  incremental: true,
  partitions: 2,
  owned: [0, 1],
  totalBatches: 8,
  batchIds: [],
  firstVersion: 1,
  checkpointEveryBatches: 2,
  maxBufferBytes: 1024,
};

const WRITTEN = { digest: { keys: 1, bytes: 1, hash: '0'.repeat(32) }, deadLetters: 0 };

/** Reports of one run, with flushes run by the test. */
function setup() {
  const sent: MessageBody[] = [];
  const flushes: (() => void)[] = [];
  const reports = new RunReports(
    START,
    'merge-0',
    START.owned,
    (m) => sent.push(m),
    (f) => flushes.push(f),
  );
  const flush = () => {
    for (const f of flushes.splice(0)) f();
  };
  /** Both owned partitions merge `seq` (10 records, 3 pairs on each). */
  const merge = (seq: number) => {
    for (const _ of START.owned) reports.merged(seq, 10 + seq, () => 3);
  };
  const merged = () =>
    sent.flatMap((m) => (m.type === 'merged-through' ? [[m.fromSeq, m.throughSeq, m.records, m.pairs]] : []));
  return { reports, sent, flush, merge, merged, flushes };
}

describe('RunReports', () => {
  it('coalesces the batches merged before a flush into one cumulative report', () => {
    const h = setup();
    h.merge(0);
    h.merge(1);
    h.merge(2);
    expect(h.sent).toEqual([]);
    expect(h.flushes).toHaveLength(1);
    h.flush();
    h.merge(3);
    h.flush();
    h.flush();
    expect(h.merged()).toEqual([
      [0, 2, [10, 11, 12], [3, 3, 3]],
      [3, 3, [13], [3]],
    ]);
  });

  it('counts a batch merged here only once every owned partition merged it, and only in seq order', () => {
    const h = setup();
    h.reports.merged(0, 10, () => 3);
    h.reports.merged(1, 11, () => 3);
    h.reports.merged(1, 11, () => 3); // partition 1 is ahead: batch 1 done on both, batch 0 not
    h.flush();
    expect(h.merged()).toEqual([]);
    h.reports.merged(0, 10, () => 3);
    h.flush();
    expect(h.merged()).toEqual([[0, 1, [10, 11], [3, 3]]]);
  });

  it('sends the merges before a checkpoint-written or a failure that follows them', () => {
    const h = setup();
    h.merge(0);
    h.merge(1);
    for (const p of START.owned) h.reports.checkpointWritten(1, 1, p, WRITTEN);
    expect(h.sent.map((m) => m.type)).toEqual(['merged-through', 'checkpoint-written']);
    h.merge(2);
    h.reports.failed('merge:0', { name: 'MrmError', code: 'E_JOB_FAILED', message: 'x' });
    h.flush();
    expect(h.sent.map((m) => m.type)).toEqual([
      'merged-through',
      'checkpoint-written',
      'merged-through',
      'task-failed',
    ]);
  });

  it('resends one merged-through from the first batch no committed version covers, then the other reports', () => {
    const h = setup();
    for (let s = 0; s < 4; s++) h.merge(s);
    h.flush();
    for (const p of START.owned) h.reports.checkpointWritten(1, 1, p, WRITTEN);
    for (const p of START.owned) h.reports.checkpointWritten(2, 3, p, WRITTEN);
    h.reports.confirm(1, 1);
    h.sent.length = 0;
    h.reports.resend();
    expect(h.merged()).toEqual([[2, 3, [12, 13], [3, 3]]]);
    expect(h.sent.flatMap((m) => (m.type === 'checkpoint-written' ? [m.version] : []))).toEqual([2]);
    // What merges next is reported from after the resend.
    h.merge(4);
    h.flush();
    expect(h.merged().at(-1)).toEqual([4, 4, [14], [3]]);
    h.reports.confirm(2, 3);
    h.sent.length = 0;
    h.reports.resend();
    expect(h.merged()).toEqual([[4, 4, [14], [3]]]);
  });
});
