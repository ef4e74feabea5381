/**
 * Reads the batches of a split of a plain (not gzip) file: each batch's bytes with positional
 * reads straight into one buffer that the thread reuses from batch to batch, then decoded once.
 * Reading in fixed chunks instead copied every batch that spanned two chunks into a fresh buffer
 * of its size and allocated two chunk buffers per task: ~13 MB of fresh memory per batch of
 * ~5 MB, paid in page faults and copies (docs/benchmarks.md, perf, "Session 8").
 */
import type { SplitRef } from '@mrm/core';
import { ErrorCode, MrmError } from '@mrm/core';
import { throwIfAborted } from './abort.js';
import { openSource } from './read-chunks.js';
import type { BatchText } from './read-split-batches.js';
import { endsEarly, unreadable } from './source-file.js';

/**
 * Largest buffer kept for the next batch: a batch is cut at 32 MiB unless one line is longer
 * (batch-cutter.ts), so this keeps any ordinary batch's buffer and never one of an outsized line.
 */
export const KEPT_BATCH_BUFFER_BYTES = 64 * 1024 * 1024;

/** A buffer no batch is reading into, for the next batch of this thread (tasks may interleave). */
let spare: Buffer | undefined;

/** A buffer of at least `length` bytes that no other read uses until {@link giveBack}. */
function take(length: number): Buffer {
  const own = spare !== undefined && spare.length >= length ? spare : Buffer.allocUnsafeSlow(length);
  if (own === spare) spare = undefined;
  return own;
}

/** Keeps `buffer` for the next batch when it is larger than the spare kept now and not outsized. */
function giveBack(buffer: Buffer): void {
  if (buffer.length <= KEPT_BATCH_BUFFER_BYTES && (spare === undefined || spare.length < buffer.length)) {
    spare = buffer;
  }
}

/** Yields the batches of plain-file `split` in order (see readSplitBatches for the errors). */
export async function* readPlainBatches(split: SplitRef, signal?: AbortSignal): AsyncGenerator<BatchText> {
  const what = `reading input '${split.displayPath}'`;
  const handle = await openSource(split);
  try {
    let batchStart = split.startOffset;
    let firstLine = split.firstLine;
    for (const slice of split.batches) {
      const length = slice.endOffset - batchStart;
      if (!(length > 0)) {
        throw new MrmError(
          ErrorCode.Internal,
          `split of '${split.displayPath}' has a batch that ends before it starts`,
        );
      }
      throwIfAborted(signal, what);
      const buffer = take(length);
      let text: string;
      try {
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, batchStart + filled).catch((e) => {
            throw unreadable(split.displayPath, e);
          });
          if (bytesRead === 0) {
            throw endsEarly(split.displayPath, slice.endOffset);
          }
          filled += bytesRead;
        }
        text = buffer.toString('utf8', 0, length);
      } finally {
        giveBack(buffer);
      }
      yield { slice, firstLine, text };
      batchStart = slice.endOffset;
      firstLine += slice.lines;
    }
  } finally {
    await handle.close();
  }
}
