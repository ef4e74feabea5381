/**
 * Where a merge run writes its versions, and the stable ids of its batches by seq. A run that ends
 * (a batch job, a round) knows them all from `run-start`: a version after every
 * `checkpointEveryBatches` batches and after the last one (a plain job: one, after the last). An
 * open run (a streaming job, docs/decisions/0027) learns them from `run-extend` messages: one
 * version after the batches of each, possibly none (an idle stream's watermark advance).
 * Committed versions and their batches are forgotten, so an open run that lasts for days holds
 * only what is not yet committed.
 */
import { ErrorCode, MrmError, type RunExtendMessage, type RunStartMessage } from '@mrm/core';

/** A version to write once every batch up to `throughSeq` is merged (−1: none of this run). */
export interface Cut {
  readonly version: number;
  readonly throughSeq: number;
  /** An idle stream: the watermark moves at least here before the version is written. */
  readonly advanceWatermarkMs?: number;
}

/** Batches below this many forgotten ids are not worth a copy of the list. */
const FORGET_AT_LEAST = 1024;

/** The batches and versions of one merge run. */
export class RunCuts {
  /** Ids of seqs `base..base + ids.length − 1`. */
  private ids: string[];
  private base = 0;
  /** Open runs: the cuts not yet committed, by version. */
  private readonly added = new Map<number, Cut>();
  private lastVersion: number;

  constructor(private readonly start: RunStartMessage) {
    this.ids = [...start.batchIds];
    this.lastVersion = start.open === true ? start.firstVersion - 1 : this.closedCount() + start.firstVersion - 1;
  }

  /** Batches in the run so far (seq 0..total−1). */
  get total(): number {
    return this.base + this.ids.length;
  }

  /** The stable id of batch `seq` (undefined once its version is committed). */
  idOf(seq: number): string | undefined {
    return this.ids[seq - this.base];
  }

  /** The cut of `version`, when the run knows it (yet). */
  cutOf(version: number): Cut | undefined {
    if (this.start.open === true) return this.added.get(version);
    if (version < this.start.firstVersion || version > this.lastVersion) return undefined;
    const { firstVersion, checkpointEveryBatches, incremental } = this.start;
    const last = this.start.totalBatches - 1;
    if (!incremental) return { version, throughSeq: last };
    return { version, throughSeq: Math.min(last, (version - firstVersion + 1) * checkpointEveryBatches - 1) };
  }

  /** Adds an open run's batches and the version after them; false for a repeat (already added). */
  extend(m: RunExtendMessage): boolean {
    if (this.start.open !== true) {
      throw new MrmError(ErrorCode.Protocol, `run ${m.jobId}/${m.run} is not open: it takes no more batches`);
    }
    if (m.version <= this.lastVersion) return false;
    if (m.version !== this.lastVersion + 1 || m.fromSeq !== this.total) {
      throw new MrmError(
        ErrorCode.Protocol,
        `run ${m.jobId}/${m.run}: extension to version ${m.version} from batch ${m.fromSeq}, expected version ${this.lastVersion + 1} from batch ${this.total}`,
      );
    }
    this.ids.push(...m.batchIds);
    this.lastVersion = m.version;
    this.added.set(m.version, {
      version: m.version,
      throughSeq: this.total - 1,
      ...(m.advanceWatermarkMs !== undefined ? { advanceWatermarkMs: m.advanceWatermarkMs } : {}),
    });
    return true;
  }

  /** `version` is committed: its cut and its batches' ids are not needed any more. */
  forget(version: number): void {
    const cut = this.cutOf(version);
    if (this.start.open !== true || cut === undefined) return;
    for (const v of this.added.keys()) if (v <= version) this.added.delete(v);
    const drop = cut.throughSeq + 1 - this.base;
    if (drop >= FORGET_AT_LEAST || (drop > 0 && drop === this.ids.length)) {
      this.ids = this.ids.slice(drop);
      this.base += drop;
    }
  }

  /** Versions of a run that ends: one per `checkpointEveryBatches` batches (a plain job: one). */
  private closedCount(): number {
    const { totalBatches, checkpointEveryBatches, incremental } = this.start;
    return incremental ? Math.ceil(totalBatches / checkpointEveryBatches) : 1;
  }
}
