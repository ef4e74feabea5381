/**
 * The thread pool must not run a task that was aborted before it got a thread: a map worker
 * aborts the queued tasks of a run that failed (a merge worker was lost) or that a newer run
 * superseded (a restarted coordinator), and such a task, once run, pushes to owners that may be
 * gone and waits for their credit for good, holding its thread.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, type MapTask, MrmError, ownersKeyOf, PROTOCOL_VERSION } from '@mrm/core';
import { type BatchOutput, ThreadPoolMapExecutor } from '@mrm/map-worker';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const JOB = `export default {
  name: 'count',
  map(line, emit) { emit(line, 1); },
  reduce(_key, values) { return values.reduce((a, b) => a + b, 0); },
};
`;

describe('ThreadPoolMapExecutor', () => {
  let dir: string;
  let pool: ThreadPoolMapExecutor | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mrm-pool-'));
    writeFileSync(join(dir, 'job.mjs'), JOB);
    writeFileSync(join(dir, 'in.txt'), 'a\nb\n');
  });
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** A task over in.txt: two batches of one line each (the thread waits for an ack after the first). */
  const task = (taskId: string): MapTask => ({
    type: 'map-task',
    v: PROTOCOL_VERSION,
    jobId: 'j',
    run: 1,
    taskId,
    attempt: 1,
    job: { name: 'count', bundleHash: 'h', bundlePath: join(dir, 'job.mjs') },
    split: {
      path: join(dir, 'in.txt'),
      displayPath: 'in.txt',
      format: 'lines',
      gzip: false,
      startOffset: 0,
      firstLine: 1,
      batches: [
        { seq: 0, batchId: 'b0', endOffset: 2, lines: 1 },
        { seq: 1, batchId: 'b1', endOffset: 4, lines: 1 },
      ],
    },
    partitions: 1,
    salt: 0,
    owners: ['merge-1'],
    ownersKey: ownersKeyOf(['merge-1']),
    maxFrameBytes: 64 * 1024,
    onError: 'fail',
  });
  const aborted = () => new MrmError(ErrorCode.Aborted, 'superseded by a newer run');

  it('starts a second thread when a task finds the first one busy (threads start on demand)', async () => {
    const p = ThreadPoolMapExecutor.create({ threads: 2, workerId: 'map-1' });
    pool = p;
    expect(p.concurrency).toBe(2);
    // Task a holds its thread: its first batch is not accepted until task b has produced one.
    let releaseA: () => void = () => {};
    const aHeld = new Promise<void>((resolve) => {
      releaseA = resolve;
    });
    let bProduced = false;
    const a = p.run(task('a'), async () => {
      await aHeld;
    });
    const b = p.run(task('b'), async () => {
      bProduced = true;
      releaseA();
    });
    const [totalsA, totalsB] = await Promise.all([a, b]);
    expect(bProduced).toBe(true);
    expect(totalsA).toEqual(totalsB);
  });

  it('starts every thread at once on startAll, and runs tasks on them side by side', async () => {
    const p = ThreadPoolMapExecutor.create({ threads: 3, workerId: 'map-1' });
    pool = p;
    expect(p.startedThreads).toBe(1);
    p.startAll();
    expect(p.startedThreads).toBe(3);
    p.startAll();
    expect(p.startedThreads).toBe(3);
    // Three tasks at once, each holding its thread until all three produced a batch: they can
    // only finish if three threads run them, and no fourth thread is started for them.
    let produced = 0;
    let releaseAll: () => void = () => {};
    const all = new Promise<void>((resolve) => {
      releaseAll = resolve;
    });
    const hold = async () => {
      produced++;
      if (produced === 3) releaseAll();
      await all;
    };
    const totals = await Promise.all([p.run(task('a'), hold), p.run(task('b'), hold), p.run(task('c'), hold)]);
    expect(totals.map((t) => t.records)).toEqual([2, 2, 2]);
    expect(p.startedThreads).toBe(3);
  });

  it('starts no thread on startAll once closed', async () => {
    const p = ThreadPoolMapExecutor.create({ threads: 2, workerId: 'map-1' });
    await p.close();
    p.startAll();
    expect(p.startedThreads).toBe(1);
  });

  it('drops a task aborted while it waits for a thread, and never runs it', async () => {
    const p = ThreadPoolMapExecutor.create({ threads: 1, workerId: 'map-1' });
    pool = p;
    // The first task holds the only thread: its first batch is never accepted.
    const holder = new AbortController();
    let held: () => void = () => {};
    const holding = new Promise<void>((r) => {
      held = r;
    });
    const never = () => {
      held();
      return new Promise<void>(() => {});
    };
    const first = p.run(task('t0'), never, holder.signal);
    first.catch(() => {});
    await holding;
    const queued = new AbortController();
    const seen: BatchOutput[] = [];
    const second = p.run(task('t1'), async (o) => void seen.push(o), queued.signal);
    queued.abort(aborted());
    await expect(second).rejects.toMatchObject({ code: ErrorCode.Aborted });
    holder.abort(aborted());
    await expect(first).rejects.toMatchObject({ code: ErrorCode.Aborted });
    // The thread is free for the next task, and the dropped one never ran.
    const third: BatchOutput[] = [];
    const totals = await p.run(task('t2'), async (o) => void third.push(o));
    expect(totals.records).toBe(2);
    expect(third.map((o) => o.seq)).toEqual([0, 1]);
    expect(seen).toEqual([]);
  });

  it('refuses a task whose signal was aborted before it was run', async () => {
    const p = ThreadPoolMapExecutor.create({ threads: 1, workerId: 'map-1' });
    pool = p;
    const gone = new AbortController();
    gone.abort(aborted());
    const seen: BatchOutput[] = [];
    await expect(p.run(task('t0'), async (o) => void seen.push(o), gone.signal)).rejects.toMatchObject({
      code: ErrorCode.Aborted,
    });
    expect(seen).toEqual([]);
    expect((await p.run(task('t1'), async () => {})).records).toBe(2);
  });
});
