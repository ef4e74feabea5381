/**
 * One run of one job on a merge worker: buffers frames per (batch, partition), knows a batch is
 * complete for a partition from its end marker's counts, merges complete batches strictly in
 * order per partition, checkpoints at every k-th batch (the same cut on every partition, so a
 * version is a consistent cut without a global barrier), and reports progress.
 */
import {
  type BatchEndMessage,
  ErrorCode,
  type FrameMessage,
  isPairCount,
  type Logger,
  type Metrics,
  MrmError,
  noMetrics,
  type PartialsMessage,
  type ResolvedJob,
  type RunExtendMessage,
  type RunStartMessage,
  type StateStore,
  toWireError,
  traceStage,
} from '@mrm/core';
import { type PackedPairs, unpackAllInto, unpackInto } from './packed-pairs.js';
import { type CopyTarget, PartitionCopies } from './partition-copies.js';
import { type CheckpointLayer, PartitionMerger } from './partition-merger.js';
import { PlainAccumulator } from './plain-accumulator.js';
import { type Cut, RunCuts } from './run-cuts.js';
import { type PartitionWritten, type Report, RunReports } from './run-reports.js';
import { type ForwardPartials, type SaltedIncoming, SaltedPartials } from './salted-partials.js';
import { ValueBuffer } from './value-buffer.js';

/** A batch of one partition being received. */
interface Incoming extends SaltedIncoming {
  buffer: ValueBuffer;
  /** Pair lists of frames that came packed, in arrival order, decoded into `buffer` when merged. */
  readonly packed: PackedPairs[];
  /** Attempt of the map task whose frames these are. */
  attempt: number;
  frames: number;
  pairs: number;
  /** Encoded bytes held in `buffer` (the memory budget's measure). */
  bytes: number;
  /** Spill writes of this buffer; the namespace is `spillNamespaceOf(seq, attempt, partition)`. */
  spills: Promise<void>[];
  end?: BatchEndMessage;
}

interface PartitionSlot {
  readonly partition: number;
  nextSeq: number;
  /** The next version this partition writes. */
  nextVersion: number;
  readonly incoming: Map<number, Incoming>;
  readonly merger?: PartitionMerger;
  readonly plain?: PlainAccumulator;
  /** True while a drain runs (one per partition at a time); set and cleared synchronously. */
  busy: boolean;
  /** The latest drain, for `close` to wait on. */
  draining: Promise<void>;
}

/** Values held before a plain job spills, per partition (about 16 bytes per value). */
const PLAIN_VALUES_PER_MIB = 1 << 16;

/**
 * The state's share of the merge side's memory: its partitions' keys and values (cache and
 * changed values) take at most `maxBufferBytes / STATE_SHARE` in all, besides the incoming
 * buffers' `maxBufferBytes` (docs/decisions/0040).
 */
const STATE_SHARE = 4;
/** Least state budget of one partition. */
const MIN_STATE_BYTES_PER_PARTITION = 64 * 1024;

/** State of one run on one merge worker. */
export class MergeRun {
  private readonly slots = new Map<number, PartitionSlot>();
  /** Copies kept off the machine (a cluster run), else undefined. */
  private copies: PartitionCopies | undefined;
  private failed = false;
  private closed = false;
  /** Encoded bytes held in all incoming buffers. */
  private heldBytes = 0;
  /** Bytes written to the spill area by this run. */
  spilledBytes = 0;
  /** Reports to the coordinator, kept until a committed version covers them. */
  private readonly reports: RunReports;
  /** Partition checkpoints being written. */
  private checkpointing = 0;
  /** Local checkpoint writes in flight (removed once done; a failure fails the run). */
  private readonly localWrites = new Set<Promise<unknown>>();
  private metrics: Metrics = noMetrics;
  /** Sub-keys of salted hot keys and the partials they send home. */
  private readonly salted: SaltedPartials;
  /** Per seq: key/value pairs reduced here (what `balance` in status measures). */
  private readonly pairsBySeq = new Map<number, number>();
  /** The run's batch ids and where it writes versions (an open run learns more of them). */
  private readonly cuts: RunCuts;

  private constructor(
    readonly start: RunStartMessage,
    private readonly job: ResolvedJob,
    private readonly store: StateStore,
    workerId: string,
    report: Report,
    private readonly logger: Logger,
    forward?: ForwardPartials,
  ) {
    this.reports = new RunReports(start, workerId, start.owned, report);
    this.cuts = new RunCuts(start);
    this.salted = new SaltedPartials(job, start.jobId, start.run, start.owners, forward, start.onError ?? 'fail');
  }

  /** Opens the partitions this worker owns (after rolling back writes of versions never committed). */
  static async open(
    start: RunStartMessage,
    job: ResolvedJob,
    store: StateStore,
    workerId: string,
    report: Report,
    logger: Logger,
    forward?: ForwardPartials,
    metrics: Metrics = noMetrics,
    copyTarget?: CopyTarget,
  ): Promise<MergeRun> {
    await store.discardAbove(start.jobName, start.firstVersion - 1);
    const run = new MergeRun(start, job, store, workerId, report, logger, forward);
    run.metrics = metrics;
    if (start.copies !== undefined && copyTarget !== undefined && start.incremental) {
      const copies = new PartitionCopies(copyTarget, store, start.jobName, start.copies, logger);
      // A partition that moved here (or a store that came back empty) is restored first.
      await copies.restoreAllIfStale(start.owned, start.firstVersion - 1);
      run.copies = copies;
    }
    const maxStateBytes = Math.max(
      MIN_STATE_BYTES_PER_PARTITION,
      Math.floor(start.maxBufferBytes / STATE_SHARE / start.owned.length),
    );
    const perPartitionValues = Math.max(
      1024,
      Math.floor(((start.maxBufferBytes / (1024 * 1024)) * PLAIN_VALUES_PER_MIB) / start.owned.length),
    );
    for (const partition of start.owned) {
      const ctx = {
        store,
        jobName: start.jobName,
        job,
        partition,
        onError: start.onError ?? 'fail',
        ...(start.watermarkMs !== undefined ? { watermarkMs: start.watermarkMs } : {}),
        copied: run.copies !== undefined,
      };
      run.slots.set(partition, {
        partition,
        nextSeq: 0,
        nextVersion: start.firstVersion,
        incoming: new Map(),
        busy: false,
        draining: Promise.resolve(),
        ...(start.incremental
          ? { merger: await PartitionMerger.open(ctx, { maxStateBytes }) }
          : {
              plain: new PlainAccumulator(
                store,
                job,
                start.jobName,
                partition,
                `${run.spillNamespace}.plain.p${partition}`,
                perPartitionValues,
                ctx.onError,
              ),
            }),
      });
    }
    return run;
  }

  private get spillNamespace(): string {
    return `${this.start.jobId}.${this.start.run}`;
  }

  /** One namespace per (batch, attempt, partition): clearing one never touches another's values. */
  private spillNamespaceOf(seq: number, attempt: number, partition: number): string {
    return `${this.spillNamespace}.b${seq}.a${attempt}.p${partition}`;
  }

  /**
   * The buffer for (seq, partition) that a message of `attempt` belongs to: a newer attempt
   * replaces what an older one delivered; messages of an older attempt, of a batch already merged
   * or of a partition not owned here are dropped (undefined).
   */
  private incoming(seq: number, partition: number, attempt: number): Incoming | undefined {
    const slot = this.slots.get(partition);
    if (slot === undefined || seq < slot.nextSeq || seq >= this.cuts.total) return undefined;
    let inc = slot.incoming.get(seq);
    if (inc !== undefined && attempt < inc.attempt) return undefined;
    if (inc !== undefined && attempt > inc.attempt) {
      this.heldBytes -= inc.bytes;
      void this.dropSpill(seq, partition, inc);
      inc = undefined;
    }
    if (inc === undefined) {
      inc = {
        buffer: new ValueBuffer(this.job, this.start.onError),
        packed: [],
        attempt,
        frames: 0,
        pairs: 0,
        bytes: 0,
        spills: [],
      };
      slot.incoming.set(seq, inc);
    }
    return inc;
  }

  private async dropSpill(seq: number, partition: number, inc: Incoming): Promise<void> {
    if (inc.spills.length === 0) return;
    await Promise.allSettled(inc.spills);
    await this.store.spill.clear(this.spillNamespaceOf(seq, inc.attempt, partition)).catch(() => {});
  }

  /** Takes a frame of `bytes` encoded bytes. */
  onFrame(frame: FrameMessage, bytes: number): void {
    if (this.failed || this.closed) return;
    const inc = this.incoming(frame.seq, frame.partition, frame.attempt);
    if (inc === undefined) return;
    let pairs: number;
    try {
      if (frame.packed !== undefined && isPairCount(frame.count)) {
        inc.packed.push({ bytes: frame.packed, count: frame.count });
        pairs = frame.count;
      } else if (Array.isArray(frame.pairs)) {
        // Values keep their order: lists that came packed before this frame go first.
        unpackAllInto(inc.buffer, inc.packed);
        this.salted.absorb(inc, inc.buffer, frame.pairs);
        pairs = frame.pairs.length / 2;
      } else {
        throw new MrmError(
          ErrorCode.Protocol,
          `frame of batch ${frame.seq} partition ${frame.partition} carries neither pairs nor packed pairs with their count`,
        );
      }
    } catch (e) {
      this.fail(e, `combine:${frame.partition}`);
      return;
    }
    inc.frames++;
    inc.pairs += pairs;
    inc.bytes += bytes;
    this.heldBytes += bytes;
    if (this.heldBytes > this.start.maxBufferBytes) this.spillFurthest();
    this.maybeComplete(frame.partition, frame.seq, inc);
  }

  /** Takes a batch-end marker. */
  onBatchEnd(end: BatchEndMessage): void {
    if (this.failed || this.closed) return;
    const inc = this.incoming(end.seq, end.partition, end.attempt);
    if (inc === undefined) return;
    inc.end = end;
    this.maybeComplete(end.partition, end.seq, inc);
  }

  /** Takes the partials of salted keys whose home partition is here. */
  onPartials(m: PartialsMessage): void {
    if (this.failed || this.closed) return;
    const slot = this.slots.get(m.partition);
    if (slot === undefined || m.seq < slot.nextSeq) return;
    this.salted.receive(m);
    const inc = slot.incoming.get(m.seq);
    if (inc !== undefined) this.maybeComplete(m.partition, m.seq, inc);
  }

  private countPairs(seq: number, n: number): void {
    if (n > 0) this.pairsBySeq.set(seq, (this.pairsBySeq.get(seq) ?? 0) + n);
  }

  /**
   * Over budget: parks the buffer furthest from being merged (highest seq) in the store's spill
   * area. It is read back when its batch is merged.
   */
  private spillFurthest(): void {
    let victim: { seq: number; partition: number; inc: Incoming } | undefined;
    for (const slot of this.slots.values()) {
      for (const [seq, inc] of slot.incoming) {
        if (inc.bytes === 0 || seq === slot.nextSeq) continue;
        if (victim === undefined || seq > victim.seq) victim = { seq, partition: slot.partition, inc };
      }
    }
    if (victim === undefined) return;
    const { seq, partition, inc } = victim;
    try {
      unpackAllInto(inc.buffer, inc.packed);
    } catch (e) {
      this.fail(e, `spill:${partition}`);
      return;
    }
    const values = inc.buffer.values;
    inc.buffer = new ValueBuffer(this.job, this.start.onError);
    this.heldBytes -= inc.bytes;
    this.spilledBytes += inc.bytes;
    this.metrics.add('mrm_spill_bytes_total', inc.bytes);
    inc.bytes = 0;
    const write = this.store.spill.append(this.spillNamespaceOf(seq, inc.attempt, partition), partition, values);
    write.catch((e: unknown) => this.fail(e, `spill:${partition}`));
    inc.spills.push(write);
  }

  /** Brings a batch's spilled values back into its buffer. */
  private async unspill(seq: number, partition: number, inc: Incoming): Promise<void> {
    if (inc.spills.length === 0) return;
    await Promise.all(inc.spills);
    const ns = this.spillNamespaceOf(seq, inc.attempt, partition);
    for await (const [ck, values] of this.store.spill.read(ns, partition)) inc.buffer.addAll(ck, values);
    await this.store.spill.clear(ns);
  }

  private maybeComplete(partition: number, seq: number, inc: Incoming): void {
    const end = inc.end;
    if (end === undefined || inc.frames < end.frames) return;
    if (inc.pairs !== end.pairs) {
      this.fail(
        new MrmError(
          ErrorCode.Protocol,
          `batch ${seq} partition ${partition}: ${inc.pairs} pairs, marker says ${end.pairs}`,
        ),
        `merge:${partition}`,
      );
      return;
    }
    try {
      this.salted.forward(seq, partition, this.cuts.idOf(seq) ?? end.batchId, inc);
    } catch (e) {
      this.fail(e, `reduce:${partition}`);
      return;
    }
    this.trace('merge.complete', { seq, partition });
    this.drain(partition);
  }

  /** A stage stamp of this run (core's trace.ts). */
  private trace(stage: string, fields: { seq?: number; version?: number; partition: number }): void {
    traceStage(this.logger, stage, { jobId: this.start.jobId, ...fields });
  }

  /** Merges every complete batch that is next in order. One drain per partition at a time. */
  private drain(partition: number): void {
    const slot = this.slots.get(partition);
    if (slot === undefined || slot.busy) return;
    slot.draining = this.drainSlot(slot);
  }

  private async drainSlot(slot: PartitionSlot): Promise<void> {
    const { partition } = slot;
    // Cleared in `finally` as the loop stops, so a batch completing right after is not missed.
    slot.busy = true;
    try {
      for (;;) {
        if (this.failed || this.closed) return;
        await this.writeCuts(slot);
        const seq = slot.nextSeq;
        const inc = slot.incoming.get(seq);
        if (inc?.end === undefined || inc.frames < inc.end.frames) return;
        if (!this.salted.ready(seq, partition, inc.attempt, inc.end.partialsFrom)) return;
        slot.incoming.delete(seq);
        const partials = this.salted.take(seq, partition, inc.end.partialsFrom);
        this.countPairs(seq, inc.pairs + partials.lists.reduce((n, list) => n + list.length / 2, 0));
        this.heldBytes -= inc.bytes;
        await this.unspill(seq, partition, inc);
        await unpackInto(inc.buffer, inc.packed);
        const batchId = this.cuts.idOf(seq) ?? inc.end.batchId;
        const setAside = inc.end.deadLetters ?? [];
        if (slot.merger !== undefined) {
          slot.merger.setAside(setAside);
          await slot.merger.mergeBatch(batchId, inc.buffer, partials.lists, inc.end.eventTimes, partials.failed);
        } else await slot.plain?.add(batchId, inc.buffer, setAside);
        slot.nextSeq = seq + 1;
        this.trace('merge.merged', { seq, partition });
        // The batch belongs to the version at nextVersion (every earlier cut is written). When that
        // cut is not complete yet, over its budget the partition writes changed values into it ahead.
        const pending = this.cuts.cutOf(slot.nextVersion);
        if (slot.merger !== undefined && pending !== undefined && pending.throughSeq >= slot.nextSeq) {
          await slot.merger.relieve(pending.version);
        }
        this.metrics.add('mrm_partition_batches_merged_total', 1, { job: this.start.jobName });
        this.reports.merged(seq, inc.end.records, () => {
          const pairs = this.pairsBySeq.get(seq) ?? 0;
          this.pairsBySeq.delete(seq);
          return pairs;
        });
      }
    } catch (e) {
      this.fail(e, `merge:${partition}`);
    } finally {
      slot.busy = false;
    }
  }

  /**
   * An open run takes more batches, and the version to write after them. A repeat is ignored;
   * partitions that merged everything already write the new version at once (a cut of no batches).
   */
  extend(m: RunExtendMessage): void {
    if (this.failed || this.closed || !this.cuts.extend(m)) return;
    for (const partition of this.slots.keys()) this.drain(partition);
  }

  /** Writes every version whose batches this partition has merged, in order. */
  private async writeCuts(slot: PartitionSlot): Promise<void> {
    for (let cut = this.cuts.cutOf(slot.nextVersion); cut !== undefined && cut.throughSeq < slot.nextSeq; ) {
      slot.nextVersion++;
      await this.checkpoint(slot, cut);
      if (this.failed || this.closed) return;
      cut = this.cuts.cutOf(slot.nextVersion);
    }
  }

  private async checkpoint(slot: PartitionSlot, cut: Cut): Promise<void> {
    const { version, throughSeq: seq } = cut;
    if (slot.plain !== undefined) {
      const written = await slot.plain.finish(version);
      this.spilledBytes += slot.plain.spilledBytes;
      this.metrics.add('mrm_spill_bytes_total', slot.plain.spilledBytes);
      this.onWritten(version, seq, slot.partition, written);
      return;
    }
    const merger = slot.merger as PartitionMerger;
    if (cut.advanceWatermarkMs !== undefined) merger.advanceWatermark(cut.advanceWatermarkMs);
    // Final windows past retention leave the state with this version (merging waits for the scan).
    await merger.dropFinalWindows();
    // Asynchronous: merging goes on while the checkpoint is written (and copied), once hashed.
    const started = performance.now();
    this.trace('merge.ckpt.start', { version, partition: slot.partition });
    this.checkpointing++;
    let pending: { readonly layer: CheckpointLayer; readonly written: Promise<CheckpointLayer> };
    try {
      pending = await merger.startCheckpoint(version);
    } catch (e) {
      this.checkpointing--;
      throw e;
    }
    const { layer, written } = pending;
    const durable = written.finally(() => {
      this.checkpointing--;
      this.metrics.observe('mrm_checkpoint_duration_seconds', (performance.now() - started) / 1000, {
        job: this.start.jobName,
      });
    });
    this.localWrites.add(durable);
    durable.then(
      () => {
        this.trace('merge.ckpt.written', { version, partition: slot.partition });
        this.localWrites.delete(durable);
      },
      (e: unknown) => {
        this.fail(e, `checkpoint:${slot.partition}`);
        this.localWrites.delete(durable);
      },
    );
    // With copies, the partition counts as written once its copy is durable in JetStream: a
    // delta's (and version 1's) is put while the local write goes on, and the local write need not
    // be done yet — committing the version locally waits for it (`assertWritten`), and the
    // coordinator commits only after that (decisions/0042). Without copies, once written here.
    (this.copies?.ship(slot.partition, version, layer, durable) ?? durable.then(() => undefined))
      .then((shipped) => {
        this.trace('merge.ckpt.shipped', { version, partition: slot.partition });
        // Absent without copies, so the checkpoint-written report has no `fulls` then (as documented).
        this.onWritten(version, seq, slot.partition, {
          digest: layer.digest,
          deadLetters: layer.deadLetterCount,
          ...(shipped !== undefined ? { full: shipped.full, copyBytes: shipped.bytes } : {}),
          lateRecords: layer.lateRecords,
          ...(layer.watermarkMs !== undefined ? { watermarkMs: layer.watermarkMs } : {}),
        });
      })
      .catch((e: unknown) => this.fail(e, `checkpoint:${slot.partition}`));
  }

  private onWritten(version: number, throughSeq: number, partition: number, written: PartitionWritten): void {
    if (this.failed || this.closed) return;
    this.reports.checkpointWritten(version, throughSeq, partition, {
      ...written,
      ...(this.copies !== undefined ? { full: written.full ?? false } : {}),
    });
  }

  /**
   * What this run is doing, for heartbeats: checkpointing, merging batch n (1-based), or waiting
   * for the frames of batch n.
   */
  phase(): string {
    if (this.checkpointing > 0) return `checkpointing ${this.start.jobName}`;
    let lowest: PartitionSlot | undefined;
    for (const slot of this.slots.values()) if (lowest === undefined || slot.nextSeq < lowest.nextSeq) lowest = slot;
    if (lowest === undefined || lowest.nextSeq >= this.cuts.total) {
      return this.start.open === true
        ? `waiting for batches of ${this.start.jobName}`
        : `finishing ${this.start.jobName}`;
    }
    const busy = [...this.slots.values()].some((s) => s.busy);
    return `${busy ? 'merging' : 'waiting for'} batch ${lowest.nextSeq + 1} of ${this.start.jobName}`;
  }

  /**
   * Before acknowledging a commit: waits for every checkpoint write started so far (a version is
   * reported written once its copies are durable, maybe before its local writes are), and throws
   * when one failed, or the run did. The local commit need not wait for this: the store applies
   * writes in the order they were called (decisions/0050).
   */
  async assertWritten(): Promise<void> {
    await Promise.all([...this.localWrites]);
    if (this.failed || this.closed) {
      throw new MrmError(
        ErrorCode.State,
        `run ${this.start.jobId}/${this.start.run} of job '${this.start.jobName}' failed or closed on this merge worker: its checkpoints are not all written, the version is not acknowledged`,
      );
    }
  }

  /** Before committing a version locally: throws `E_FENCED` when a partition's lease moved on. */
  async assertLeases(): Promise<void> {
    const { copies } = this;
    if (copies === undefined) return;
    // One read per partition, all at once: a commit waits for the slowest, not for their sum.
    await Promise.all([...this.slots.keys()].map((partition) => copies.assertLease(partition)));
  }

  /** After committing a version locally: the store holds the owned partitions at it. */
  async committed(version: number): Promise<void> {
    await this.copies?.markCurrent(this.slots.keys(), version);
  }

  /** Forgets the reports a committed version covers. */
  confirm(version: number): void {
    const cut = this.cuts.cutOf(version);
    if (cut !== undefined) this.reports.confirm(version, cut.throughSeq);
    this.cuts.forget(version);
  }

  /** Sends again every report not yet confirmed (after the transport reconnected). */
  resendReports(): void {
    this.reports.resend();
  }

  private fail(e: unknown, taskId: string): void {
    if (this.failed || this.closed) return;
    this.failed = true;
    const err =
      e instanceof MrmError ? e : new MrmError(ErrorCode.Internal, `merge failed: ${String(e)}`, { cause: e });
    this.logger.warn('run failed on merge worker', { error: err.message });
    this.reports.failed(taskId, toWireError(err));
  }

  /** Stops the run: waits for writes in flight, then (when `rollbackTo` is set) discards above it. */
  async close(rollbackTo?: number): Promise<void> {
    this.closed = true;
    await Promise.all([...this.slots.values()].map((s) => s.merger?.settle()));
    // A drain in progress finishes its current batch before it sees `closed`; wait for it.
    await Promise.all([...this.slots.values()].map((s) => s.draining));
    await Promise.all([...this.slots.values()].map((s) => s.merger?.settle()));
    if (rollbackTo !== undefined) await this.store.discardAbove(this.start.jobName, rollbackTo);
    for (const slot of this.slots.values()) await slot.plain?.clear();
    this.salted.clear();
    for (const slot of this.slots.values()) {
      for (const [seq, inc] of slot.incoming) await this.dropSpill(seq, slot.partition, inc);
      slot.incoming.clear();
    }
  }
}
