/**
 * What a merge run tells the coordinator: how far batches are merged here, cumulatively
 * (`merged-through`: every owned partition merged every batch up to a seq — partitions merge in
 * seq order, so that is a prefix), a version is written here once every owned partition wrote it
 * (`checkpoint-written`), and a failure (`task-failed`, attempt 0).
 *
 * Merged batches are coalesced: one `merged-through` per event-loop turn at most, covering every
 * batch merged since the last one, and always sent before any other report (so a
 * `checkpoint-written` never overtakes the merges it covers). Progress not yet covered by a
 * committed version is kept and sent again on request (after a reconnect or a stalled run) — the
 * coordinator applies only what it has not seen. docs/decisions/0030-cumulative-merge-reports.md.
 */
import type { MessageBody, RunStartMessage, StateDigest, WireError } from '@mrm/core';

/** What one partition wrote for a version. */
export interface PartitionWritten {
  readonly digest: StateDigest;
  /** Records and keys set aside as dead letters in the version's batches. */
  readonly deadLetters: number;
  /** Its copy off the machine is a full one (absent when the run keeps no copies). */
  readonly full?: boolean;
  /** Its copy's encoded bytes (absent when the run keeps no copies). */
  readonly copyBytes?: number;
  /** Late records in the version's batches (a window with lateness). */
  readonly lateRecords?: number;
  /** The watermark after the version's last batch (a window with lateness; absent: none yet). */
  readonly watermarkMs?: number;
}

/** Where a run sends its reports. */
export type Report = (message: MessageBody) => void;

/** Runs `flush` later, in this event-loop turn's check phase (`setImmediate`); tests may pass their own. */
export type ScheduleFlush = (flush: () => void) => void;

const nextTurn: ScheduleFlush = (flush) => {
  setImmediate(flush);
};

/** Aggregates per-partition progress into the worker's reports. */
export class RunReports {
  /** Per seq above {@link through}: owned partitions that merged it. */
  private readonly mergedCount = new Map<number, number>();
  /** Seqs above {@link through} every owned partition merged (a later one finished first), with their figures. */
  private readonly complete = new Map<number, { records: number; pairs: number }>();
  /** Every batch up to this seq is merged on every owned partition. */
  private through = -1;
  /** The last seq a `merged-through` reported. */
  private sentThrough = -1;
  /** The last seq a committed version covers. */
  private confirmedThrough = -1;
  /** Records and pairs per seq `confirmedThrough + 1`..`through` (what a resend carries). */
  private records: number[] = [];
  private pairs: number[] = [];
  private flushScheduled = false;
  /** Per version: owned partitions that wrote it, and what they wrote. */
  private readonly written = new Map<number, Map<number, PartitionWritten>>();
  /** Reports other than `merged-through` not yet covered by a committed version. */
  private unconfirmed: MessageBody[] = [];

  constructor(
    private readonly start: RunStartMessage,
    private readonly workerId: string,
    private readonly partitions: readonly number[],
    private readonly report: Report,
    private readonly schedule: ScheduleFlush = nextTurn,
  ) {}

  /** One owned partition merged batch `seq`; counted once every owned partition has, reported on the next flush. */
  merged(seq: number, records: number, pairs: () => number): void {
    const n = (this.mergedCount.get(seq) ?? 0) + 1;
    if (n < this.partitions.length) {
      this.mergedCount.set(seq, n);
      return;
    }
    this.mergedCount.delete(seq);
    this.complete.set(seq, { records, pairs: pairs() });
    for (
      let next = this.complete.get(this.through + 1);
      next !== undefined;
      next = this.complete.get(this.through + 1)
    ) {
      this.complete.delete(++this.through);
      this.records.push(next.records);
      this.pairs.push(next.pairs);
    }
    if (this.through > this.sentThrough && !this.flushScheduled) {
      this.flushScheduled = true;
      this.schedule(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** One owned partition wrote `version`; reports once every owned partition has. */
  checkpointWritten(version: number, throughSeq: number, partition: number, written: PartitionWritten): void {
    let parts = this.written.get(version);
    if (parts === undefined) {
      parts = new Map();
      this.written.set(version, parts);
    }
    parts.set(partition, written);
    if (parts.size < this.partitions.length) return;
    this.written.delete(version);
    const { jobId, run } = this.start;
    const all = [...parts.values()];
    const copies = all.some((w) => w.full !== undefined);
    // Every partition saw the same batch markers, so their watermarks agree.
    const marks = all.flatMap((w) => (w.watermarkMs !== undefined ? [w.watermarkMs] : []));
    const late = all.reduce((n, w) => n + (w.lateRecords ?? 0), 0);
    this.send({
      type: 'checkpoint-written',
      jobId,
      run,
      version,
      throughSeq,
      partitions: [...parts.keys()],
      keyCounts: all.map((w) => w.digest.keys),
      digests: all.map((w) => w.digest),
      deadLetters: all.reduce((n, w) => n + w.deadLetters, 0),
      ...(copies ? { fulls: all.map((w) => w.full === true), copyBytes: all.map((w) => w.copyBytes ?? 0) } : {}),
      ...(marks.length > 0 ? { watermarkMs: Math.max(...marks) } : {}),
      ...(late > 0 ? { lateRecords: late } : {}),
      from: this.workerId,
    });
  }

  /** The run failed here (`taskId` says where: `merge:<p>`, `checkpoint:<p>`, …). */
  failed(taskId: string, error: WireError): void {
    const { jobId, run } = this.start;
    this.send({ type: 'task-failed', jobId, run, taskId, attempt: 0, error, from: this.workerId });
  }

  /** Forgets the reports a committed version (written after batch `throughSeq`) covers. */
  confirm(version: number, throughSeq: number): void {
    const confirmed = Math.min(throughSeq, this.through);
    if (confirmed > this.confirmedThrough) {
      this.records.splice(0, confirmed - this.confirmedThrough);
      this.pairs.splice(0, confirmed - this.confirmedThrough);
      this.confirmedThrough = confirmed;
    }
    this.unconfirmed = this.unconfirmed.filter((r) => r.type !== 'checkpoint-written' || r.version > version);
  }

  /** Sends again every report not yet confirmed: merged batches as one `merged-through`, then the rest. */
  resend(): void {
    if (this.through > this.confirmedThrough) this.sendMerged(this.confirmedThrough + 1);
    for (const r of this.unconfirmed) this.report(r);
  }

  /** Reports the batches merged since the last `merged-through`, if any. */
  flush(): void {
    const from = Math.max(this.sentThrough, this.confirmedThrough) + 1;
    if (this.through >= from) this.sendMerged(from);
  }

  /** Sends `merged-through` for `fromSeq`..{@link through} (`fromSeq` above {@link confirmedThrough}). */
  private sendMerged(fromSeq: number): void {
    const { jobId, run } = this.start;
    const offset = fromSeq - this.confirmedThrough - 1;
    this.sentThrough = this.through;
    this.report({
      type: 'merged-through',
      jobId,
      run,
      fromSeq,
      throughSeq: this.through,
      records: this.records.slice(offset),
      pairs: this.pairs.slice(offset),
      partitions: [...this.partitions],
      from: this.workerId,
    });
  }

  private send(report: MessageBody): void {
    // Merges first: a checkpoint or failure report never overtakes the merges before it.
    this.flush();
    this.unconfirmed.push(report);
    this.report(report);
  }
}
