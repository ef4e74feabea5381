/**
 * Checkpoint copies are stored compressed (decisions/0054). A copy's MessagePack bytes (core's
 * `encodeCheckpointCopy`) go to the blob store as they are, or — when they are at least
 * {@link MIN_PACKED_INPUT_BYTES} long and brotli saves at least {@link MIN_SAVING} of them — as a
 * *packed copy*: {@link PACKED_MARK}, a codec byte, the unpacked length (6 bytes, big-endian),
 * then the brotli stream. MessagePack never uses the byte 0xc1, and an encoded copy always starts
 * with a map header, so the first byte tells the two forms apart: copies written before this
 * change, and small or incompressible ones written after it, are read exactly as before.
 *
 * Compression and decompression run on libuv's thread pool (zlib's asynchronous calls), so the
 * merge worker's event loop goes on merging meanwhile.
 */
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants } from 'node:zlib';
import { ErrorCode, MrmError } from '@mrm/core';

/** First byte of a packed copy: a byte MessagePack never uses (an encoded copy starts with a map header). */
export const PACKED_MARK = 0xc1;
/** Second byte of a packed copy: brotli, the only codec so far. */
const CODEC_BROTLI = 1;
/** Mark, codec, 6 bytes of unpacked length. */
const HEADER_BYTES = 8;
/**
 * Copies shorter than this go as they are: a few KiB (a version per batch of a small job) gain
 * little in bytes, and the thread pool's round trip would lengthen the commit path (issue 14).
 */
export const MIN_PACKED_INPUT_BYTES = 8 * 1024;
/**
 * A copy is stored packed only when that saves at least this share of its bytes. Below it, on a
 * machine that also runs nats-server, compressing costs about the CPU that storing the difference
 * would (decisions/0054); above it (logs, records, repeated text) it saves CPU and bytes.
 */
export const MIN_SAVING = 0.5;
/**
 * Brotli's quality, the lowest (0–11): on copies of book-text values it keeps ~0.46 of the bytes
 * for ~6 ms of CPU per MB, where quality 1 keeps 0.41 for ~8 ms and deflate at level 1 0.43 for
 * ~13 ms (decisions/0054).
 */
const BROTLI_QUALITY = 0;

/** Bytes of a large copy compressed first to see whether it compresses at all. */
const SAMPLE_BYTES = 64 * 1024;

const compress = promisify(brotliCompress);
const decompress = promisify(brotliDecompress);

/**
 * The bytes to store for a copy encoded as `encoded`: packed when that pays (see the module's
 * comment), else `encoded` itself. `encoded` is not changed.
 */
export async function packCopy(encoded: Uint8Array): Promise<Uint8Array> {
  if (encoded.byteLength < MIN_PACKED_INPUT_BYTES) return encoded;
  // Incompressible values (already compressed, random) are found on a sample first, so a large
  // copy of them costs one sample's compression, not its own. The sample is the copy's end: its
  // start holds the batch ids, whose text compresses whatever the values do.
  if (encoded.byteLength > 2 * SAMPLE_BYTES) {
    const sample = encoded.subarray(encoded.byteLength - SAMPLE_BYTES);
    if (!pays(sample.byteLength, (await brotli(sample)).byteLength)) return encoded;
  }
  const packed = await brotli(encoded);
  if (!pays(encoded.byteLength, HEADER_BYTES + packed.byteLength)) return encoded;
  const out = new Uint8Array(HEADER_BYTES + packed.byteLength);
  out[0] = PACKED_MARK;
  out[1] = CODEC_BROTLI;
  writeLength(out, encoded.byteLength);
  out.set(packed, HEADER_BYTES);
  return out;
}

function brotli(data: Uint8Array): Promise<Buffer> {
  return compress(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.byteLength,
    },
  });
}

/** True when `packed` bytes instead of `raw` save at least {@link MIN_SAVING}. */
const pays = (raw: number, packed: number): boolean => packed <= (1 - MIN_SAVING) * raw;

/**
 * The encoded copy of stored bytes `stored` (blob `name`): unpacked when packed, else `stored`
 * itself. Throws `E_STATE` naming the blob when a packed copy is damaged or of an unknown codec.
 */
export async function unpackCopy(stored: Uint8Array, name: string): Promise<Uint8Array> {
  if (stored[0] !== PACKED_MARK) return stored;
  if (stored.byteLength < HEADER_BYTES || stored[1] !== CODEC_BROTLI) {
    throw new MrmError(
      ErrorCode.State,
      `checkpoint copy ${name} is packed with codec ${stored[1] ?? '(none)'}, which this build does not read`,
    );
  }
  const length = readLength(stored);
  let out: Buffer;
  try {
    // The declared length bounds the output: a damaged stream cannot make it grow past it.
    out = await decompress(stored.subarray(HEADER_BYTES), { maxOutputLength: Math.max(1, length) });
  } catch (e) {
    throw new MrmError(ErrorCode.State, `checkpoint copy ${name} is not readable (its compressed data)`, { cause: e });
  }
  if (out.byteLength !== length) {
    throw new MrmError(
      ErrorCode.State,
      `checkpoint copy ${name} unpacks to ${out.byteLength} bytes where its header says ${length}`,
    );
  }
  return out;
}

/** Writes `n` (below 2^48) into bytes 2–7, big-endian. */
function writeLength(out: Uint8Array, n: number): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint16(2, Math.floor(n / 2 ** 32));
  view.setUint32(4, n >>> 0);
}

function readLength(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint16(2) * 2 ** 32 + view.getUint32(4);
}
