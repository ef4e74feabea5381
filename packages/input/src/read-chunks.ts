/**
 * The one way this package reads a source: decompressed bytes in large chunks, from an offset to
 * an optional end, with bounded memory whatever the file size.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { ErrorCode, errorMessage, MrmError } from '@mrm/core';
import { throwIfAborted } from './abort.js';
import { isNotFound, missing, unreadable } from './source-file.js';

/** Bytes per read: large enough that per-call costs vanish next to hashing and line counting. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/** Compressed bytes per read of a gzip file (inflate turns them into several times more). */
const GZIP_READ_BYTES = 1024 * 1024;

/** A piece of a source's decompressed bytes. */
export interface Chunk {
  /** Offset of `bytes[0]` in the decompressed source. */
  readonly offset: number;
  /** Valid only until the consumer asks for the next chunk: the buffer is reused. */
  readonly bytes: Buffer;
}

/** Where to read and what to name in errors. */
export interface ReadChunksOptions {
  readonly path: string;
  readonly displayPath: string;
  readonly gzip: boolean;
  /** First decompressed byte to yield (default 0). */
  readonly startOffset?: number;
  /** Decompressed byte to stop before (default: end of the source). */
  readonly endOffset?: number;
  readonly signal?: AbortSignal;
}

/** Yields the decompressed bytes of a source between two offsets, in order, in chunks. */
export function readChunks(options: ReadChunksOptions): AsyncGenerator<Chunk> {
  return options.gzip ? readGzipChunks(options) : readPlainChunks(options);
}

/** Opens a source for reading; failures are `E_INPUT_MISSING` (does not exist, or not readable). */
export async function openSource(options: Pick<ReadChunksOptions, 'path' | 'displayPath'>): Promise<FileHandle> {
  try {
    return await open(options.path, 'r');
  } catch (e) {
    throw isNotFound(e) ? missing(options.displayPath, e) : unreadable(options.displayPath, e);
  }
}

/**
 * Positional reads into two buffers used in turn: while the consumer hashes or decodes one, the
 * next read is already running in the thread pool, so disk and CPU overlap.
 */
async function* readPlainChunks(options: ReadChunksOptions): AsyncGenerator<Chunk> {
  const start = options.startOffset ?? 0;
  const end = options.endOffset ?? Number.POSITIVE_INFINITY;
  const what = `reading input '${options.displayPath}'`;
  const handle = await openSource(options);
  const size = Math.max(1, Math.min(CHUNK_BYTES, end - start));
  const buffers: [Buffer, Buffer] = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let turn: 0 | 1 = 0;
  let position = start;
  const readInto = (buffer: Buffer, at: number) =>
    handle.read(buffer, 0, Math.min(buffer.length, end - at), at).catch((e: unknown) => {
      throw unreadable(options.displayPath, e);
    });
  let pending: ReturnType<typeof readInto> | undefined = position < end ? readInto(buffers[0], position) : undefined;
  try {
    while (pending !== undefined) {
      const { bytesRead } = await pending;
      pending = undefined;
      if (bytesRead === 0) return;
      throwIfAborted(options.signal, what);
      const buffer = buffers[turn];
      const offset = position;
      position += bytesRead;
      turn = turn === 0 ? 1 : 0;
      if (position < end) pending = readInto(buffers[turn], position);
      yield { offset, bytes: buffer.subarray(0, bytesRead) };
    }
  } finally {
    // Never close the handle under a read still in flight (early return or error).
    await pending?.catch(() => undefined);
    await handle.close();
  }
}

/** Inflates from the start of the file (gzip has no random access), skipping to `startOffset`. */
async function* readGzipChunks(options: ReadChunksOptions): AsyncGenerator<Chunk> {
  const start = options.startOffset ?? 0;
  const end = options.endOffset ?? Number.POSITIVE_INFINITY;
  const what = `reading input '${options.displayPath}'`;
  const handle = await openSource(options);
  let size: number;
  try {
    size = (await handle.stat()).size;
  } catch (e) {
    await handle.close();
    throw unreadable(options.displayPath, e);
  }
  // An empty .gz is an empty source; inflate would call it a truncated stream.
  if (size === 0) {
    await handle.close();
    return;
  }
  const input = createReadStream('', { fd: handle, highWaterMark: GZIP_READ_BYTES, autoClose: true });
  const gunzip = createGunzip({ chunkSize: CHUNK_BYTES / 4 });
  input.on('error', (e) => gunzip.destroy(unreadable(options.displayPath, e)));
  input.pipe(gunzip);
  let offset = 0;
  try {
    for await (const piece of gunzip as AsyncIterable<Buffer>) {
      throwIfAborted(options.signal, what);
      const pieceEnd = offset + piece.length;
      if (pieceEnd > start) {
        const from = Math.max(0, start - offset);
        const to = Math.min(piece.length, end - offset);
        if (to > from) yield { offset: offset + from, bytes: piece.subarray(from, to) };
      }
      offset = pieceEnd;
      if (offset >= end) return;
    }
  } catch (e) {
    if (e instanceof MrmError) throw e;
    throw new MrmError(
      ErrorCode.InputMalformed,
      `input '${options.displayPath}' is not valid gzip: ${errorMessage(e)}`,
      {
        cause: e,
        details: { source: options.displayPath },
      },
    );
  } finally {
    input.destroy();
    gunzip.destroy();
  }
}
