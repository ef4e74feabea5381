/**
 * The map-side buffer of one batch: collects emitted pairs, combines values of a key early (so a
 * hot key holds one running value, not a list), and at the end partitions the distinct keys and
 * encodes frames no larger than `maxFrameBytes`.
 */
import {
  type CanonicalKey,
  canonicalKey,
  combineValues,
  type Emit,
  ErrorCode,
  encodeMessage,
  encodePackedFrame,
  type HeavyKeys,
  isSubKey,
  type Key,
  keyOf,
  MrmError,
  partitionOf,
  partitionOfHash,
  type ResolvedJob,
} from '@mrm/core';
import { KeyTable, NO_VALUE } from './key-table.js';
import type { SaltRouter } from './salt-router.js';

/** Values of a key held before `combine` folds them into one. */
const COMBINE_EVERY = 32;

/** What one batch produced for one partition: encoded frames and the pair count. */
export interface PartitionOutput {
  readonly partition: number;
  readonly frames: Uint8Array[];
  readonly pairs: number;
}

/** Frame header fields shared by every frame of a batch. */
export interface FrameHeader {
  readonly jobId: string;
  readonly run: number;
  readonly seq: number;
  readonly attempt: number;
  readonly from: string;
}

/** Collects one batch's map output. Not reusable: make one per batch. */
export class BatchCollector {
  /** String keys the thread has seen, with this batch's values by id (see key-table.ts). */
  private readonly table: KeyTable;
  /** True until this batch gave its key table back ({@link release}): it gives it back once. */
  private holdsTable = true;
  /** String keys the table does not take (possibly too long), by their raw value. */
  private readonly byString = new Map<string, unknown[]>();
  /** Other keys by canonical form. */
  private readonly byCanonical = new Map<string, { key: Key; values: unknown[] }>();
  private readonly combine: ResolvedJob['combine'];
  /** True with `fold`: a key holds one running value, not a list. */
  private readonly folding: boolean;

  /**
   * `table`: the thread's key table for this batch (default: a private one). `onError` `skip`:
   * values whose `combine` throws stay uncombined (see `combineValues`).
   */
  constructor(
    private readonly job: ResolvedJob,
    table: KeyTable = new KeyTable(),
    private readonly onError: 'fail' | 'skip' = 'fail',
  ) {
    this.table = table;
    this.combine = job.combine;
    const fold = job.fold;
    this.folding = fold !== undefined;
    // With `fold`, a key holds one running value: one hash lookup per emit, no lists.
    if (fold !== undefined) this.emit = (key, value) => this.emitFolded(fold, key, value);
  }

  private emitFolded(fold: NonNullable<ResolvedJob['fold']>, key: Key, value: unknown): void {
    if (typeof key === 'string') {
      const { table } = this;
      const id = table.idOf(key);
      if (id >= 0) {
        const acc = table.values[id];
        if (acc === NO_VALUE) {
          table.touched.push(id);
          table.values[id] = fold(key, undefined, value);
        } else table.values[id] = fold(key, acc, value);
        return;
      }
      const slot = this.byString.get(key);
      if (slot === undefined) this.byString.set(key, [fold(key, undefined, value)]);
      else slot[0] = fold(key, slot[0], value);
      return;
    }
    const ck = canonicalKey(key);
    const entry = this.byCanonical.get(ck);
    if (entry === undefined) this.byCanonical.set(ck, { key, values: [fold(key, undefined, value)] });
    else entry.values[0] = fold(entry.key, entry.values[0], value);
  }

  /** Appends `value` to a key's list, combining the list when it has grown. */
  private append(key: Key, list: unknown[], value: unknown): unknown[] {
    list.push(value);
    return this.combine !== undefined && list.length >= COMBINE_EVERY
      ? combineValues(this.job, key, list, this.onError)
      : list;
  }

  /** The `emit` handed to `map`. */
  readonly emit: Emit = (key, value) => {
    if (typeof key === 'string') {
      const { table } = this;
      const id = table.idOf(key);
      if (id >= 0) {
        const list = table.values[id];
        if (list === NO_VALUE) {
          table.touched.push(id);
          table.values[id] = [value];
        } else table.values[id] = this.append(key, list as unknown[], value);
        return;
      }
      const list = this.byString.get(key);
      if (list === undefined) this.byString.set(key, [value]);
      else this.byString.set(key, this.append(key, list, value));
      return;
    }
    const ck = canonicalKey(key);
    const entry = this.byCanonical.get(ck);
    if (entry === undefined) this.byCanonical.set(ck, { key, values: [value] });
    else entry.values = this.append(entry.key, entry.values, value);
  };

  /** Distinct keys collected so far. */
  get keys(): number {
    return this.table.touched.length + this.byString.size + this.byCanonical.size;
  }

  /** `values` combined into one when the job combines, else as they are. */
  private combined(key: Key, values: readonly unknown[]): readonly unknown[] {
    return this.combine !== undefined && values.length > 1
      ? combineValues(this.job, key, values as unknown[], this.onError)
      : values;
  }

  /**
   * Keys holding at least `share` of the batch's values (canonical form, with their value
   * counts), heaviest first, and the number of values. Only meaningful without combine.
   */
  heaviest(share: number): { total: number; keys: Array<[CanonicalKey, number]> } {
    const { table } = this;
    // With fold every key holds one value: none is heavier than another.
    const inTable = (id: number) => (this.folding ? 1 : (table.values[id] as unknown[]).length);
    let total = 0;
    for (const id of table.touched) total += inTable(id);
    for (const list of this.byString.values()) total += list.length;
    for (const { values } of this.byCanonical.values()) total += values.length;
    const min = Math.max(2, Math.ceil(total * share));
    const out: Array<[CanonicalKey, number]> = [];
    for (const id of table.touched) {
      const n = inTable(id);
      if (n >= min) out.push([table.canonical[id] as string, n]);
    }
    for (const [k, list] of this.byString) if (list.length >= min) out.push([canonicalKey(k), list.length]);
    for (const [ck, { values }] of this.byCanonical) if (values.length >= min) out.push([ck, values.length]);
    return { total, keys: out.sort((a, b) => b[1] - a[1]) };
  }

  /** The values collected for a key so far (raw, or partly combined), if any. */
  valuesOf(ck: CanonicalKey): readonly unknown[] | undefined {
    const key = keyOf(ck);
    if (typeof key !== 'string') return this.byCanonical.get(ck)?.values;
    const id = this.table.ids.get(key);
    const value = id === undefined ? NO_VALUE : this.table.values[id];
    if (value === NO_VALUE) return this.byString.get(key);
    return this.folding ? [value] : (value as unknown[]);
  }

  /**
   * Gives the key table back (`finish` does; call it after a batch that failed before). Only the
   * first call releases: once given back, the thread's table may already collect another batch
   * (an async `map` awaits while this batch's output waits for credit), and releasing it again
   * would wipe that batch's values.
   */
  release(): void {
    if (!this.holdsTable) return;
    this.holdsTable = false;
    this.table.release();
  }

  /**
   * Combines, partitions and encodes. Returns one entry per partition (also empty ones: every
   * partition gets its batch-end marker). A `router` salts hot keys; `heavy` counts the pairs
   * each key pushes. Releases the key table.
   */
  finish(
    header: FrameHeader,
    partitions: number,
    salt: number,
    maxFrameBytes: number,
    skew: { readonly router?: SaltRouter; readonly heavy?: HeavyKeys } = {},
  ): PartitionOutput[] {
    const pairs: unknown[][] = Array.from({ length: partitions }, () => []);
    const { router, heavy } = skew;
    const sink = (partition: number, wireKey: string, values: readonly unknown[]) => {
      const target = pairs[partition] as unknown[];
      for (const v of values) target.push(wireKey, v);
    };
    const push = (key: Key, ck: string, partition: number, wireKey: string, vs: readonly unknown[]) => {
      const out = this.combined(key, vs);
      heavy?.add(ck, out.length);
      sink(partition, wireKey, out);
    };
    const salting = router?.active === true;
    const add = (key: Key, ck: string, home: number, values: unknown[]) => {
      // A hot key's values are combined per sub-key (salting first), never into one.
      if (salting && router.route(ck, home, values, (p, wk, vs) => push(key, ck, p, wk, vs))) return;
      push(key, ck, home, ck, values);
    };
    const { table, folding } = this;
    try {
      for (const id of table.touched) {
        const ck = table.canonical[id] as string;
        const home = partitionOfHash(table.hashOf(id, salt), partitions);
        const value = table.values[id];
        if (folding && !salting) {
          // The common case, as `push` would do it for one folded value without a list.
          (pairs[home] as unknown[]).push(ck, value);
          heavy?.add(ck, 1);
        } else add(table.keys[id] as string, ck, home, folding ? [value] : (value as unknown[]));
      }
    } finally {
      this.release();
    }
    for (const [key, values] of this.byString) {
      const ck = canonicalKey(key);
      add(key, ck, partitionOf(ck, partitions, salt), values);
    }
    for (const [ck, { key, values }] of this.byCanonical) add(key, ck, partitionOf(ck, partitions, salt), values);
    return pairs.map((list, partition) => ({
      partition,
      frames: encodeFrames({ ...header, partition }, list, maxFrameBytes),
      pairs: list.length / 2,
    }));
  }
}

/** Encodes pairs into frames under `maxFrameBytes`, halving the pair count of a frame that is too big. */
function encodeFrames(
  header: FrameHeader & { partition: number },
  pairs: unknown[],
  maxFrameBytes: number,
): Uint8Array[] {
  if (pairs.length === 0) return [];
  let bytes: Uint8Array;
  try {
    // The list travels encoded on its own, so the merge worker decodes it only when it merges the
    // batch (decisions/0051); sub-keys of salted hot keys are split off as frames arrive, so a
    // list holding one goes as `pairs`.
    bytes = hasSubKey(pairs) ? encodeMessage({ type: 'frame', ...header, pairs }) : encodePackedFrame(header, pairs);
  } catch (e) {
    throw new MrmError(ErrorCode.BadValue, `a value emitted by map cannot be encoded: ${(e as Error).message}`, {
      cause: e,
    });
  }
  // A single pair larger than a frame still goes out alone; the transport layer chunks it.
  if (bytes.byteLength <= maxFrameBytes || pairs.length <= 2) return [bytes];
  const half = Math.ceil(pairs.length / 4) * 2;
  return [
    ...encodeFrames(header, pairs.slice(0, half), maxFrameBytes),
    ...encodeFrames(header, pairs.slice(half), maxFrameBytes),
  ];
}

/** True when a flat pair list holds a sub-key of a salted hot key. */
function hasSubKey(pairs: readonly unknown[]): boolean {
  for (let i = 0; i < pairs.length; i += 2) if (isSubKey(pairs[i] as string)) return true;
  return false;
}
