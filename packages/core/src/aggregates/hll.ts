/**
 * HyperLogLog registers for approxDistinct: the hash of an item, a register accumulator, the byte
 * encoding of the state and the cardinality estimate.
 *
 * Hash: 64 bits from two seeded 32-bit MurmurHash3 of the item's canonical form. The top
 * `precision` bits pick a register; the rank is one more than the number of leading zeros of the
 * remaining 64 − precision bits, so registers hold 1…65 − precision (0 = empty).
 *
 * Encoding (a Uint8Array, MessagePack `bin`): byte 0 is the precision, byte 1 the format.
 * - dense (format 0): one byte per register, 2^precision bytes;
 * - sparse (format 1): 4 bytes per non-empty register, register index in 3 bytes big-endian then
 *   its value, sorted by index.
 * Sparse is used exactly while fewer than a quarter of the registers are set, so the encoding is
 * a function of the set of items alone: any grouping of the same items gives the same bytes.
 *
 * Estimate: Ertl's improved estimator ("New cardinality estimation algorithms for HyperLogLog
 * sketches", 2017), which corrects the raw estimate's bias at small and mid cardinalities (where
 * the classic estimator needs linear counting and empirical bias tables) from the register
 * histogram alone; with 64-bit hashes no large-range correction is needed.
 */
import { ErrorCode, MrmError } from '../errors.js';
import type { CanonicalKey } from '../key.js';
import { hashKey } from '../partition.js';

/** Smallest precision accepted (16 registers). */
export const MIN_PRECISION = 4;
/** Largest precision accepted (262144 registers: indexes fit the sparse format's 3 bytes). */
export const MAX_PRECISION = 18;

const DENSE = 0;
const SPARSE = 1;
const HEADER_BYTES = 2;
/** Ranks are below 64 (at most 65 − MIN_PRECISION): packed entries are index × 64 + rank. */
const RANK_SPAN = 64;
/** Seeds of the two halves of the 64-bit item hash (not 0: partitioning hashes keys with salt 0). */
const SEED_HIGH = 0x9747b28c;
const SEED_LOW = 0x5bd1e995;
/** 1 / (2 ln 2): the limit of HyperLogLog's alpha constant, used by Ertl's estimator. */
const ALPHA_INF = 0.5 / Math.LN2;

/** The register an item falls into and the rank it offers there. */
export function registerOf(canonical: CanonicalKey, precision: number): { index: number; rank: number } {
  const high = hashKey(canonical, SEED_HIGH);
  const rest = (high << precision) >>> 0;
  const rank = rest !== 0 ? Math.clz32(rest) + 1 : 32 - precision + Math.clz32(hashKey(canonical, SEED_LOW)) + 1;
  return { index: high >>> (32 - precision), rank };
}

/**
 * Accumulates registers from items and encoded sketches. While few registers are set it keeps
 * them as a sorted list of packed entries (index × 64 + rank) and merges sparse sketches into it
 * linearly; new items wait unsorted until the next flush. Once a quarter of the registers are set,
 * or a dense sketch arrives, it keeps one byte per register. The map side combines a hot key's
 * sketch with a few new items over and over, so each step costs the sketch's size, not more.
 */
export class HllRegisters {
  private readonly m: number;
  /** Sorted packed entries, one per set register (while sparse). */
  private entries: number[] = [];
  /** Packed entries of items not yet merged into `entries`. */
  private pending: number[] = [];
  private dense: Uint8Array | undefined;

  constructor(private readonly precision: number) {
    this.m = 2 ** precision;
  }

  /** Adds an item by its canonical form. */
  addItem(canonical: CanonicalKey): void {
    const { index, rank } = registerOf(canonical, this.precision);
    if (this.dense !== undefined) {
      if (rank > (this.dense[index] as number)) this.dense[index] = rank;
      return;
    }
    this.pending.push(index * RANK_SPAN + rank);
    if (this.pending.length * 4 >= this.m) this.flush();
  }

  /** Adds every register of an encoded sketch; `E_STATE` when it is not one of this precision. */
  addEncoded(bytes: Uint8Array): void {
    const format = checkHeader(bytes, this.precision);
    if (format === DENSE) {
      const registers = bytes.subarray(HEADER_BYTES);
      if (this.dense === undefined && this.entries.length === 0 && this.pending.length === 0) {
        // The common map-side case: copy instead of comparing register by register.
        this.dense = registers.slice();
        return;
      }
      const dense = this.densify();
      for (let i = 0; i < this.m; i++) {
        const r = registers[i] as number;
        if (r > (dense[i] as number)) dense[i] = r;
      }
      return;
    }
    const incoming: number[] = [];
    for (let at = HEADER_BYTES; at < bytes.length; at += 4) {
      const index = ((bytes[at] as number) << 16) | ((bytes[at + 1] as number) << 8) | (bytes[at + 2] as number);
      incoming.push(index * RANK_SPAN + (bytes[at + 3] as number));
    }
    if (this.dense !== undefined) {
      for (const e of incoming) this.setDense(e);
      return;
    }
    this.entries = mergeEntries(this.entries, incoming);
    if (this.entries.length * 4 >= this.m) this.densify();
  }

  /** The encoded sketch (see the module comment). */
  encode(): Uint8Array {
    this.flush();
    if (this.dense !== undefined) {
      const out = new Uint8Array(HEADER_BYTES + this.m);
      out[0] = this.precision;
      out[1] = DENSE;
      out.set(this.dense, HEADER_BYTES);
      return out;
    }
    const out = new Uint8Array(HEADER_BYTES + 4 * this.entries.length);
    out[0] = this.precision;
    out[1] = SPARSE;
    let at = HEADER_BYTES;
    for (const e of this.entries) {
      const index = Math.floor(e / RANK_SPAN);
      out[at++] = index >>> 16;
      out[at++] = (index >>> 8) & 0xff;
      out[at++] = index & 0xff;
      out[at++] = e % RANK_SPAN;
    }
    return out;
  }

  /** Merges pending items into the sorted entries (or the dense registers). */
  private flush(): void {
    if (this.pending.length === 0) return;
    const sorted = Float64Array.from(this.pending).sort();
    this.pending = [];
    if (this.dense !== undefined) {
      for (const e of sorted) this.setDense(e);
      return;
    }
    this.entries = mergeEntries(this.entries, sorted);
    if (this.entries.length * 4 >= this.m) this.densify();
  }

  /**
   * Switches to one byte per register. Only when at least a quarter of the registers are set (or
   * a dense sketch arrives, which had as many), so the encoding stays a function of the registers.
   */
  private densify(): Uint8Array {
    if (this.dense === undefined) {
      this.dense = new Uint8Array(this.m);
      for (const e of this.entries) this.setDense(e);
      for (const e of this.pending) this.setDense(e);
      this.entries = [];
      this.pending = [];
    }
    return this.dense;
  }

  private setDense(packed: number): void {
    const dense = this.dense as Uint8Array;
    const index = Math.floor(packed / RANK_SPAN);
    const rank = packed % RANK_SPAN;
    if (rank > (dense[index] as number)) dense[index] = rank;
  }
}

/**
 * Union of two lists of packed entries sorted ascending, keeping the largest rank of a register.
 * Sorted by index then rank, the last entry of an index is its largest.
 */
function mergeEntries(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = [];
  const put = (e: number) => {
    const last = out.length - 1;
    if (last >= 0 && Math.floor((out[last] as number) / RANK_SPAN) === Math.floor(e / RANK_SPAN)) {
      if (e > (out[last] as number)) out[last] = e;
    } else {
      out.push(e);
    }
  };
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) put((a[i] as number) <= (b[j] as number) ? (a[i++] as number) : (b[j++] as number));
  while (i < a.length) put(a[i++] as number);
  while (j < b.length) put(b[j++] as number);
  return out;
}

/** The format byte of an encoded sketch after checking it was made with `precision`. */
function checkHeader(bytes: Uint8Array, precision: number): number {
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

/** Estimated number of distinct items of an encoded sketch, rounded to an integer. */
export function estimate(bytes: Uint8Array, precision: number): number {
  const format = checkHeader(bytes, precision);
  const m = 2 ** precision;
  const q = 64 - precision;
  // histogram[k]: number of registers holding k (0 … q + 1).
  const histogram = new Float64Array(q + 2);
  const tally = (r: number) => {
    histogram[r] = (histogram[r] as number) + 1;
  };
  if (format === DENSE) {
    for (let i = HEADER_BYTES; i < bytes.length; i++) tally(bytes[i] as number);
  } else {
    for (let at = HEADER_BYTES + 3; at < bytes.length; at += 4) tally(bytes[at] as number);
    histogram[0] = m - (bytes.length - HEADER_BYTES) / 4;
  }
  let z = m * tau(1 - (histogram[q + 1] as number) / m);
  for (let k = q; k >= 1; k--) z = 0.5 * (z + (histogram[k] as number));
  z += m * sigma((histogram[0] as number) / m);
  return Math.round((ALPHA_INF * m * m) / z);
}

/** Ertl's σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k−1), summed until it stops changing. */
function sigma(x: number): number {
  if (x === 1) return Number.POSITIVE_INFINITY;
  let y = 1;
  let z = x;
  let previous: number;
  do {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  } while (z !== previous);
  return z;
}

/** Ertl's τ(x) = (1 − x − Σ_{k≥1} (1 − x^(2^−k))² 2^−k) / 3, summed until it stops changing. */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  let previous: number;
  do {
    x = Math.sqrt(x);
    previous = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
  } while (z !== previous);
  return z / 3;
}
