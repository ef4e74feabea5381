/**
 * The map-side buffer of one batch: collects emitted pairs, combines values of a key early (so a
 * hot key holds one running value, not a list), and at the end partitions the distinct keys and
 * encodes frames no larger than `maxFrameBytes`.
 */
import {
  type CanonicalKey,
  canonicalKey,
  type Emit,
  ErrorCode,
  encodeMessage,
  type HeavyKeys,
  type Key,
  keyOf,
  MrmError,
  partitionOf,
  type ResolvedJob,
} from '@mrm/core';
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
  /** String keys by their raw value (the common case: no canonicalisation per emit). */
  private readonly byString = new Map<string, unknown[]>();
  /** Other keys by canonical form. */
  private readonly byCanonical = new Map<string, { key: Key; values: unknown[] }>();
  private readonly combine: ResolvedJob['combine'];

  constructor(job: ResolvedJob) {
    this.combine = job.combine;
    const fold = job.fold;
    // With `fold`, a key holds one running value: one hash lookup per emit, no lists.
    if (fold !== undefined) this.emit = (key, value) => this.emitFolded(fold, key, value);
  }

  private emitFolded(fold: NonNullable<ResolvedJob['fold']>, key: Key, value: unknown): void {
    if (typeof key === 'string') {
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

  /** The `emit` handed to `map`. */
  readonly emit: Emit = (key, value) => {
    if (typeof key === 'string') {
      const list = this.byString.get(key);
      if (list === undefined) this.byString.set(key, [value]);
      else {
        list.push(value);
        if (this.combine !== undefined && list.length >= COMBINE_EVERY)
          this.byString.set(key, [this.combine(key, list)]);
      }
      return;
    }
    const ck = canonicalKey(key);
    const entry = this.byCanonical.get(ck);
    if (entry === undefined) this.byCanonical.set(ck, { key, values: [value] });
    else {
      entry.values.push(value);
      if (this.combine !== undefined && entry.values.length >= COMBINE_EVERY) {
        entry.values = [this.combine(entry.key, entry.values)];
      }
    }
  };

  /** Distinct keys collected so far. */
  get keys(): number {
    return this.byString.size + this.byCanonical.size;
  }

  /** `values` combined into one when the job combines, else as they are. */
  private combined(key: Key, values: readonly unknown[]): readonly unknown[] {
    return this.combine !== undefined && values.length > 1 ? [this.combine(key, values as unknown[])] : values;
  }

  /** The values collected for a key so far (raw, or partly combined), if any. */
  valuesOf(ck: CanonicalKey): readonly unknown[] | undefined {
    const key = keyOf(ck);
    return typeof key === 'string' ? this.byString.get(key) : this.byCanonical.get(ck)?.values;
  }

  /**
   * Combines, partitions and encodes. Returns one entry per partition (also empty ones: every
   * partition gets its batch-end marker). A `router` salts hot keys; `heavy` counts the pairs
   * each key pushes.
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
    const add = (key: Key, ck: string, values: unknown[]) => {
      const home = partitionOf(ck, partitions, salt);
      // A hot key's values are combined per sub-key (salting first), never into one.
      if (router?.active === true && router.route(ck, home, values, (p, wk, vs) => push(key, ck, p, wk, vs))) return;
      push(key, ck, home, ck, values);
    };
    for (const [key, values] of this.byString) add(key, canonicalKey(key), values);
    for (const [ck, { key, values }] of this.byCanonical) add(key, ck, values);
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
    bytes = encodeMessage({ type: 'frame', ...header, pairs });
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
