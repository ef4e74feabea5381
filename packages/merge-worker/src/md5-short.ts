/**
 * MD5 of a short message (at most {@link MD5_SHORT_MAX_BYTES} bytes: one 64-byte block), in
 * plain JavaScript, as four 32-bit words. It exists for the state digest, which hashes one key
 * and value after another: word count's entries are ~10–20 bytes, and for such a message the
 * per-call cost of `crypto.hash` (a trip into C++ and a fresh Buffer) is five times the hashing
 * itself (docs/decisions/0041-digest-and-batch-size.md). Longer messages
 * go to `node:crypto` (see digest-tracker.ts); both give the same bits, which the tests check
 * against `node:crypto` for every length up to the limit.
 *
 * ```ts
 * const out = new Int32Array(4);
 * md5Short(bytes, length, out); // out[0] = first 4 digest bytes, big-endian
 * ```
 */

/** Longest message that fits one block with its padding (0x80 and the 8-byte length). */
export const MD5_SHORT_MAX_BYTES = 55;

/** The sine constants of RFC 1321, section 3.4. */
const K = Int32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);
/** Shift amounts per round, four per round repeated. */
const S = Int32Array.of(7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21);
const A0 = 0x67452301;
const B0 = 0xefcdab89 | 0;
const C0 = 0x98badcfe | 0;
const D0 = 0x10325476;

/** The block's words (little-endian, as MD5 reads them), reused call after call. */
const words = new Int32Array(16);

/**
 * Writes the MD5 of `bytes[0, length)` (`length` ≤ {@link MD5_SHORT_MAX_BYTES}) to `out` as four
 * 32-bit words, most significant first: `out[0]` holds digest bytes 0–3 read big-endian. Signed
 * words (read them with `>>> 0` for the unsigned value) stay small integers when stored in objects.
 */
export function md5Short(bytes: Uint8Array, length: number, out: Int32Array): void {
  if (!(length >= 0 && length <= MD5_SHORT_MAX_BYTES)) throw new RangeError('md5Short takes at most 55 bytes');
  // The padded block: the message, 0x80, zeros, the length in bits (little-endian, 64 bits).
  words.fill(0);
  for (let i = 0; i < length; i++)
    words[i >>> 2] = (words[i >>> 2] as number) | ((bytes[i] as number) << ((i & 3) << 3));
  words[length >>> 2] = (words[length >>> 2] as number) | (0x80 << ((length & 3) << 3));
  words[14] = length * 8;
  let a = A0;
  let b = B0;
  let c = C0;
  let d = D0;
  // The four rounds of RFC 1321, one loop each so that none branches on the round.
  for (let i = 0; i < 16; i++) {
    const f = (((b & c) | (~b & d)) + a + (K[i] as number) + (words[i] as number)) | 0;
    a = d;
    d = c;
    c = b;
    b = (b + rotate(f, S[i & 3] as number)) | 0;
  }
  for (let i = 16; i < 32; i++) {
    const f = (((d & b) | (~d & c)) + a + (K[i] as number) + (words[(5 * i + 1) & 15] as number)) | 0;
    a = d;
    d = c;
    c = b;
    b = (b + rotate(f, S[4 + (i & 3)] as number)) | 0;
  }
  for (let i = 32; i < 48; i++) {
    const f = ((b ^ c ^ d) + a + (K[i] as number) + (words[(3 * i + 5) & 15] as number)) | 0;
    a = d;
    d = c;
    c = b;
    b = (b + rotate(f, S[8 + (i & 3)] as number)) | 0;
  }
  for (let i = 48; i < 64; i++) {
    const f = ((c ^ (b | ~d)) + a + (K[i] as number) + (words[(7 * i) & 15] as number)) | 0;
    a = d;
    d = c;
    c = b;
    b = (b + rotate(f, S[12 + (i & 3)] as number)) | 0;
  }
  out[0] = swap((a + A0) | 0);
  out[1] = swap((b + B0) | 0);
  out[2] = swap((c + C0) | 0);
  out[3] = swap((d + D0) | 0);
}

function rotate(x: number, by: number): number {
  return (x << by) | (x >>> (32 - by));
}

/** A little-endian word read big-endian. */
function swap(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}
