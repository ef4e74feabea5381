/**
 * Workers that answer the coordinator as real ones do, and do nothing else: the coordinator-scale
 * suite drives the real coordinator with hundreds of them on the real NATS transport, to see how
 * its own work grows with the number of workers (issue 14, goal 5).
 *
 * A simulated map worker takes a `map-task` and reports `task-done` at once; instead of pushing
 * frames it tells every simulated merge worker in this process that the batches of the task are
 * complete (frames never pass through the coordinator, so that traffic is left out). A simulated
 * merge worker acks `run-start` and `commit-version`, and reports `batch-merged` in seq order and
 * `checkpoint-written` at every cut, as docs/protocol.md describes.
 */
import {
  decodeMessage,
  encodeAck,
  encodeMessage,
  type MapTaskMessage,
  type MessageBody,
  type RunStartMessage,
  runKey,
  type Subscription,
  type Transport,
} from '@mrm/core';

/** A digest of an empty partition (any 32 hex digits: the committer combines them). */
const EMPTY_HASH = '0'.repeat(32);

/** One run as a simulated merge worker sees it. */
interface OpenRun {
  readonly start: RunStartMessage;
  /** The next seq to report merged (reports go out in seq order, as real merges do). */
  next: number;
  /** Seqs complete but not yet reported (a later one finished first), with their records. */
  readonly waiting: Map<number, number>;
}

/** A merge worker that merges nothing. */
class SimulatedMergeWorker {
  private readonly runs = new Map<string, OpenRun>();

  constructor(
    readonly id: string,
    private readonly transport: Transport,
  ) {}

  onControl(payload: Uint8Array, reply: ((payload: Uint8Array) => void) | undefined): void {
    const m = decodeMessage(payload);
    if (m.type === 'run-start') {
      this.runs.set(runKey(m.jobId, m.run), { start: m, next: 0, waiting: new Map() });
    } else if (m.type === 'commit-version' && m.last) {
      this.runs.delete(runKey(m.jobId, m.run));
    } else if (m.type === 'run-abort') {
      this.runs.delete(runKey(m.jobId, m.run));
    }
    reply?.(encodeAck());
  }

  /** Every partition of batch `seq` has arrived (in the real system: its batch-end markers). */
  batchComplete(jobId: string, run: number, seq: number, records: number): void {
    const open = this.runs.get(runKey(jobId, run));
    if (open === undefined || seq < open.next) return; // an older attempt's batch
    open.waiting.set(seq, records);
    for (let r = open.waiting.get(open.next); r !== undefined; r = open.waiting.get(open.next)) {
      open.waiting.delete(open.next);
      this.merged(open, open.next++, r);
    }
  }

  private merged(open: OpenRun, seq: number, records: number): void {
    const { start } = open;
    const owned = start.owned;
    this.report({
      type: 'batch-merged',
      jobId: start.jobId,
      run: start.run,
      seq,
      records,
      partitions: owned,
      from: this.id,
    });
    const every = start.checkpointEveryBatches;
    if ((seq + 1) % every !== 0 && seq !== start.totalBatches - 1) return;
    this.report({
      type: 'checkpoint-written',
      jobId: start.jobId,
      run: start.run,
      version: start.firstVersion + Math.floor(seq / every),
      throughSeq: seq,
      partitions: owned,
      keyCounts: owned.map(() => 0),
      digests: owned.map(() => ({ keys: 0, bytes: 0, hash: EMPTY_HASH })),
      deadLetters: 0,
      from: this.id,
    });
  }

  private report(body: MessageBody): void {
    this.transport.publish({ kind: 'coordinator' }, encodeMessage(body));
  }
}

/** A map worker that maps nothing. */
class SimulatedMapWorker {
  constructor(
    readonly id: string,
    private readonly transport: Transport,
    private readonly merges: readonly SimulatedMergeWorker[],
  ) {}

  onControl(payload: Uint8Array): void {
    const m = decodeMessage(payload);
    if (m.type === 'map-task') this.run(m);
  }

  private run(task: MapTaskMessage): void {
    let records = 0;
    for (const batch of task.split.batches) {
      const lines = 1;
      records += lines;
      for (const merge of this.merges) merge.batchComplete(task.jobId, task.run, batch.seq, lines);
    }
    this.transport.publish(
      { kind: 'coordinator' },
      encodeMessage({
        type: 'task-done',
        jobId: task.jobId,
        run: task.run,
        taskId: task.taskId,
        attempt: task.attempt,
        records,
        skipped: 0,
        pairs: 0,
        heavy: [],
        from: this.id,
      }),
    );
  }
}

/** The simulated workers of one transport, and how to stop them. */
export interface SimulatedWorkers {
  readonly mapWorkers: readonly string[];
  readonly mergeWorkers: readonly string[];
  close(): void;
}

/** Starts `maps` map and `merges` merge workers answering on `transport` (ids `sim-map-i`, `sim-merge-i`). */
export function startSimulatedWorkers(transport: Transport, maps: number, merges: number): SimulatedWorkers {
  const subscriptions: Subscription[] = [];
  const mergeWorkers = Array.from({ length: merges }, (_, i) => new SimulatedMergeWorker(`sim-merge-${i}`, transport));
  const mapWorkers = Array.from(
    { length: maps },
    (_, i) => new SimulatedMapWorker(`sim-map-${i}`, transport, mergeWorkers),
  );
  for (const w of mergeWorkers) {
    subscriptions.push(transport.subscribe({ kind: 'worker', workerId: w.id }, (p, reply) => w.onControl(p, reply)));
  }
  for (const w of mapWorkers) {
    subscriptions.push(transport.subscribe({ kind: 'worker', workerId: w.id }, (p) => w.onControl(p)));
  }
  return {
    mapWorkers: mapWorkers.map((w) => w.id),
    mergeWorkers: mergeWorkers.map((w) => w.id),
    close: () => {
      for (const s of subscriptions) s.unsubscribe();
    },
  };
}
