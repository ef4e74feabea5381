/**
 * One partition of an incremental job on a merge worker: merges batches in order into a
 * write-back layer of changed keys, and at each checkpoint hands that layer to the store
 * asynchronously while merging goes on into a fresh one. Reads look in the newest layer first,
 * then in layers still being written, then in the store. What it holds is bounded by bytes as
 * well as keys: over budget, changed values are written into the pending version ahead of its
 * checkpoint (docs/decisions/0040).
 */
import {
  type BatchEventTimes,
  type CanonicalKey,
  type DeadLetter,
  ErrorCode,
  encode,
  errorMessage,
  MrmError,
  type ResolvedJob,
  type StateDigest,
  type StateStore,
  unstorableReason,
  Watermark,
  watermarkOf,
} from '@mrm/core';
import { DeadLetterBox } from './dead-letter-box.js';
import { DigestTracker, type EntryDigest, encodedEntryDigest, entryDigest } from './digest-tracker.js';
import { keyOfCanonical } from './key-cache.js';
import { nextSlice, sliceDue } from './time-slice.js';
import type { ValueBuffer } from './value-buffer.js';
import { approxBytes, entryBytes } from './value-bytes.js';

/** Keys the read cache holds by default before evicting. */
export const DEFAULT_MAX_CACHED_KEYS = 100_000;
/** Bytes of keys and values a partition holds by default (see {@link PartitionBudget}). */
export const DEFAULT_MAX_STATE_BYTES = 64 * 1024 * 1024;

/** What a partition may hold in memory (docs/decisions/0040). */
export interface PartitionBudget {
  /** Most keys the read cache holds before evicting (default {@link DEFAULT_MAX_CACHED_KEYS}). */
  readonly maxCachedKeys?: number;
  /**
   * Approximate bytes of keys and values held (cached, changed and being written alike; see
   * `approxBytes`). Past it, after a batch: durable values are dropped, then checkpoint writes in
   * flight are awaited, then changed values are written into the pending version ahead of its
   * checkpoint and dropped too (default {@link DEFAULT_MAX_STATE_BYTES}).
   */
  readonly maxStateBytes?: number;
}

/** What a partition needs to know about its job. */
export interface PartitionContext {
  readonly store: StateStore;
  readonly jobName: string;
  readonly job: ResolvedJob;
  readonly partition: number;
  /** `skip`: a key whose reduce or merge fails is set aside as a dead letter (default `fail`). */
  readonly onError?: 'fail' | 'skip';
  /** The watermark the run starts from (a window with lateness; absent: none yet). */
  readonly watermarkMs?: number;
  /**
   * Checkpoints are copied off the machine (a cluster run): each layer then lists the keys written
   * into its version ahead of the checkpoint (`CheckpointLayer.earlier`), which the copy needs.
   */
  readonly copied?: boolean;
}

/** What one checkpoint of a partition wrote. */
export interface CheckpointLayer {
  /**
   * Keys changed since the checkpoint before and not written ahead of it (see `earlier`);
   * `undefined` deletes.
   */
  readonly changes: ReadonlyMap<CanonicalKey, unknown>;
  /**
   * Keys written into this version ahead of the checkpoint, over the memory budget: their values
   * at the version are in the store, not in `changes` (a key changed again is in both; `changes`
   * holds its value). Listed only for a partition whose checkpoints are copied (else empty).
   */
  readonly earlier: readonly CanonicalKey[];
  /**
   * The MessagePack encoding of each value in `changes` (deleted keys have none): computed once
   * for the digest, reused by the copy kept off the machine.
   */
  readonly encoded: ReadonlyMap<CanonicalKey, Uint8Array>;
  readonly batches: readonly string[];
  /** Live keys after the write. */
  readonly keyCount: number;
  /** Keys, bytes and hash of the partition after the write. */
  readonly digest: StateDigest;
  /** Dead letters written with it. */
  readonly deadLetters: readonly DeadLetter[];
  /** Dead letters set aside since the checkpoint before (kept or only counted). */
  readonly deadLetterCount: number;
  /** The watermark after the layer's last batch (a window with lateness; absent: none yet). */
  readonly watermarkMs?: number;
  /** Late records (not merged) in the layer's batches. */
  readonly lateRecords: number;
}

/**
 * Merges batches of one partition and writes its checkpoints.
 *
 * Reads of previous state go through `cache` (current value of every key seen, `undefined` for
 * known-absent keys). While `cacheComplete` holds (the partition was empty when opened and nothing
 * was evicted since) a key missing from the cache is absent without asking the store. Eviction
 * only drops keys whose latest value is already in the store (not in `dirty` or a layer being
 * written). Over the byte budget, `relieve` writes `dirty` into the store as part of the pending
 * version (an uncommitted write, like a checkpoint's before its commit): reads as of `Infinity`
 * then find those values in the store, the committed versions do not see them, and a crash or a
 * failed run discards them with the rest of the version (docs/decisions/0040).
 */
export class PartitionMerger {
  private dirty = new Map<CanonicalKey, unknown>();
  private readonly flushing: Array<Map<CanonicalKey, unknown>> = [];
  private readonly cache = new Map<CanonicalKey, unknown>();
  private cacheComplete: boolean;
  private batchesSinceCut: string[] = [];
  /**
   * Per key in `dirty`: the value the digest counts for it, its value as of the last cut or as of
   * the last write ahead of the cut (`relieve`).
   */
  private origins = new Map<CanonicalKey, unknown>();
  /** Approximate bytes of the cache's keys and values (`entryBytes`), `dirty` and layers included. */
  private cacheBytes = 0;
  /** Approximate bytes of the keys and values in `dirty`. */
  private dirtyBytes = 0;
  /** Keys written into the pending version ahead of its checkpoint (only when `ctx.copied`). */
  private earlier: Set<CanonicalKey> | undefined;
  /**
   * Entry digests of values as of the last cut, kept for keys a checkpoint wrote (and the cache
   * holds): the next checkpoint that changes such a key subtracts this instead of encoding and
   * hashing its old value again. Evicted with the cache, so it never holds more keys than it.
   */
  private readonly cutDigests = new Map<CanonicalKey, EntryDigest>();
  /** Dead letters since the last cut. */
  private readonly deadLetters: DeadLetterBox;
  /** Checkpoint writes still in flight (each removes itself when it settles). */
  private readonly pendingWrites = new Set<Promise<void>>();
  /** The watermark, for a window with lateness (docs/decisions/0022). */
  private readonly watermark: Watermark | undefined;
  /** Late records since the last cut (counted from partition 0's markers only). */
  private lateRecords = 0;
  /** Windows starting at or before this were dropped from the state (ms), since this merger opened. */
  private droppedThrough: number | undefined;
  /**
   * True while {@link mergeBatch} runs: the stored values it read are in the cache only (not in
   * `dirty` until merged), so a checkpoint write settling meanwhile must not evict (decision 0056).
   */
  private merging = false;

  private constructor(
    private readonly ctx: PartitionContext,
    /** Live keys in the partition (after everything merged so far). */
    public keyCount: number,
    /** Most keys the cache holds before evicting. */
    private readonly maxCachedKeys: number,
    /** Most bytes the partition's keys and values take before `relieve` acts. */
    private readonly maxStateBytes: number,
    /** Bytes and hash of the partition (after everything merged so far). */
    private readonly digest: DigestTracker,
  ) {
    this.cacheComplete = keyCount === 0;
    this.deadLetters = new DeadLetterBox(ctx.jobName);
    this.watermark = watermarkOf(ctx.job.window, ctx.watermarkMs);
    if (ctx.copied === true) this.earlier = new Set();
  }

  /** Opens a partition at the store's latest written state. */
  static async open(ctx: PartitionContext, budget: PartitionBudget = {}): Promise<PartitionMerger> {
    const maxCachedKeys = budget.maxCachedKeys ?? DEFAULT_MAX_CACHED_KEYS;
    const maxStateBytes = budget.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES;
    const { store, jobName, partition } = ctx;
    const keys = await store.keyCount(jobName, partition, Number.POSITIVE_INFINITY);
    let digest = await store.partitionDigest(jobName, partition, Number.POSITIVE_INFINITY);
    if (digest === undefined && keys > 0) {
      // State written before digests were kept: computed once from a scan, kept from now on.
      const tracker = DigestTracker.from(undefined);
      for await (const [k, v] of store.scan(jobName, partition, { asOf: Number.POSITIVE_INFINITY })) {
        tracker.add(k, v);
      }
      digest = tracker.digest(keys);
    }
    return new PartitionMerger(ctx, keys, maxCachedKeys, maxStateBytes, DigestTracker.from(digest));
  }

  /** Keeps dead letters (from map, or from this partition's user code) to write with the next checkpoint. */
  setAside(letters: readonly DeadLetter[]): void {
    this.deadLetters.add(letters);
  }

  private async previous(keys: Iterable<CanonicalKey>): Promise<void> {
    if (this.cacheComplete) return;
    const missing: CanonicalKey[] = [];
    for (const k of keys) if (!this.cache.has(k)) missing.push(k);
    if (missing.length === 0) return;
    const { store, jobName, partition } = this.ctx;
    const values = await store.getMany(jobName, partition, missing, Number.POSITIVE_INFINITY);
    let bytes = 0;
    for (let i = 0; i < missing.length; i++) {
      const k = missing[i] as CanonicalKey;
      this.cache.set(k, values[i]);
      bytes += entryBytes(k, values[i]);
    }
    this.cacheBytes += bytes;
  }

  /**
   * Drops keys whose value is in the store from the cache when it has grown past a bound (keys or
   * bytes), down to half of each; keys in `dirty` or in a layer being written stay.
   */
  private evict(): void {
    if (this.cache.size <= this.maxCachedKeys && this.cacheBytes <= this.maxStateBytes) return;
    this.cacheComplete = false;
    const keys = this.maxCachedKeys / 2;
    const bytes = this.maxStateBytes / 2;
    for (const [k, v] of this.cache) {
      if (this.cache.size <= keys && this.cacheBytes <= bytes) break;
      if (this.dirty.has(k) || this.flushing.some((layer) => layer.has(k))) continue;
      this.cache.delete(k);
      this.cacheBytes -= entryBytes(k, v);
      this.cutDigests.delete(k);
    }
  }

  /**
   * Records a key's new value (in `dirty` and the cache) and what it costs. `beforeBytes` is
   * `approxBytes(before)` measured before `merge` ran (which may have changed `before` in place);
   * `before` is the key's value before the change (`undefined`: absent).
   * Hot path: one `set` per map, whether the key was there told by the map's size (not a `has`),
   * and an origin kept only for a key that had a value (an absent origin reads as `undefined`).
   */
  private changed(k: CanonicalKey, before: unknown, beforeBytes: number, after: unknown): void {
    const afterBytes = approxBytes(after);
    const { dirty, cache } = this;
    const dirtyKeys = dirty.size;
    dirty.set(k, after);
    if (dirty.size === dirtyKeys) this.dirtyBytes += afterBytes - beforeBytes;
    else {
      if (before !== undefined) this.origins.set(k, before);
      this.dirtyBytes += entryBytes(k, after);
    }
    const cachedKeys = cache.size;
    cache.set(k, after);
    this.cacheBytes += cache.size === cachedKeys ? afterBytes - beforeBytes : entryBytes(k, after);
  }

  /** Approximate bytes of keys and values held (for tests and metrics). */
  get heldBytes(): number {
    return this.cacheBytes;
  }

  /**
   * Keeps the partition within `maxStateBytes` after a batch: drops cached values the store holds;
   * if that is not enough, waits for checkpoint writes in flight (their layers become droppable);
   * if the changed values still do not fit, writes them into `version` (the version the next
   * checkpoint writes, not committed before it) and drops them. The partition's drain awaits it,
   * so nothing merges into this partition meanwhile.
   */
  async relieve(version: number): Promise<void> {
    if (this.cacheBytes <= this.maxStateBytes) return;
    this.evict();
    if (this.cacheBytes <= this.maxStateBytes) return;
    // Also orders the writes: every earlier version's write lands before this one starts.
    await this.settle();
    if (this.cacheBytes <= this.maxStateBytes || this.dirty.size === 0) return;
    await this.writeAhead(version);
    this.evict();
  }

  /**
   * Writes `dirty` into `version` ahead of its checkpoint: state entries and the partition's
   * digest as of now (the store then holds everything merged so far), no batch record (the
   * checkpoint writes it, with the rest); the digest moves over the written values now.
   */
  private async writeAhead(version: number): Promise<void> {
    const layer = this.dirty;
    await this.cutDigest(layer);
    this.dirty = new Map();
    this.origins = new Map();
    this.dirtyBytes = 0;
    if (this.earlier !== undefined) for (const k of layer.keys()) this.earlier.add(k);
    this.flushing.push(layer);
    const { store, jobName, partition } = this.ctx;
    try {
      await store.writePartition({
        job: jobName,
        partition,
        version,
        changes: layer,
        batches: [],
        digest: this.digest.digest(this.keyCount),
      });
    } finally {
      this.flushing.splice(this.flushing.indexOf(layer), 1);
    }
  }

  /**
   * Reduces one batch's values and merges them into the state; then merges the reduced partials
   * of salted hot keys (`[key, partial, …]` lists from the partitions that held their sub-keys).
   * A throw, or a value that cannot be stored (see `unstorableReason`), fails the run naming the
   * function and key; with `onError: 'skip'` the key keeps its state and a dead letter records why.
   * `failed` names salted keys whose sub-key reduce threw on another partition (`skip`): they keep
   * their state for this batch (own values and partials alike), with one dead letter each here.
   */
  async mergeBatch(
    batchId: string,
    buffer: ValueBuffer,
    partials: readonly unknown[][] = [],
    times?: BatchEventTimes,
    failed?: ReadonlyMap<CanonicalKey, string>,
  ): Promise<void> {
    this.merging = true;
    try {
      await this.mergeInto(batchId, buffer, partials, times, failed);
    } finally {
      this.merging = false;
      // What a write that settled during the merge would have evicted (the batch's keys are dirty now).
      this.evict();
    }
  }

  /**
   * {@link mergeBatch}'s work. Reads the batch's stored values into the cache first (`previous`),
   * then merges key by key in time slices: between the two, only `evict` could drop a value read,
   * and it does not run while `merging` is set.
   */
  private async mergeInto(
    batchId: string,
    buffer: ValueBuffer,
    partials: readonly unknown[][],
    times: BatchEventTimes | undefined,
    failed: ReadonlyMap<CanonicalKey, string> | undefined,
  ): Promise<void> {
    const { job } = this.ctx;
    const merge = job.merge;
    if (merge === undefined) throw new MrmError(ErrorCode.Internal, 'mergeBatch on a job without merge');
    const { watermark } = this;
    // Values of final windows (as of the batch before this one) are late: not merged.
    const isFinal = watermark?.watermarkMs !== undefined ? (k: CanonicalKey) => watermark.isFinal(k) : undefined;
    // Keys whose salted part failed elsewhere keep their state, as if their reduce had thrown here.
    const final =
      failed === undefined || failed.size === 0 ? isFinal : (k: CanonicalKey) => failed.has(k) || isFinal?.(k) === true;
    if (watermark !== undefined) this.countLate(batchId, watermark, times);
    for (const [key, message] of failed ?? []) {
      this.deadLetters.add([{ stage: 'reduce', batchId, key, message, atMs: Date.now() }]);
    }
    await this.previous(
      final === undefined ? buffer.values.keys() : [...buffer.values.keys()].filter((k) => !final(k)),
    );
    if (partials.length > 0) await this.previous([...partialEntries(partials)].map(([k]) => k));
    const { cache } = this;
    const reduce = job.reduce;
    const skip = this.ctx.onError === 'skip';
    let fn = 'reduce';
    let ck: CanonicalKey = '';
    let added = 0;
    for (const [k, values] of buffer.values) {
      // In slices: frames arriving meanwhile are received and credited (time-slice.ts). Nothing
      // else touches this partition's state until the merge ends (one drain per partition).
      if (sliceDue()) await nextSlice();
      if (final?.(k) === true) continue;
      // One try per key (not a closure per call): this is the merge hot path.
      try {
        ck = k;
        const key = keyOfCanonical(k);
        fn = 'reduce';
        const reduced = reduce(key, values);
        const bad = unstorableReason(reduced);
        if (bad !== undefined) throw new BadResult(bad);
        const before = cache.get(k);
        const beforeBytes = approxBytes(before);
        fn = 'merge';
        const after = merge(key, before, reduced);
        if (after !== undefined) {
          const badMerge = unstorableReason(after);
          if (badMerge !== undefined) throw new BadResult(badMerge);
        }
        if (before === undefined) {
          if (after !== undefined) added++;
        } else if (after === undefined) added--;
        this.changed(k, before, beforeBytes, after);
      } catch (e) {
        if (!skip) {
          this.keyCount += added;
          throw userCodeError(fn, ck, batchId, e, this.ctx.jobName);
        }
        this.deadLetters.add([
          {
            stage: fn === 'merge' ? 'merge' : 'reduce',
            batchId,
            key: ck,
            message: resultMessage(fn, e),
            atMs: Date.now(),
          },
        ]);
      }
    }
    this.keyCount += added;
    if (partials.length > 0) this.mergePartials(batchId, merge, partials, final);
    this.batchesSinceCut.push(batchId);
    watermark?.advance(times);
  }

  /** Counts a batch's late records (and sets them aside with `onError: 'skip'`). */
  private countLate(batchId: string, watermark: Watermark, times: BatchEventTimes | undefined): void {
    const late = watermark.lateIn(times);
    if (late.records === 0) return;
    this.lateRecords += late.records;
    if (this.ctx.onError !== 'skip') return;
    const at = new Date(watermark.watermarkMs as number).toISOString();
    this.deadLetters.add(
      late.lines.map(([endMs, line]) => ({
        stage: 'late' as const,
        batchId,
        ...(times?.source !== undefined ? { source: times.source } : {}),
        line,
        message: `late: its window ended at ${new Date(endMs).toISOString()}, at or before the watermark ${at}`,
        atMs: Date.now(),
      })),
    );
  }

  /**
   * An idle stream's watermark advance, recorded in the run's plan by the coordinator
   * (docs/decisions/0027): W moves at least to `ms` (nothing before the first event time).
   */
  advanceWatermark(ms: number): void {
    this.watermark?.advanceTo(ms);
  }

  /**
   * Drops the windows that are final and past retention (a window with lateness and `retain`):
   * their keys are deleted at the next checkpoint, so the state stays bounded on an endless stream.
   * Waits for checkpoint writes in flight first (the store then holds everything but `dirty`).
   */
  async dropFinalWindows(): Promise<void> {
    const cutoff = this.watermark?.dropCutoffMs();
    if (cutoff === undefined || (this.droppedThrough !== undefined && cutoff <= this.droppedThrough)) return;
    await this.settle();
    const { store, jobName, partition } = this.ctx;
    const drops = Watermark.startsAtOrBefore(cutoff);
    const start =
      this.droppedThrough !== undefined ? `["${new Date(this.droppedThrough + 1).toISOString()}` : undefined;
    for await (const [k, stored] of store.scan(jobName, partition, {
      asOf: Number.POSITIVE_INFINITY,
      ...(start !== undefined ? { start } : {}),
    })) {
      if (!drops(k)) {
        // Keys sort by window start (ISO text); only extended years (±YYYYYY) sort out of order, first.
        if (k.charCodeAt(2) >= 48 && k.charCodeAt(2) <= 57) break;
        continue;
      }
      this.drop(k, stored);
    }
    for (const [k, value] of this.dirty) if (value !== undefined && drops(k)) this.drop(k, undefined);
    this.droppedThrough = cutoff;
  }

  /** Deletes a key of a dropped window; `stored` is its value in the store (as of the last cut). */
  private drop(k: CanonicalKey, stored: unknown): void {
    const { dirty } = this;
    const current = dirty.has(k) ? dirty.get(k) : stored;
    if (current === undefined) return;
    this.changed(k, current, approxBytes(current), undefined);
    this.keyCount--;
  }

  /** Folds partials into their keys' state one after another (salting, decisions/0016). */
  private mergePartials(
    batchId: string,
    merge: NonNullable<ResolvedJob['merge']>,
    partials: readonly unknown[][],
    final: ((k: CanonicalKey) => boolean) | undefined,
  ): void {
    const { cache } = this;
    for (const [k, partial] of partialEntries(partials)) {
      if (final?.(k) === true) continue;
      const before = cache.get(k);
      const beforeBytes = approxBytes(before);
      let after: unknown;
      try {
        after = merge(keyOfCanonical(k), before, partial);
        const bad = after === undefined ? undefined : unstorableReason(after);
        if (bad !== undefined) throw new BadResult(bad);
      } catch (e) {
        if (this.ctx.onError !== 'skip') throw userCodeError('merge', k, batchId, e, this.ctx.jobName);
        this.deadLetters.add([
          { stage: 'merge', batchId, key: k, message: resultMessage('merge', e), atMs: Date.now() },
        ]);
        continue;
      }
      if (before === undefined && after !== undefined) this.keyCount++;
      else if (before !== undefined && after === undefined) this.keyCount--;
      this.changed(k, before, beforeBytes, after);
    }
  }

  /** Dead letters set aside since the last checkpoint (all, kept or not). */
  get deadLettersPending(): number {
    return this.deadLetters.count;
  }

  /**
   * Writes the changes since the last checkpoint as `version`; resolves when durable, with what
   * was written (for the copy kept off the machine, the digest and the dead letters).
   */
  async checkpoint(version: number): Promise<CheckpointLayer> {
    return (await this.startCheckpoint(version)).written;
  }

  /**
   * Hashes the cut (in slices, see time-slice.ts), then starts writing it as `version` and
   * resolves with the write under way: merging may go on once this resolves, not before (the
   * digest reads the changes a merge would add to). `layer` is what is being written, known
   * before the write is (a delta's copy can ship while it goes on); `written` resolves with it
   * once the write is durable.
   */
  async startCheckpoint(
    version: number,
  ): Promise<{ readonly layer: CheckpointLayer; readonly written: Promise<CheckpointLayer> }> {
    const encoded = await this.cutDigest(this.dirty);
    const { store, jobName, partition } = this.ctx;
    const layer = this.dirty;
    this.dirty = new Map();
    this.dirtyBytes = 0;
    this.flushing.push(layer);
    const earlier = this.earlier === undefined ? [] : [...this.earlier];
    this.earlier?.clear();
    const batches = this.batchesSinceCut;
    this.batchesSinceCut = [];
    this.origins = new Map();
    const setAside = this.deadLetters.count;
    const deadLetters = this.deadLetters.take();
    const lateRecords = this.lateRecords;
    this.lateRecords = 0;
    const watermarkMs = this.watermark?.watermarkMs;
    const digest = this.digest.digest(this.keyCount);
    const write = store
      .writePartition({ job: jobName, partition, version, changes: layer, batches, digest, deadLetters })
      .finally(() => {
        const i = this.flushing.indexOf(layer);
        if (i >= 0) this.flushing.splice(i, 1);
        // During a merge the batch's values read but not merged yet are evictable: it evicts after.
        if (!this.merging) this.evict();
      });
    this.pendingWrites.add(write);
    const forget = () => void this.pendingWrites.delete(write);
    write.then(forget, forget);
    const written: CheckpointLayer = {
      changes: layer,
      earlier,
      encoded,
      batches,
      keyCount: this.keyCount,
      digest,
      deadLetters,
      deadLetterCount: setAside,
      lateRecords,
      ...(watermarkMs !== undefined ? { watermarkMs } : {}),
    };
    return { layer: written, written: write.then(() => written) };
  }

  /**
   * Moves the digest from the last cut to this one over the keys `layer` changed: each key's entry
   * as of the last cut out (kept from the checkpoint that wrote it, else computed from its origin),
   * its new entry in. Returns the new values' encodings (the copy reuses them). In slices: the
   * layer is still `dirty`, which only this partition's drain (waiting for this) changes, and
   * whose keys an eviction leaves alone.
   */
  private async cutDigest(layer: ReadonlyMap<CanonicalKey, unknown>): Promise<Map<CanonicalKey, Uint8Array>> {
    const { digest, cutDigests, origins } = this;
    const encoded = new Map<CanonicalKey, Uint8Array>();
    for (const [k, after] of layer) {
      if (sliceDue()) await nextSlice();
      const before = origins.get(k);
      const was = cutDigests.get(k) ?? (before === undefined ? undefined : entryDigest(k, before));
      if (was !== undefined) digest.addEntry(was, -1);
      if (after === undefined) {
        cutDigests.delete(k);
        continue;
      }
      const bytes = encode(after);
      const now = encodedEntryDigest(k, bytes);
      digest.addEntry(now);
      cutDigests.set(k, now);
      encoded.set(k, bytes);
    }
    return encoded;
  }

  /** Waits for every write started so far (successful or not). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.pendingWrites]);
  }
}

/** A user function returned a value that cannot be stored (not a throw of the user's code). */
export class BadResult extends Error {}

/** The message of a dead letter: what the function did. */
export function resultMessage(fn: string, e: unknown): string {
  return e instanceof BadResult ? `${fn} returned ${e.message}` : `${fn} threw: ${errorMessage(e)}`;
}

/** One line naming the job, the user function, key and batch of a throw or of a bad result. */
export function userCodeError(fn: string, ck: CanonicalKey, batchId: string, e: unknown, job?: string): MrmError {
  const where = `${job === undefined ? '' : `of job '${job}' `}`;
  const message =
    e instanceof BadResult
      ? `${fn} ${where}returned ${e.message} for key ${ck} in batch ${batchId}: return a value MessagePack and JSON carry (see docs/job-api.md)`
      : `${fn} ${where}threw for key ${ck} in batch ${batchId}: ${errorMessage(e)}`;
  return new MrmError(e instanceof BadResult ? ErrorCode.BadValue : ErrorCode.UserCode, message, {
    cause: e,
    details: { key: ck, batchId },
  });
}

/** Runs user code, turning a throw into {@link userCodeError}. */
export function callUser<T>(fn: string, ck: CanonicalKey, batchId: string, call: () => T, job?: string): T {
  try {
    return call();
  } catch (e) {
    throw userCodeError(fn, ck, batchId, e, job);
  }
}

/** Canonical keys and partials of flat `[key, partial, …]` lists. */
function* partialEntries(lists: readonly unknown[][]): Generator<[CanonicalKey, unknown]> {
  for (const list of lists) {
    for (let i = 0; i + 1 < list.length; i += 2) yield [list[i] as CanonicalKey, list[i + 1]];
  }
}
