import type { InputFormat } from '@mrm/core';
import type { FileStamp } from './file-stamp.js';
import type { PrefixHashState } from './prefix-hash.js';

/** One micro-batch of a source: a run of whole lines, named by its content. */
export interface PlannedBatch {
  /** Position in the plan (0, 1, 2…). */
  readonly ordinal: number;
  /** Stable id (see `batchIdOf`). */
  readonly batchId: string;
  /** Offset of the first byte, in decompressed bytes. */
  readonly startOffset: number;
  /** Offset after the last byte (exclusive), in decompressed bytes. */
  readonly endOffset: number;
  /** 1-based line number of the batch's first line in the source. */
  readonly firstLine: number;
  /** Lines in the batch (a final line without '\n' counts). */
  readonly lines: number;
  /** sha256 of the batch's bytes, hex; for a folded entry its {@link PrefixHash} digest. */
  readonly contentHash: string;
  /**
   * Present on a **folded** entry only: the first entry of a plan whose committed batches were
   * folded into one (docs/decisions/0039). Its `contentHash` is then a prefix hash of its bytes,
   * extendable from this state. A folded entry is never a batch to map: it stands for batches
   * that were merged, and is only ever planned away.
   */
  readonly folded?: PrefixHashState;
}

/**
 * How one source is cut into batches. Stored by the coordinator with the job's state and given
 * back to `planSource` as `previous` on the next run, which is what keeps batch ids stable.
 */
export interface SourcePlan {
  /** Absolute real path where the planner read it. */
  readonly path: string;
  /** Identity of the source (`SourceFile.identity`, else `path`). */
  readonly identity: string;
  /** Where map workers read it (`SourceFile.location`, else `path`). */
  readonly location: string;
  /** Path as the user gave it. */
  readonly displayPath: string;
  readonly gzip: boolean;
  readonly format: InputFormat;
  /** Decompressed bytes planned (the end offset of the last batch; 0 for an empty source). */
  readonly size: number;
  /** Lines in the source: the line number of its last line (0 for an empty source). */
  readonly lines: number;
  /** Lines per fresh batch in this plan (reused batches keep the boundaries they were cut with). */
  readonly batchLines: number;
  /** Contiguous batches covering bytes 0..size in order. */
  readonly batches: readonly PlannedBatch[];
  /**
   * The file's stamp when it was read for this plan, kept only when it can vouch for the content
   * (not racy, unchanged while it was read): the next plan of an identical stamp reads nothing.
   */
  readonly stamp?: FileStamp;
}
