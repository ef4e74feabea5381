/**
 * What a merge run tells the coordinator: a batch is merged here once every partition this
 * worker owns merged it (`batch-merged`), a version is written here once every owned partition
 * wrote it (`checkpoint-written`), and a failure (`task-failed`, attempt 0). Progress reports
 * are kept until a committed version covers them, and sent again on request (after a reconnect
 * or a stalled run) — the coordinator ignores duplicates.
 */
import type { MessageBody, RunStartMessage, StateDigest, WireError } from '@mrm/core';

/** What one partition wrote for a version. */
export interface PartitionWritten {
  readonly digest: StateDigest;
  /** Records and keys set aside as dead letters in the version's batches. */
  readonly deadLetters: number;
  /** Its copy off the machine is a full one (absent when the run keeps no copies). */
  readonly full?: boolean;
  /** Late records in the version's batches (a window with lateness). */
  readonly lateRecords?: number;
  /** The watermark after the version's last batch (a window with lateness; absent: none yet). */
  readonly watermarkMs?: number;
}

/** Where a run sends its reports. */
export type Report = (message: MessageBody) => void;

/** Aggregates per-partition progress into the worker's reports. */
export class RunReports {
  /** Per seq: owned partitions that merged it. */
  private readonly mergedCount = new Map<number, number>();
  /** Per version: owned partitions that wrote it, and what they wrote. */
  private readonly written = new Map<number, Map<number, PartitionWritten>>();
  /** Reports not yet covered by a committed version. */
  private unconfirmed: MessageBody[] = [];

  constructor(
    private readonly start: RunStartMessage,
    private readonly workerId: string,
    private readonly partitions: readonly number[],
    private readonly report: Report,
  ) {}

  /** One owned partition merged batch `seq`; reports once every owned partition has. */
  merged(seq: number, records: number, pairs: () => number): void {
    const n = (this.mergedCount.get(seq) ?? 0) + 1;
    if (n < this.partitions.length) {
      this.mergedCount.set(seq, n);
      return;
    }
    this.mergedCount.delete(seq);
    const { jobId, run } = this.start;
    this.send({
      type: 'batch-merged',
      jobId,
      run,
      seq,
      records,
      partitions: [...this.partitions],
      from: this.workerId,
      pairs: pairs(),
    });
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
      ...(copies ? { fulls: all.map((w) => w.full === true) } : {}),
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
    this.unconfirmed = this.unconfirmed.filter((r) =>
      r.type === 'batch-merged' ? r.seq > throughSeq : r.type === 'checkpoint-written' ? r.version > version : true,
    );
  }

  /** Sends again every report not yet confirmed. */
  resend(): void {
    for (const r of this.unconfirmed) this.report(r);
  }

  private send(report: MessageBody): void {
    this.unconfirmed.push(report);
    this.report(report);
  }
}
