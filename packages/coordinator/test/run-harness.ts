/**
 * A JobRun on the in-memory transport and a fake clock, with scripted workers: the map and
 * merge workers are subscriptions that record what the coordinator sent them (merge workers
 * ack requests unless told to stay silent), and the test plays their reports.
 */
import {
  aggregates,
  decodeMessage,
  encodeAck,
  type MessageBody,
  PROTOCOL_VERSION,
  type ProtocolMessage,
  type ResolvedJob,
  resolveJob,
  type SplitRef,
  silentLogger,
} from '@mrm/core';
import { MemoryBus, MemoryStateStore } from '@mrm/runtime';
import { FakeClock, settle } from '@mrm/testkit';
import { JobRecord } from '../src/job-record.js';
import { JobRun } from '../src/run/job-run.js';
import type { JobRunContext } from '../src/run/run-context.js';
import { type RunJobOptions, resolveRunSettings } from '../src/run-settings.js';

/** A word count job with 4 partitions. */
export const wordcount: ResolvedJob = resolveJob({
  name: 'wc',
  partitions: 4,
  map(line: string, emit: (k: string, v: number) => void) {
    for (const w of line.split(' ')) emit(w, 1);
  },
  ...aggregates.sum(),
});

/** A scripted worker: what it was sent, in order. */
export interface ScriptedWorker {
  readonly id: string;
  readonly received: ProtocolMessage[];
  /** While true, requests get no reply. */
  silent: boolean;
  /** While true, replies to requests wait until {@link release}. */
  holding: boolean;
  /** Sends the replies held so far (and stops holding). */
  release(): void;
}

/** Everything a test needs around one run. */
export interface RunHarness {
  readonly run: JobRun;
  readonly clock: FakeClock;
  readonly store: MemoryStateStore;
  readonly maps: ScriptedWorker[];
  readonly merges: ScriptedWorker[];
  /** Plays a report from a worker (as the coordinator's router would hand it over). */
  report(body: MessageBody): void;
  /** The map tasks sent so far, as `t<i>#<attempt>@<worker>`. */
  tasksSent(): string[];
  /** Lets queued messages and promise callbacks run. */
  settle(): Promise<void>;
}

/** Options of {@link startRun}. */
export interface RunHarnessOptions {
  readonly batches?: number;
  readonly mapWorkers?: number;
  readonly mergeWorkers?: number;
  readonly settings?: RunJobOptions;
  readonly job?: ResolvedJob;
}

/** One split per batch, `lines` lines each. */
export function splitsOf(batches: number, job: ResolvedJob, lines = 10): SplitRef[] {
  return Array.from({ length: batches }, (_, seq) => ({
    path: '/in/x.txt',
    displayPath: 'x.txt',
    format: job.input,
    gzip: false,
    startOffset: seq * 100,
    firstLine: seq * lines + 1,
    batches: [{ seq, batchId: `b${seq}`, endOffset: (seq + 1) * 100, lines }],
  }));
}

/** Starts a run on scripted workers; resolves once the merge workers acked run-start. */
export async function startRun(options: RunHarnessOptions = {}): Promise<RunHarness> {
  const job = options.job ?? wordcount;
  const batches = options.batches ?? 4;
  const bus = MemoryBus.create();
  const clock = new FakeClock();
  const store = new MemoryStateStore();
  const scripted = (id: string): ScriptedWorker => {
    const held: Array<() => void> = [];
    const worker: ScriptedWorker = {
      id,
      received: [],
      silent: false,
      holding: false,
      release() {
        worker.holding = false;
        for (const send of held.splice(0)) send();
      },
    };
    bus.connect().subscribe({ kind: 'worker', workerId: id }, (payload, reply) => {
      worker.received.push(decodeMessage(payload));
      if (reply === undefined || worker.silent) return;
      if (worker.holding) held.push(() => reply(encodeAck()));
      else reply(encodeAck());
    });
    return worker;
  };
  const maps = Array.from({ length: options.mapWorkers ?? 1 }, (_, i) => scripted(`map-${i}`));
  const merges = Array.from({ length: options.mergeWorkers ?? 1 }, (_, i) => scripted(`merge-${i}`));
  const record = new JobRecord(store, job.name);
  const runNumber = await record.beginRun(job, 'bundle-hash');
  const splits = splitsOf(batches, job);
  const ctx: JobRunContext = {
    jobId: 'wc-1',
    run: runNumber,
    job,
    ref: { name: job.name, bundleHash: 'bundle-hash' },
    plan: {
      splits,
      batchIds: splits.map((s) => s.batches[0]?.batchId ?? ''),
      batchLines: splits.map(() => 10),
      sources: [],
    },
    base: await store.latestVersion(job.name),
    record,
    store,
    transport: bus.connect(),
    clock,
    mapWorkers: maps.map((w) => w.id),
    mergeWorkers: merges.map((w) => w.id),
    settings: resolveRunSettings(
      {
        checkpointEveryBatches: 2,
        maxTasksInFlight: 2,
        stallTimeoutMs: 1_000,
        requestTimeoutMs: 5_000,
        ...options.settings,
      },
      maps.length,
    ),
    logger: silentLogger,
  };
  const run = new JobRun(ctx);
  await run.start();
  await settle();
  return {
    run,
    clock,
    store,
    maps,
    merges,
    report: (body) => run.onMessage({ ...body, v: PROTOCOL_VERSION } as ProtocolMessage),
    tasksSent: () =>
      maps.flatMap((w) =>
        w.received.flatMap((m) => (m.type === 'map-task' ? [`${m.taskId}#${m.attempt}@${w.id}`] : [])),
      ),
    settle,
  };
}

/** The messages of one type, typed. */
export function ofType<T extends ProtocolMessage['type']>(
  messages: readonly ProtocolMessage[],
  type: T,
): Extract<ProtocolMessage, { type: T }>[] {
  return messages.filter((m): m is Extract<ProtocolMessage, { type: T }> => m.type === type);
}

/** A map task's report that it finished. */
export function taskDone(task: number, attempt = 1, from = 'map-0'): MessageBody {
  return { type: 'task-done', jobId: 'wc-1', run: 1, taskId: `t${task}`, attempt, records: 10, skipped: 0, from };
}

/**
 * A merge worker's cumulative report: it merged every batch through `throughSeq`, and this report
 * carries the figures of `fromSeq`..`throughSeq` (`records` per batch, default 10 each; 5 pairs each).
 */
export function mergedThrough(
  throughSeq: number,
  from = 'merge-0',
  fromSeq = throughSeq,
  records: readonly number[] = Array.from({ length: throughSeq - fromSeq + 1 }, () => 10),
): MessageBody {
  return {
    type: 'merged-through',
    jobId: 'wc-1',
    run: 1,
    fromSeq,
    throughSeq,
    records,
    pairs: records.map(() => 5),
    partitions: [0, 1, 2, 3],
    from,
  };
}

/** A merge worker's report that it wrote a version. */
export function checkpointWritten(version: number, throughSeq: number, from = 'merge-0'): MessageBody {
  return {
    type: 'checkpoint-written',
    jobId: 'wc-1',
    run: 1,
    version,
    throughSeq,
    partitions: [0, 1, 2, 3],
    keyCounts: [1, 1, 1, 1],
    digests: [0, 1, 2, 3].map(() => ({ keys: 1, bytes: 10, hash: '0'.repeat(31) + '1' })),
    deadLetters: 0,
    from,
  };
}
