/**
 * The register accumulator of approxDistinct. The map worker combines a hot key's sketch with a
 * few new items over and over, so one step must cost little more than the sketch's size:
 * - a first sparse sketch is adopted as bytes, and new items are spliced into it by copying the
 *   runs of bytes between them (no parsing);
 * - several sparse sketches are merged as sorted lists of packed entries;
 * - from a quarter of the registers set (or as soon as a dense sketch arrives, which had as many)
 *   it keeps one byte per register, and a first dense sketch is copied, not compared byte by byte.
 * The encoding rules live in hll-format.ts.
 */
import type { CanonicalKey } from '../key.js';
import {
  checkHeader,
  DENSE,
  entryOf,
  HEADER_BYTES,
  indexOf,
  newSketch,
  rankOf,
  SPARSE,
  sparseCount,
  sparseEntryAt,
  sparseIndexAt,
  writeEntry,
} from './hll-format.js';

/** Accumulates items and encoded sketches of one precision into one sketch. */
export class HllRegisters {
  private readonly m: number;
  /** An adopted sparse sketch, never modified (used while it is the only sparse input). */
  private base: Uint8Array | undefined;
  /** Sorted packed entries, one per set register (while sparse and `base` is not used). */
  private entries: number[] = [];
  /** Packed entries of items added since the last flush, unsorted. */
  private pending: number[] = [];
  /** Header room + one byte per register (while dense). */
  private denseBytes: Uint8Array | undefined;

  constructor(private readonly precision: number) {
    this.m = 2 ** precision;
  }

  /** Adds an item by its canonical form. */
  addItem(canonical: CanonicalKey): void {
    const entry = entryOf(canonical, this.precision);
    if (this.denseBytes !== undefined) {
      this.setDense(entry);
      return;
    }
    this.pending.push(entry);
    if (this.pending.length * 4 >= this.m) this.flush();
  }

  /** Adds every register of an encoded sketch; `E_STATE` when it is not one of this precision. */
  addEncoded(bytes: Uint8Array): void {
    const format = checkHeader(bytes, this.precision);
    if (format === DENSE) {
      if (this.isEmpty()) {
        this.denseBytes = bytes.slice();
        return;
      }
      const dense = this.densify();
      for (let i = HEADER_BYTES; i < dense.length; i++) {
        const r = bytes[i] as number;
        if (r > (dense[i] as number)) dense[i] = r;
      }
      return;
    }
    if (this.denseBytes !== undefined) {
      for (let k = 0; k < sparseCount(bytes); k++) this.setDense(sparseEntryAt(bytes, k));
      return;
    }
    if (this.isEmpty()) {
      this.base = bytes;
      return;
    }
    this.unpackBase();
    const incoming = Array.from({ length: sparseCount(bytes) }, (_, k) => sparseEntryAt(bytes, k));
    this.entries = mergeEntries(this.entries, incoming);
    this.densifyIfFull();
  }

  /** The encoded sketch (see hll-format.ts). Ends the accumulator: add nothing after it. */
  encode(): Uint8Array {
    if (this.base !== undefined) {
      const spliced = splice(this.base, uniqueSorted(this.pending), this.m);
      if (spliced !== undefined) return spliced;
    }
    this.flush();
    if (this.denseBytes !== undefined) return this.denseBytes;
    const out = newSketch(this.precision, SPARSE, 4 * this.entries.length);
    this.entries.forEach((entry, k) => {
      writeEntry(out, HEADER_BYTES + 4 * k, entry);
    });
    return out;
  }

  private isEmpty(): boolean {
    return (
      this.denseBytes === undefined && this.base === undefined && this.entries.length === 0 && this.pending.length === 0
    );
  }

  /** Merges pending items into the entries (or the dense registers). */
  private flush(): void {
    if (this.pending.length === 0) return;
    const sorted = uniqueSorted(this.pending);
    this.pending = [];
    if (this.denseBytes !== undefined) {
      for (const entry of sorted) this.setDense(entry);
      return;
    }
    this.unpackBase();
    this.entries = mergeEntries(this.entries, sorted);
    this.densifyIfFull();
  }

  private unpackBase(): void {
    const base = this.base;
    if (base === undefined) return;
    this.entries = Array.from({ length: sparseCount(base) }, (_, k) => sparseEntryAt(base, k));
    this.base = undefined;
  }

  private densifyIfFull(): void {
    if (this.entries.length * 4 >= this.m) this.densify();
  }

  /** Switches to one byte per register. */
  private densify(): Uint8Array {
    if (this.denseBytes === undefined) {
      this.denseBytes = newSketch(this.precision, DENSE, this.m);
      this.unpackBase();
      for (const entry of this.entries) this.setDense(entry);
      for (const entry of this.pending) this.setDense(entry);
      this.entries = [];
      this.pending = [];
    }
    return this.denseBytes;
  }

  private setDense(entry: number): void {
    const dense = this.denseBytes as Uint8Array;
    const at = HEADER_BYTES + indexOf(entry);
    const rank = rankOf(entry);
    if (rank > (dense[at] as number)) dense[at] = rank;
  }
}

/** Packed entries sorted, one per register (the largest rank). */
function uniqueSorted(entries: readonly number[]): number[] {
  return mergeEntries(Float64Array.from(entries).sort(), []);
}

/** Union of two ascending lists of packed entries, keeping the largest rank of each register. */
function mergeEntries(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = [];
  const put = (entry: number) => {
    const last = out.length - 1;
    // Ascending order puts a register's largest rank last.
    if (last >= 0 && indexOf(out[last] as number) === indexOf(entry)) out[last] = entry;
    else out.push(entry);
  };
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length)
    put((a[i] as number) <= (b[j] as number) ? (a[i++] as number) : (b[j++] as number));
  while (i < a.length) put(a[i++] as number);
  while (j < b.length) put(b[j++] as number);
  return out;
}

/**
 * A sparse sketch with `add` (ascending, one entry per register) spliced in, copying the runs of
 * `base` between them; `undefined` when the result would have to be dense.
 */
function splice(base: Uint8Array, add: readonly number[], m: number): Uint8Array | undefined {
  if (add.length === 0) return base;
  const count = sparseCount(base);
  // Where each added entry goes: the first base entry whose index is not smaller.
  const positions: number[] = [];
  let inserted = 0;
  let lo = 0;
  for (const entry of add) {
    const index = indexOf(entry);
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sparseIndexAt(base, mid) < index) lo = mid + 1;
      else hi = mid;
    }
    positions.push(lo);
    if (lo === count || sparseIndexAt(base, lo) !== index) inserted++;
  }
  if ((count + inserted) * 4 >= m) return undefined;
  const out = newSketch(base[0] as number, SPARSE, 4 * (count + inserted));
  let from = 0;
  let at = HEADER_BYTES;
  add.forEach((entry, j) => {
    const k = positions[j] as number;
    out.set(base.subarray(HEADER_BYTES + 4 * from, HEADER_BYTES + 4 * k), at);
    at += 4 * (k - from);
    from = k;
    if (k < count && sparseIndexAt(base, k) === indexOf(entry)) {
      writeEntry(out, at, Math.max(entry, sparseEntryAt(base, k)));
      from = k + 1;
    } else {
      writeEntry(out, at, entry);
    }
    at += 4;
  });
  out.set(base.subarray(HEADER_BYTES + 4 * from), at);
  return out;
}
