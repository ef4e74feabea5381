/**
 * Writing a result as JSON Lines: one line per key, exactly `{"key":<key>,"value":<value>}`,
 * nothing else. Files are written whole or not at all (`<out>.tmp`, then rename); `-` is stdout;
 * a device or FIFO (`/dev/null`) is written into as it is.
 *
 * ```ts
 * const lines = await writeJsonLines(readResult(store, 'wordcount', { version, partitions }), 'out/wc.jsonl');
 * ```
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { ErrorCode, errorMessage, isMrmError, MrmError } from '@mrm/core';
import type { ResultEntry } from './result-reader.js';

/** Lines are gathered into chunks of about this many characters before a write. */
const CHUNK_CHARS = 64 * 1024;

/**
 * A value as plain JSON data, for values JSON has no word for:
 * - `undefined` (also functions and symbols) → `null`, in objects too (a key is never dropped);
 * - `bigint` → a number when it is a safe integer, else its decimal digits as a string;
 * - `Uint8Array` (and `Buffer`) → a base64 string: one compact string rather than a long array of
 *   byte numbers (decode with `Buffer.from(s, 'base64')`); other typed arrays → arrays of numbers;
 * - `Date` → its ISO text (`null` when invalid); non-finite numbers → `null`, as `JSON.stringify`;
 * - `Map` → an object keyed by `String(key)`; `Set` → an array;
 * - other objects with `toJSON()` → what it returns; plain objects and arrays → converted deeply.
 * Throws {@link MrmError} `E_BAD_VALUE` for a value that contains itself.
 */
export function toJsonValue(value: unknown): unknown {
  return convert(value, new Set());
}

function convert(value: unknown, ancestors: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    case 'object':
      return value === null ? null : convertObject(value, ancestors);
    default:
      return null;
  }
}

function convertObject(value: object, ancestors: Set<object>): unknown {
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (ancestors.has(value)) throw new MrmError(ErrorCode.BadValue, 'a result value contains itself (a cycle)');
  ancestors.add(value);
  try {
    if (Array.isArray(value) || value instanceof Set) return Array.from(value, (v) => convert(v, ancestors));
    if (ArrayBuffer.isView(value))
      return Array.from(value as unknown as ArrayLike<unknown>, (v) => convert(v, ancestors));
    if (value instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of value) out[String(k)] = convert(v, ancestors);
      return out;
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return convert(toJSON.call(value), ancestors);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = convert(v, ancestors);
    return out;
  } finally {
    ancestors.delete(value);
  }
}

/** One result line, with its newline, as `mrm query` prints it. The key is already canonical JSON text. */
export function resultLine(entry: ResultEntry): string {
  try {
    return `{"key":${entry.key},"value":${JSON.stringify(toJsonValue(entry.value))}}\n`;
  } catch (error) {
    throw new MrmError(
      ErrorCode.BadValue,
      `the value of key ${entry.key} cannot be written as JSON: ${errorMessage(error)}`,
      {
        cause: error,
      },
    );
  }
}

/** Resolves when the stream wants more, rejects when it fails or closes first. */
async function drained(stream: Writable): Promise<void> {
  const ac = new AbortController();
  try {
    await Promise.race([
      once(stream, 'drain', { signal: ac.signal }),
      once(stream, 'close', { signal: ac.signal }).then(() => {
        throw new Error('the output closed before the result was written');
      }),
    ]);
  } finally {
    ac.abort();
  }
}

/** Marks an EPIPE on stdout: its reader went away (`mrm query --out - | head`). */
class ReaderGone extends Error {}

/**
 * Writes every entry's line to the stream, in chunks, waiting for `drain` when its buffer is
 * full. Does not end the stream. Returns the number of lines handed to the stream; with
 * `quietOnEpipe`, a reader that goes away stops the writing instead of failing it.
 */
async function pump(entries: AsyncIterable<ResultEntry>, stream: Writable, quietOnEpipe: boolean): Promise<number> {
  let failure: unknown;
  const onError = (error: unknown): void => {
    failure ??= quietOnEpipe && (error as { code?: unknown }).code === 'EPIPE' ? new ReaderGone() : error;
  };
  stream.on('error', onError);
  const write = async (chunk: string): Promise<void> => {
    if (failure === undefined && !stream.write(chunk)) {
      try {
        await drained(stream);
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  };
  let written = 0;
  let pending = 0;
  let chunk = '';
  try {
    for await (const entry of entries) {
      chunk += resultLine(entry);
      pending++;
      if (chunk.length >= CHUNK_CHARS) {
        await write(chunk);
        written += pending;
        pending = 0;
        chunk = '';
      }
    }
    if (chunk.length > 0) await write(chunk);
    return written + pending;
  } catch (error) {
    if (error instanceof ReaderGone) return written;
    throw error;
  } finally {
    stream.off('error', onError);
  }
}

/** Writes a result file whole: `<out>.tmp`, flushed to disk, then renamed over `out`. */
async function writeFileAtomically(entries: AsyncIterable<ResultEntry>, out: string): Promise<number> {
  await mkdir(path.dirname(path.resolve(out)), { recursive: true });
  const temp = `${out}.tmp`;
  const stream = createWriteStream(temp, { flush: true });
  try {
    const lines = await pump(entries, stream, false);
    stream.end();
    await once(stream, 'close');
    await rename(temp, out);
    return lines;
  } catch (error) {
    stream.destroy();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** True when `out` exists and is not a regular file or a folder (a device, a FIFO, a socket). */
async function isSpecialFile(out: string): Promise<boolean> {
  const info = await stat(out).catch(() => undefined);
  return info !== undefined && !info.isFile() && !info.isDirectory();
}

/** Streams the entries into a device or FIFO as it is (no temporary file, no rename). */
async function writeIntoSpecialFile(entries: AsyncIterable<ResultEntry>, out: string): Promise<number> {
  const stream = createWriteStream(out, { flags: 'a' });
  try {
    const lines = await pump(entries, stream, false);
    stream.end();
    await once(stream, 'close');
    return lines;
  } catch (error) {
    stream.destroy();
    throw error;
  }
}

/**
 * Writes entries as JSON Lines to `out`: a file path (parent folders created, the file replaced
 * only once complete), `-` for stdout, or a writable stream (left open). Each line is exactly
 * `{"key":<canonical key>,"value":<JSON of value>}` (see {@link toJsonValue}). Returns the
 * number of lines. On stdout, a reader that goes away early (EPIPE) ends the writing quietly.
 * Throws the reader's errors as they are; a file that cannot be written is `E_BAD_OPTION`.
 */
export async function writeJsonLines(entries: AsyncIterable<ResultEntry>, out: string | Writable): Promise<number> {
  if (typeof out !== 'string') return pump(entries, out, false);
  if (out === '-') return pump(entries, process.stdout, true);
  try {
    // `/dev/null`, a FIFO, a terminal: written into as they are. Renaming a file over them would
    // replace the device itself (as root, `--out /dev/null` broke the machine's /dev/null).
    if (await isSpecialFile(out)) return await writeIntoSpecialFile(entries, out);
    return await writeFileAtomically(entries, out);
  } catch (error) {
    if (isMrmError(error)) throw error;
    throw new MrmError(ErrorCode.BadOption, `cannot write the result to '${out}': ${errorMessage(error)}`, {
      cause: error,
    });
  }
}
