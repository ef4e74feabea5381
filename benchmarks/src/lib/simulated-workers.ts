/**
 * Workers that answer the coordinator as real ones do, and do nothing else: the coordinator-scale
 * suite drives the real coordinator with hundreds of them on the real NATS transport, to see how
 * its own work grows with the number of workers (issue 14, goal 5).
 *
 * A simulated map worker takes a `map-task`, resolves its partition owners as a real one does
 * ({@link TaskOwners}: sent with the first task of a run, else `owners-unknown`), and reports
 * `task-done` at once through the real map worker's {@link TaskReports} (coalesced per
 * event-loop turn into `tasks-done`); instead of pushing
 * frames it tells every simulated merge worker in this process that the batches of the task are
 * complete (frames never pass through the coordinator, so that traffic is left out). A simulated
 * merge worker acks `run-start` and `commit-version` and reports through the real merge worker's
 * {@link RunReports} — every owned partition merges each complete batch in seq order and writes a
 * checkpoint at every cut — so its `merged-through` (coalesced per event-loop turn),
 * `checkpoint-written`, confirmations and resends are exactly a real merge worker's.
 */
import {
  decodeMessage,
  encodeAck,
  encodeMessage,
  type MapTask,
  type MessageBody,
  runKey,
  type Subscription,
  type Transport,
} from '@mrm/core';
import { TaskOwners, TaskReports } from '@mrm/map-worker';
import { RunReports } from '@mrm/merge-worker';

/** A digest of an empty partition (any 32 hex digits: the committer combines them). */
const EMPTY_HASH = '0'.repeat(32);
const EMPTY_WRITE = { digest: { keys: 0, bytes: 0, hash: EMPTY_HASH }, deadLetters: 0 };

/** One run as a simulated merge worker sees it. */
interface OpenRun {
  readonly reports: RunReports;
  readonly owned: readonly number[];
  readonly every: number;
  readonly firstVersion: number;
  readonly totalBatches: number;
  /** The next seq to merge (partitions merge in seq order). */
  next: number;
  /** Seqs complete but not yet merged (a later one arrived first), with their records. */
  readonly waiting: Map<number, number>;
}

/** Publishes reports to the coordinator, counting them. */
class Reporter {
  count = 0;

  constructor(private readonly transport: Transport) {}

  send(body: MessageBody): void {
    this.count++;
    this.transport.publish({ kind: 'coordinator' }, encodeMessage(body));
  }
}

/** A merge worker that merges nothing. */
class SimulatedMergeWorker {
  private readonly runs = new Map<string, OpenRun>();

  constructor(
    readonly id: string,
    private readonly reporter: Reporter,
  ) {}

  onControl(payload: Uint8Array, reply: ((payload: Uint8Array) => void) | undefined): void {
    const m = decodeMessage(payload);
    if (m.type === 'run-start') {
      const reports = new RunReports(m, this.id, m.owned, (body) => this.reporter.send(body));
      this.runs.set(runKey(m.jobId, m.run), {
        reports,
        owned: m.owned,
        every: m.checkpointEveryBatches,
        firstVersion: m.firstVersion,
        totalBatches: m.totalBatches,
        next: 0,
        waiting: new Map(),
      });
    } else if (m.type === 'commit-version') {
      const open = this.runs.get(runKey(m.jobId, m.run));
      // The run is not open: version v ends at cut v (every k batches, the last one at the end).
      const cut = (m.info.version - (open?.firstVersion ?? 0) + 1) * (open?.every ?? 1) - 1;
      open?.reports.confirm(m.info.version, Math.min(cut, (open?.totalBatches ?? 0) - 1));
      if (m.last) this.runs.delete(runKey(m.jobId, m.run));
    } else if (m.type === 'resend-reports') {
      this.runs.get(runKey(m.jobId, m.run))?.reports.resend();
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
      this.merge(open, open.next++, r);
    }
  }

  /** Every owned partition merges batch `seq`, and writes a checkpoint at a cut. */
  private merge(open: OpenRun, seq: number, records: number): void {
    for (const _ of open.owned) open.reports.merged(seq, records, () => 0);
    if ((seq + 1) % open.every !== 0 && seq !== open.totalBatches - 1) return;
    const version = open.firstVersion + Math.floor(seq / open.every);
    for (const p of open.owned) open.reports.checkpointWritten(version, seq, p, EMPTY_WRITE);
  }
}

/** A map worker that maps nothing. */
class SimulatedMapWorker {
  private readonly owners = new TaskOwners();
  private readonly reports: TaskReports;

  constructor(
    readonly id: string,
    reporter: Reporter,
    private readonly merges: readonly SimulatedMergeWorker[],
  ) {
    this.reports = new TaskReports((body) => reporter.send(body));
  }

  onControl(payload: Uint8Array): void {
    const m = decodeMessage(payload);
    if (m.type !== 'map-task') return;
    const task = this.owners.resolve(m);
    if (task !== undefined) this.run(task);
    else {
      const { jobId, run, taskId, attempt } = m;
      this.reports.other({ type: 'owners-unknown', jobId, run, taskId, attempt, from: this.id });
    }
  }

  private run(task: MapTask): void {
    let records = 0;
    for (const batch of task.split.batches) {
      const lines = 1;
      records += lines;
      for (const merge of this.merges) merge.batchComplete(task.jobId, task.run, batch.seq, lines);
    }
    this.reports.done({
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
    });
  }
}

/** The simulated workers of one transport, and how to stop them. */
export interface SimulatedWorkers {
  readonly mapWorkers: readonly string[];
  readonly mergeWorkers: readonly string[];
  /** Reports published to the coordinator so far (every message it handles from them). */
  reports(): number;
  close(): void;
}

/** Starts `maps` map and `merges` merge workers answering on `transport` (ids `sim-map-i`, `sim-merge-i`). */
export function startSimulatedWorkers(transport: Transport, maps: number, merges: number): SimulatedWorkers {
  const reporter = new Reporter(transport);
  const subscriptions: Subscription[] = [];
  const mergeWorkers = Array.from({ length: merges }, (_, i) => new SimulatedMergeWorker(`sim-merge-${i}`, reporter));
  const mapWorkers = Array.from(
    { length: maps },
    (_, i) => new SimulatedMapWorker(`sim-map-${i}`, reporter, mergeWorkers),
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
    reports: () => reporter.count,
    close: () => {
      for (const s of subscriptions) s.unsubscribe();
    },
  };
}
