/**
 * Reads a split's batches inside a map worker: exactly each batch's bytes, decoded once.
 *
 * ```ts
 * for await (const { slice, firstLine, text } of readSplitBatches(task.split, signal)) {
 *   forEachRecord(text, task.split.format, firstLine, task.split.displayPath, (record, line) => { … });
 * }
 * ```
 */
import type { BatchSlice, SplitRef } from '@mrm/core';
import { ErrorCode, MrmError } from '@mrm/core';
import { readChunks } from './read-chunks.js';
import { readPlainBatches } from './read-plain-batches.js';
import { endsEarly } from './source-file.js';

/** One batch of a split, as text. */
export interface BatchText {
  readonly slice: BatchSlice;
  /** 1-based line number of the batch's first line. */
  readonly firstLine: number;
  /** The batch's bytes decoded as UTF-8. */
  readonly text: string;
}

/**
 * Yields the batches of `split` in order. Plain files are read batch by batch with positional
 * reads into a buffer the thread reuses (read-plain-batches.ts); gzip files are inflated from the
 * start and the bytes before `startOffset` skipped. Holds at most one batch (plus one read chunk,
 * or the reused buffer) in memory.
 *
 * @throws MrmError `E_INPUT_MISSING` when the file is gone or now shorter than the split
 *   (it changed after planning); `E_INPUT_MALFORMED` for broken gzip; `E_ABORTED` on `signal`.
 */
export async function* readSplitBatches(split: SplitRef, signal?: AbortSignal): AsyncGenerator<BatchText> {
  const last = split.batches[split.batches.length - 1];
  if (last === undefined) return;
  if (!split.gzip) {
    yield* readPlainBatches(split, signal);
    return;
  }
  const chunks = readChunks({
    path: split.path,
    displayPath: split.displayPath,
    gzip: split.gzip,
    startOffset: split.startOffset,
    endOffset: last.endOffset,
    signal,
  });
  let index = 0;
  let batchStart = split.startOffset;
  let firstLine = split.firstLine;
  // Bytes of a batch that spans chunks are gathered here; a batch inside one chunk is decoded in place.
  let gathered: Buffer | undefined;
  let filled = 0;
  for await (const { bytes } of chunks) {
    let at = 0;
    while (at < bytes.length) {
      const slice = split.batches[index];
      if (slice === undefined) break;
      const length = slice.endOffset - batchStart;
      if (!(length > 0)) {
        throw new MrmError(
          ErrorCode.Internal,
          `split of '${split.displayPath}' has a batch that ends before it starts`,
        );
      }
      let text: string;
      if (filled === 0 && bytes.length - at >= length) {
        text = bytes.toString('utf8', at, at + length);
        at += length;
      } else {
        gathered ??= Buffer.allocUnsafe(length);
        const copied = bytes.copy(gathered, filled, at, Math.min(bytes.length, at + length - filled));
        filled += copied;
        at += copied;
        if (filled < length) continue;
        text = gathered.toString('utf8');
        gathered = undefined;
        filled = 0;
      }
      yield { slice, firstLine, text };
      index++;
      batchStart = slice.endOffset;
      firstLine += slice.lines;
    }
  }
  if (index < split.batches.length) {
    throw endsEarly(split.displayPath, last.endOffset);
  }
}
