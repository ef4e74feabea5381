/**
 * Runs one map task in the current thread: reads the split's batches, calls the user's `map` on
 * every record, and hands each batch's encoded output to `onBatch` (which may push back by not
 * resolving). The same function runs inline and inside worker threads.
 */
import {
  type DeadLetter,
  ErrorCode,
  EventTimeTally,
  encodeMessage,
  errorMessage,
  isMrmError,
  MAX_DEAD_LETTERS_PER_BATCH,
  type MapContext,
  type MapTask,
  MrmError,
  type ResolvedJob,
  trackEventTimes,
} from '@mrm/core';
import { type BatchText, forEachRecord, readSplitBatches } from '@mrm/input';
import { BatchCollector, type PartitionOutput } from './batch-collector.js';
import { acquireKeyTable } from './key-table.js';
import { TaskSalting, type TaskSkewReport } from './task-salting.js';

/** The encoded output of one batch of a map task. */
export interface BatchOutput {
  readonly seq: number;
  readonly batchId: string;
  readonly records: number;
  /** Frames per partition. */
  readonly partitions: readonly PartitionOutput[];
  /** Encoded batch-end marker per partition, parallel to `partitions`. */
  readonly markers: readonly Uint8Array[];
}

/** Totals of a finished map task (with its heavy keys and what salting did). */
export interface MapTaskTotals extends TaskSkewReport {
  readonly records: number;
  readonly skipped: number;
}

/** Runs `task` with `job`; `workerId` is stamped on frames so credits find their way back. */
export async function runMapTask(
  task: MapTask,
  job: ResolvedJob,
  workerId: string,
  onBatch: (output: BatchOutput) => Promise<void>,
  signal?: AbortSignal,
): Promise<MapTaskTotals> {
  const { split } = task;
  let records = 0;
  let skipped = 0;
  const salting = new TaskSalting(task, job);
  for await (const batch of readSplitBatches(split, signal)) {
    const collector = new BatchCollector(job, acquireKeyTable(job), task.onError);
    try {
      records += await mapBatch(task, workerId, batch, { job, collector, salting }, onBatch, () => skipped++);
    } finally {
      // After a failed batch the table is given back here (finish gave it back otherwise, and
      // another batch may hold it by now: only the collector knows whether it still has it).
      collector.release();
    }
  }
  return { records, skipped, ...salting.report() };
}

/** What one batch is mapped with. */
interface BatchTools {
  readonly job: ResolvedJob;
  readonly collector: BatchCollector;
  readonly salting: TaskSalting;
}

/** Maps one batch and hands its output to `onBatch`; returns its record count. */
async function mapBatch(
  task: MapTask,
  workerId: string,
  batch: BatchText,
  { job, collector, salting }: BatchTools,
  onBatch: (output: BatchOutput) => Promise<void>,
  skip: () => void,
): Promise<number> {
  const { split } = task;
  const ctx = { source: split.displayPath, line: batch.firstLine, batchId: batch.slice.batchId };
  const pending: Promise<void>[] = [];
  const deadLetters: DeadLetter[] = [];
  const setAside = (stage: 'input' | 'map', line: number, message: string) => {
    skip();
    if (deadLetters.length >= MAX_DEAD_LETTERS_PER_BATCH) return;
    deadLetters.push({ stage, batchId: ctx.batchId, source: split.displayPath, line, message, atMs: Date.now() });
  };
  // A window with lateness: the batch's event times go to its markers (the watermark moves on them).
  const tally = job.window?.latenessMs !== undefined ? new EventTimeTally(task.onError === 'skip') : undefined;
  if (tally !== undefined) trackEventTimes(ctx as MapContext, tally);
  const map = job.map;
  const emit = collector.emit;
  // A throw of the user's map, or a rejection of its promise (an async map): set aside or fatal.
  const mapFailed = (e: unknown, line: number) => {
    if (task.onError === 'skip' && !isMrmError(e)) setAside('map', line, `map threw: ${errorMessage(e)}`);
    else throw userError(e, split.displayPath, line);
  };
  const onRecord = (record: unknown, line: number) => {
    ctx.line = line;
    try {
      const r = map(record, emit, ctx as MapContext);
      if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
        pending.push((r as Promise<void>).catch((e: unknown) => mapFailed(e, line)));
      }
    } catch (e) {
      mapFailed(e, line);
    }
  };
  const onMalformed =
    task.onError === 'skip' ? (e: MrmError, line: number) => setAside('input', line, e.message) : undefined;
  const count = forEachRecord(batch.text, split.format, batch.firstLine, split.displayPath, onRecord, onMalformed);
  if (pending.length > 0) await Promise.all(pending);
  const header = { jobId: task.jobId, run: task.run, seq: batch.slice.seq, attempt: task.attempt, from: workerId };
  const router = salting.routerFor(batch.slice.seq, collector);
  const partitions = collector.finish(header, task.partitions, task.salt, task.maxFrameBytes, {
    heavy: salting.heavy,
    ...(router !== undefined ? { router } : {}),
  });
  const times = tally?.finish(split.displayPath);
  const markers = partitions.map((p) => {
    const partialsFrom = router?.partialsFrom(p.partition);
    return encodeMessage({
      type: 'batch-end',
      ...header,
      batchId: batch.slice.batchId,
      partition: p.partition,
      frames: p.frames.length,
      pairs: p.pairs,
      records: count,
      ...(partialsFrom !== undefined ? { partialsFrom } : {}),
      // The records set aside travel once, with partition 0, and are stored with its state.
      ...(p.partition === 0 && deadLetters.length > 0 ? { deadLetters } : {}),
      ...(times !== undefined ? { eventTimes: p.partition === 0 ? times.first : times.all } : {}),
    });
  });
  await onBatch({ seq: batch.slice.seq, batchId: batch.slice.batchId, records: count, partitions, markers });
  return count;
}

/** One line naming the input location of a failing record. */
function userError(e: unknown, source: string, line: number): MrmError {
  if (isMrmError(e)) {
    return new MrmError(e.code, `${source}:${line}: ${e.message}`, { cause: e, details: { source, line } });
  }
  return new MrmError(ErrorCode.UserCode, `map threw at ${source}:${line}: ${errorMessage(e)}`, {
    cause: e,
    details: { source, line },
  });
}
