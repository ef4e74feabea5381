/**
 * HyperLogLog for approxDistinct: the hash of an item and the byte encoding of a sketch.
 *
 * Hash: 64 bits from two seeded 32-bit MurmurHash3 of the item's canonical form. The top
 * `precision` bits pick a register; the rank is one more than the number of leading zeros of the
 * remaining 64 − precision bits, so registers hold 1…65 − precision (0 = empty).
 *
 * Encoding (a Uint8Array, MessagePack `bin`): byte 0 is the precision, byte 1 the format.
 * - dense (format 0): one byte per register, 2^precision bytes;
 * - sparse (format 1): 4 bytes per set register, its index in 3 bytes big-endian then its value,
 *   sorted by index.
 * Sparse is used exactly while fewer than a quarter of the registers are set, so the encoding is a
 * function of the registers alone: any grouping of the same items gives the same bytes.
 *
 * Inside the accumulator a set register is a *packed entry*, index × 64 + rank: sorting packed
 * entries sorts by index, then rank.
 */
import { ErrorCode, MrmError } from '../errors.js';
import type { CanonicalKey } from '../key.js';
import { hashKey } from '../partition.js';

/** Smallest precision accepted (16 registers). */
export const MIN_PRECISION = 4;
/** Largest precision accepted (262144 registers: indexes fit the sparse format's 3 bytes). */
export const MAX_PRECISION = 18;
/** Format byte of a dense sketch. */
export const DENSE = 0;
/** Format byte of a sparse sketch. */
export const SPARSE = 1;
/** Bytes before the registers or entries. */
export const HEADER_BYTES = 2;
/** Ranks are below 64 (at most 65 − MIN_PRECISION): packed entries are index × 64 + rank. */
export const RANK_SPAN = 64;
/** Seeds of the two halves of the 64-bit item hash (not 0: partitioning hashes keys with salt 0). */
const SEED_HIGH = 0x9747b28c;
const SEED_LOW = 0x5bd1e995;

/** The packed entry (index × 64 + rank) an item offers. */
export function entryOf(canonical: CanonicalKey, precision: number): number {
  const high = hashKey(canonical, SEED_HIGH);
  const rest = (high << precision) >>> 0;
  const rank = rest !== 0 ? Math.clz32(rest) + 1 : 32 - precision + Math.clz32(hashKey(canonical, SEED_LOW)) + 1;
  return (high >>> (32 - precision)) * RANK_SPAN + rank;
}

/** Register index of a packed entry. */
export const indexOf = (entry: number): number => Math.floor(entry / RANK_SPAN);
/** Rank of a packed entry. */
export const rankOf = (entry: number): number => entry % RANK_SPAN;

/** Number of entries of a sparse sketch. */
export const sparseCount = (bytes: Uint8Array): number => (bytes.length - HEADER_BYTES) / 4;

/** Register index of the `k`-th entry of a sparse sketch. */
export function sparseIndexAt(bytes: Uint8Array, k: number): number {
  const at = HEADER_BYTES + 4 * k;
  return ((bytes[at] as number) << 16) | ((bytes[at + 1] as number) << 8) | (bytes[at + 2] as number);
}

/** The `k`-th entry of a sparse sketch, packed. */
export const sparseEntryAt = (bytes: Uint8Array, k: number): number =>
  sparseIndexAt(bytes, k) * RANK_SPAN + (bytes[HEADER_BYTES + 4 * k + 3] as number);

/** Writes a packed entry at byte offset `at` of a sparse sketch. */
export function writeEntry(out: Uint8Array, at: number, entry: number): void {
  const index = indexOf(entry);
  out[at] = index >>> 16;
  out[at + 1] = (index >>> 8) & 0xff;
  out[at + 2] = index & 0xff;
  out[at + 3] = rankOf(entry);
}

/** An empty sketch body with its header written. */
export function newSketch(precision: number, format: number, bodyBytes: number): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + bodyBytes);
  out[0] = precision;
  out[1] = format;
  return out;
}

/** The format of an encoded sketch after checking it was made with `precision`; `E_STATE` if not. */
export function checkHeader(bytes: Uint8Array, precision: number): number {
  const [p, format] = bytes;
  if (p !== precision) {
    throw new MrmError(
      ErrorCode.State,
      `approxDistinct: a sketch of precision ${String(p)} cannot be merged into one of precision ${precision} (was the job's precision changed?)`,
    );
  }
  const m = 2 ** precision;
  const body = bytes.length - HEADER_BYTES;
  if ((format === DENSE && body === m) || (format === SPARSE && body % 4 === 0 && body < m)) return format;
  throw new MrmError(ErrorCode.State, `approxDistinct: a sketch of ${bytes.length} bytes is corrupt`);
}
