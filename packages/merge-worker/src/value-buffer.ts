/**
 * Values of many keys waiting to be reduced. When a key's list grows, `combine` (if the job has
 * one) folds it into one value, so a combinable job holds about one value per key whatever the
 * input size. `heldValues` counts what is held, for the memory budget.
 */
import { type CanonicalKey, combineValues, type ResolvedJob } from '@mrm/core';
import { keyOfCanonical } from './key-cache.js';

const COMBINE_EVERY = 16;

/** Values grouped by canonical key. */
export class ValueBuffer {
  readonly values = new Map<CanonicalKey, unknown[]>();
  /** Values held in all lists. */
  heldValues = 0;

  private readonly combine: ResolvedJob['combine'];
  private readonly fold: ResolvedJob['fold'];

  constructor(
    private readonly job: Pick<ResolvedJob, 'name' | 'combine' | 'fold'>,
    /** `skip`: values whose `combine` throws stay uncombined (see `combineValues`). */
    private readonly onError: 'fail' | 'skip' = 'fail',
  ) {
    this.combine = job.combine;
    this.fold = job.fold;
  }

  /** Adds a flat `[key, value, key, value…]` list. */
  addPairs(pairs: readonly unknown[]): void {
    for (let i = 0; i + 1 < pairs.length; i += 2) this.add(pairs[i] as CanonicalKey, pairs[i + 1]);
  }

  /** Adds one value. */
  add(key: CanonicalKey, value: unknown): void {
    const list = this.values.get(key);
    if (this.fold !== undefined) {
      // One running value per key. A key's first value is kept as it is: a value off the wire is
      // already combined (and ours to update in place), so folding it into nothing changes nothing.
      if (list === undefined) {
        this.values.set(key, [value]);
        this.heldValues++;
      } else list[0] = this.fold(keyOfCanonical(key), list[0], value);
      return;
    }
    if (list === undefined) {
      this.values.set(key, [value]);
      this.heldValues++;
      return;
    }
    list.push(value);
    this.heldValues++;
    if (this.combine !== undefined && list.length >= COMBINE_EVERY) {
      const combined = combineValues(this.job, keyOfCanonical(key), list, this.onError);
      if (combined === list) return;
      this.values.set(key, combined);
      this.heldValues -= list.length - 1;
    }
  }

  /** Adds many values of one key. */
  addAll(key: CanonicalKey, values: readonly unknown[]): void {
    for (const v of values) this.add(key, v);
  }

  /** Empties the buffer. */
  clear(): void {
    this.values.clear();
    this.heldValues = 0;
  }
}
