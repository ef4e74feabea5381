/**
 * The map side's heavy-hitter summary: the few keys that pushed the most key/value pairs, with
 * their counts, kept in a small bounded table (Space-Saving: a key not in a full table replaces
 * the smallest entry and inherits its count, so a truly heavy key is never lost). The coordinator
 * adds the summaries of all tasks up to decide which keys to salt.
 */
import type { CanonicalKey } from './key.js';

/** Entries a summary keeps. */
export const HEAVY_KEYS_CAPACITY = 16;

/** A bounded table of the heaviest keys. */
export class HeavyKeys {
  private readonly counts = new Map<CanonicalKey, number>();
  /** All pairs counted (heavy or not). */
  total = 0;

  constructor(private readonly capacity = HEAVY_KEYS_CAPACITY) {}

  /** Counts `n` pairs of a key. Keys pushing a single pair are counted in the total only. */
  add(ck: CanonicalKey, n: number): void {
    this.total += n;
    if (n < 2) return;
    const have = this.counts.get(ck);
    if (have !== undefined) {
      this.counts.set(ck, have + n);
      return;
    }
    if (this.counts.size < this.capacity) {
      this.counts.set(ck, n);
      return;
    }
    let minKey: CanonicalKey | undefined;
    let min = Number.POSITIVE_INFINITY;
    for (const [k, c] of this.counts) {
      if (c < min) {
        min = c;
        minKey = k;
      }
    }
    if (minKey === undefined || min >= n) return;
    this.counts.delete(minKey);
    this.counts.set(ck, min + n);
  }

  /** Adds another summary (flat `[key, count, …]`). */
  addFlat(flat: readonly unknown[]): void {
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const n = flat[i + 1] as number;
      this.add(flat[i] as CanonicalKey, n);
      this.total -= n;
    }
  }

  /** Flat `[key, count, …]`, heaviest first. */
  toFlat(): unknown[] {
    const out: unknown[] = [];
    for (const [k, c] of [...this.counts].sort((a, b) => b[1] - a[1])) out.push(k, c);
    return out;
  }
}
