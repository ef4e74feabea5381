import { createHash, type Hash } from 'node:crypto';
import { batchIdOf } from './batch-id.js';
import type { PlannedBatch } from './source-plan.js';

/** A batch before it has its place in the plan. */
export type BatchDraft = Omit<PlannedBatch, 'ordinal'>;

const NEWLINE = 0x0a;

/**
 * Most bytes a fresh batch grows to: a batch is also cut at the first line end at or past this
 * many bytes, so a large `batchLines` with long lines does not make batches that a map thread
 * holds as one string of hundreds of megabytes. Word count's lines are ~50 bytes: with the default
 * of 50,000 lines a batch is ~2.5 MB and this cap does not apply.
 */
export const MAX_BATCH_BYTES = 32 * 1024 * 1024;

/**
 * Cuts a byte stream into batches of `batchLines` lines (or fewer, when they reach
 * {@link MAX_BATCH_BYTES}), hashing each batch as its bytes pass.
 * Fed chunk by chunk; keeps only the running hash and counters, never the bytes.
 */
export class BatchCutter {
  private start = 0;
  private firstLine = 1;
  private lines = 0;
  private position = 0;
  private endsWithNewline = true;
  private hash: Hash = createHash('sha256');

  constructor(
    private readonly path: string,
    private readonly batchLines: number,
  ) {}

  /** Starts a fresh batch at `offset` whose first line is line `firstLine`; forgets what was fed. */
  restartAt(offset: number, firstLine: number): void {
    this.start = offset;
    this.position = offset;
    this.firstLine = firstLine;
    this.lines = 0;
    this.endsWithNewline = true;
    this.hash = createHash('sha256');
  }

  /** Feeds the bytes at `offset` (must follow what was fed before); full batches go to `emit`. */
  feed(bytes: Buffer, offset: number, emit: (batch: BatchDraft) => void): void {
    if (bytes.length === 0) return;
    let from = 0;
    let at = bytes.indexOf(NEWLINE);
    while (at !== -1) {
      this.lines++;
      if (this.lines === this.batchLines || offset + at + 1 - this.start >= MAX_BATCH_BYTES) {
        this.hash.update(bytes.subarray(from, at + 1));
        emit(this.cut(offset + at + 1));
        from = at + 1;
      }
      at = bytes.indexOf(NEWLINE, at + 1);
    }
    if (from < bytes.length) this.hash.update(bytes.subarray(from));
    this.position = offset + bytes.length;
    this.endsWithNewline = bytes[bytes.length - 1] === NEWLINE;
  }

  /** At the end of the source: cuts the last, shorter batch if any bytes are pending. */
  finish(emit: (batch: BatchDraft) => void): void {
    if (this.position === this.start) return;
    if (!this.endsWithNewline) this.lines++;
    emit(this.cut(this.position));
  }

  private cut(endOffset: number): BatchDraft {
    const contentHash = this.hash.digest('hex');
    const draft: BatchDraft = {
      batchId: batchIdOf(this.path, this.start, contentHash),
      startOffset: this.start,
      endOffset,
      firstLine: this.firstLine,
      lines: this.lines,
      contentHash,
    };
    this.restartAt(endOffset, this.firstLine + this.lines);
    return draft;
  }
}
