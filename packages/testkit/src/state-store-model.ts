/**
 * A deliberately simple model of versioned partition state for the conformance suite's randomized
 * test: a full copy of every partition's map at every version, computed independently of any store.
 */
import { type CanonicalKey, compareCanonicalKeys } from '@mrm/core';

/** A seeded pseudo-random generator (mulberry32): the same seed gives the same run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Partition contents (key → value) at each version of one job. */
export class VersionedModel {
  /** version → partition → contents; version 0 is the empty state. */
  readonly #snapshots = new Map<number, Map<number, Map<CanonicalKey, unknown>>>([[0, new Map()]]);

  /** Contents of a partition at a version (empty when never written). */
  at(version: number, partition: number): ReadonlyMap<CanonicalKey, unknown> {
    return this.#snapshots.get(version)?.get(partition) ?? new Map();
  }

  /**
   * Records a partition's contents at `version`: those of `from` (nothing when `fresh`, as after a
   * version whose base hides older entries) with `changes` applied (`undefined` deletes).
   */
  apply(
    version: number,
    partition: number,
    from: number,
    changes: readonly (readonly [CanonicalKey, unknown])[],
    fresh = false,
  ): ReadonlyMap<CanonicalKey, unknown> {
    const next = new Map(fresh ? [] : this.at(from, partition));
    for (const [key, value] of changes) {
      if (value === undefined) next.delete(key);
      else next.set(key, value);
    }
    let partitions = this.#snapshots.get(version);
    if (partitions === undefined) {
      partitions = new Map();
      this.#snapshots.set(version, partitions);
    }
    partitions.set(partition, next);
    return next;
  }

  /** Forgets every version above `version`. */
  discardAbove(version: number): void {
    for (const v of [...this.#snapshots.keys()]) if (v > version) this.#snapshots.delete(v);
  }

  /** Entries of a partition at a version in canonical key order, as `scan` must yield them. */
  sorted(version: number, partition: number): [CanonicalKey, unknown][] {
    return [...this.at(version, partition)].sort(([a], [b]) => compareCanonicalKeys(a, b));
  }
}
