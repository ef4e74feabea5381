/**
 * Map-side salting of one batch: a hot key's values go to its sub-keys, which live on the
 * partitions after the key's home partition (`subKeyPartition`); every other key goes home.
 * The choice of sub-key depends only on the batch's own data (the i-th value of a key, and the
 * batch's seq for a key that holds one combined value), so a replay salts exactly the same way.
 * It also records, per home partition, which partitions will send it partials, for the home's
 * batch-end marker.
 */
import { type CanonicalKey, type SaltPlan, subKey, subKeyPartition } from '@mrm/core';

/** Where the pairs of one key go. */
export type PairSink = (partition: number, wireKey: string, values: readonly unknown[]) => void;

/** Routes one batch's keys. Make one per batch. */
export class SaltRouter {
  private readonly factors = new Map<CanonicalKey, number>();
  /** Per home partition: partitions that hold sub-keys of its hot keys in this batch. */
  private readonly sources = new Map<number, Set<number>>();

  constructor(
    plan: SaltPlan | undefined,
    private readonly partitions: number,
    private readonly seq: number,
  ) {
    if (plan === undefined) return;
    plan.keys.forEach((k, i) => {
      const f = Math.min(plan.factors[i] ?? 0, partitions - 1);
      if (f >= 2) this.factors.set(k, f);
    });
  }

  /** True when some key of this batch may be salted. */
  get active(): boolean {
    return this.factors.size > 0;
  }

  /**
   * When the key is hot, spreads its values round-robin over its sub-keys through `sink` and
   * returns true; otherwise does nothing and returns false (the key goes home).
   */
  route(ck: CanonicalKey, home: number, values: readonly unknown[], sink: PairSink): boolean {
    const factor = this.factors.get(ck);
    if (factor === undefined) return false;
    const wire = subKey(ck, home);
    const used = Math.min(factor, values.length);
    for (let i = 0; i < used; i++) {
      // One value per key (fold or combine collapsed it): the batch's seq picks the sub-key, so
      // consecutive batches spread over all of them.
      const s = (this.seq + i) % factor;
      const part: unknown[] = [];
      for (let j = i; j < values.length; j += used) part.push(values[j]);
      const target = subKeyPartition(home, s, this.partitions);
      sink(target, wire, part);
      let from = this.sources.get(home);
      if (from === undefined) {
        from = new Set();
        this.sources.set(home, from);
      }
      from.add(target);
    }
    return true;
  }

  /** Partitions that send partials to `home` for this batch (sorted), or undefined for none. */
  partialsFrom(home: number): number[] | undefined {
    const from = this.sources.get(home);
    return from === undefined ? undefined : [...from].sort((a, b) => a - b);
  }
}
