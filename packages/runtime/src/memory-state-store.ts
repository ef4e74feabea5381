/**
 * A {@link StateStore} in memory, for unit tests of the roles. It keeps the LMDB store's semantics
 * (checked by the same conformance suite): versions, base, tombstones, batch records, discardAbove.
 * Values are kept MessagePack-encoded with core's codec, so a test sees exactly the values (and the
 * `E_BAD_VALUE` failures) the LMDB store would give it, and never aliases the caller's objects.
 *
 * ```ts
 * const store = new MemoryStateStore();
 * await store.writePartition({ job: 'wc', partition: 0, version: 1, changes: [['"a"', 1]], batches: ['b1'] });
 * await store.get('wc', 0, '"a"', Infinity); // 1
 * ```
 */
import {
  type CanonicalKey,
  checkRestoredLetters,
  compareCanonicalKeys,
  decode,
  ErrorCode,
  MrmError,
  type PartitionRestore,
  type PartitionWrite,
  type PruneResult,
  type ScanOptions,
  type StateDigest,
  type StateStore,
  type StoredDeadLetter,
  type StoreState,
  type VersionInfo,
  versionsToCommit,
} from '@mrm/core';
import { encodeValue } from './encode-value.js';
import { MemorySpillArea } from './memory-spill-area.js';

/** One write of a key: its encoded value (`undefined` encoded is the tombstone). */
interface Entry {
  readonly version: number;
  readonly bytes: Uint8Array;
}

class PartitionState {
  /** Each key's entries, oldest version first. */
  readonly keys = new Map<CanonicalKey, Entry[]>();
  /** Batch id → version it was first merged at. */
  readonly batches = new Map<string, number>();
  /** Version → keyCount (and digest, when given) of each write of the partition (`null`: neither). */
  readonly writes = new Map<number, { keys: number; digest?: StateDigest } | null>();
}

class JobState {
  readonly partitions = new Map<number, PartitionState>();
  /** Committed versions, oldest first. */
  versions: VersionInfo[] = [];
  readonly meta = new Map<string, Uint8Array>();
  /** Dead letters, in write order. */
  deadLetters: StoredDeadLetter[] = [];

  /** Whether the job shows in listJobs: it has versions, metadata or partition writes. */
  get listed(): boolean {
    if (this.versions.length > 0 || this.meta.size > 0) return true;
    for (const partition of this.partitions.values()) if (partition.writes.size > 0) return true;
    return false;
  }

  latest(asOf = Number.POSITIVE_INFINITY): VersionInfo | undefined {
    for (let i = this.versions.length - 1; i >= 0; i--) {
      const info = this.versions[i];
      if (info !== undefined && info.version <= asOf) return info;
    }
    return undefined;
  }
}

/** {@link StateStore} in memory. No I/O: construct it directly. */
export class MemoryStateStore implements StateStore {
  readonly spill: MemorySpillArea;
  #state: StoreState = 'open';
  readonly #jobs = new Map<string, JobState>();

  constructor() {
    this.spill = new MemorySpillArea((operation) => this.#assertOpen(operation));
  }

  get state(): StoreState {
    return this.#state;
  }

  async listVersions(job: string): Promise<VersionInfo[]> {
    this.#assertOpen('listVersions');
    return (this.#jobs.get(job)?.versions ?? []).map(copy);
  }

  async latestVersion(job: string): Promise<VersionInfo | undefined> {
    this.#assertOpen('latestVersion');
    const latest = this.#jobs.get(job)?.latest();
    return latest === undefined ? undefined : copy(latest);
  }

  async get(job: string, partition: number, key: CanonicalKey, asOf: number): Promise<unknown> {
    this.#assertOpen('get');
    checkAsOf(asOf);
    const entries = this.#jobs.get(job)?.partitions.get(partition)?.keys.get(key);
    return visible(entries, asOf, this.#baseAt(job, asOf));
  }

  async getMany(job: string, partition: number, keys: readonly CanonicalKey[], asOf: number): Promise<unknown[]> {
    this.#assertOpen('getMany');
    checkAsOf(asOf);
    const state = this.#jobs.get(job)?.partitions.get(partition);
    const base = this.#baseAt(job, asOf);
    return keys.map((key) => visible(state?.keys.get(key), asOf, base));
  }

  async *scan(job: string, partition: number, options: ScanOptions): AsyncIterable<readonly [CanonicalKey, unknown]> {
    this.#assertOpen('scan');
    const { asOf, start } = options;
    checkAsOf(asOf);
    const state = this.#jobs.get(job)?.partitions.get(partition);
    if (state === undefined) return;
    const base = this.#baseAt(job, asOf);
    const keys = [...state.keys.keys()]
      .filter((key) => start === undefined || compareCanonicalKeys(key, start) >= 0)
      .sort(compareCanonicalKeys);
    for (const key of keys) {
      const value = visible(state.keys.get(key), asOf, base);
      if (value === undefined) continue;
      yield [key, value];
      this.#assertOpen('scan');
    }
  }

  async isBatchMerged(job: string, partition: number, batchId: string): Promise<boolean> {
    this.#assertOpen('isBatchMerged');
    return this.#jobs.get(job)?.partitions.get(partition)?.batches.has(batchId) ?? false;
  }

  async mergedBatches(job: string, partition: number): Promise<Set<string>> {
    this.#assertOpen('mergedBatches');
    return new Set(this.#jobs.get(job)?.partitions.get(partition)?.batches.keys());
  }

  async keyCount(job: string, partition: number, asOf: number): Promise<number> {
    this.#assertOpen('keyCount');
    checkAsOf(asOf);
    return this.#newestWrite(job, partition, asOf)?.keys ?? 0;
  }

  async partitionDigest(job: string, partition: number, asOf: number): Promise<StateDigest | undefined> {
    this.#assertOpen('partitionDigest');
    checkAsOf(asOf);
    const digest = this.#newestWrite(job, partition, asOf)?.digest;
    return digest === undefined ? undefined : { ...digest };
  }

  #newestWrite(job: string, partition: number, asOf: number): { keys: number; digest?: StateDigest } | undefined {
    let newest = 0;
    let found: { keys: number; digest?: StateDigest } | undefined;
    for (const [version, stat] of this.#jobs.get(job)?.partitions.get(partition)?.writes ?? []) {
      if (stat !== null && version <= asOf && version > newest) [newest, found] = [version, stat];
    }
    return found;
  }

  async writePartition(write: PartitionWrite): Promise<void> {
    this.#assertOpen('writePartition');
    this.#writePartition(write, false);
  }

  async restorePartition(restore: PartitionRestore): Promise<void> {
    this.#assertOpen('restorePartition');
    const { deadLetters = [], ...write } = restore;
    checkRestoredLetters(restore);
    this.#writePartition(write, true);
    const jobState = this.#job(restore.job);
    jobState.deadLetters = jobState.deadLetters.filter((letter) => letter.partition !== restore.partition);
    for (const letter of deadLetters) jobState.deadLetters.push({ ...letter, partition: restore.partition });
  }

  #writePartition(write: PartitionWrite, replace: boolean): void {
    const { job, partition, version, digest } = write;
    const keyCount = digest?.keys ?? write.keyCount;
    checkVersionNumber(version, `partition write of job ${job}`);
    if (!(Number.isSafeInteger(partition) && partition >= 0)) {
      throw new MrmError(ErrorCode.State, `partition ${String(partition)} of job ${job} is not a whole number from 0`);
    }
    if (keyCount !== undefined && !(Number.isSafeInteger(keyCount) && keyCount >= 0)) {
      throw new MrmError(
        ErrorCode.State,
        `keyCount ${keyCount} of partition ${partition} of job ${job} is not a count`,
      );
    }
    const where = `partition ${partition} of job ${job} at version ${version}`;
    // Encode everything before touching the state: the write is all or nothing.
    const changes = [...write.changes].map(
      ([key, value]) => [key, encodeValue(value, `key ${key} in ${where}`)] as const,
    );
    const batchIds = [...write.batches];
    const jobState = this.#job(job);
    if (replace) jobState.partitions.delete(partition);
    else assertAboveCommitted(jobState, job, version, `write ${where}`);
    let state = jobState.partitions.get(partition);
    if (state === undefined) {
      state = new PartitionState();
      jobState.partitions.set(partition, state);
    }
    for (const [key, bytes] of changes) {
      const entries = state.keys.get(key) ?? [];
      state.keys.set(key, entries);
      const at = entries.findIndex((entry) => entry.version >= version);
      if (at === -1) entries.push({ version, bytes });
      else entries.splice(at, entries[at]?.version === version ? 1 : 0, { version, bytes });
    }
    for (const id of batchIds) {
      const merged = state.batches.get(id);
      if (merged === undefined || merged > version) state.batches.set(id, version);
    }
    if (keyCount !== undefined || !state.writes.has(version)) {
      state.writes.set(
        version,
        keyCount === undefined ? null : { keys: keyCount, ...(digest !== undefined ? { digest: { ...digest } } : {}) },
      );
    }
    for (const letter of write.deadLetters ?? []) jobState.deadLetters.push({ ...letter, version, partition });
  }

  async commitVersion(job: string, info: VersionInfo): Promise<void> {
    await this.commitVersions(job, [info]);
  }

  async commitVersions(job: string, infos: readonly VersionInfo[]): Promise<void> {
    this.#assertOpen('commitVersion');
    // Everything is checked and encoded before anything is kept: all or none.
    const records = infos.map((info) => {
      checkVersionNumber(info.version, `commit of job ${job}`);
      return decode<VersionInfo>(encodeValue({ ...info }, `version ${info.version} of job ${job}`));
    });
    const jobState = this.#job(job);
    // A repeat of this very commit (a request delivered twice, racing) is done already.
    const fresh = versionsToCommit(job, records, (v) => jobState.versions.find((info) => info.version === v));
    for (const record of fresh) {
      assertAboveCommitted(jobState, job, record.version, `commit version ${record.version} of job ${job}`);
    }
    jobState.versions.push(...fresh);
  }

  async discardAbove(job: string, version: number): Promise<void> {
    this.#assertOpen('discardAbove');
    if (!(Number.isSafeInteger(version) && version >= 0)) {
      throw new MrmError(ErrorCode.NoSuchVersion, `cannot discard job ${job} above version ${version}`);
    }
    const jobState = this.#jobs.get(job);
    if (jobState === undefined) return;
    jobState.versions = jobState.versions.filter((info) => info.version <= version);
    jobState.deadLetters = jobState.deadLetters.filter((letter) => letter.version <= version);
    for (const state of jobState.partitions.values()) {
      for (const [key, entries] of state.keys) {
        const kept = entries.filter((entry) => entry.version <= version);
        if (kept.length === 0) state.keys.delete(key);
        else state.keys.set(key, kept);
      }
      for (const [id, merged] of state.batches) if (merged > version) state.batches.delete(id);
      for (const written of state.writes.keys()) if (written > version) state.writes.delete(written);
    }
  }

  async pruneBelow(job: string, oldestKept: number): Promise<PruneResult> {
    this.#assertOpen('pruneBelow');
    const jobState = this.#jobs.get(job);
    const kept = jobState?.latest(oldestKept);
    if (jobState === undefined || kept?.version !== oldestKept) {
      throw new MrmError(
        ErrorCode.NoSuchVersion,
        `cannot prune job ${job} below version ${oldestKept}: it is not committed`,
      );
    }
    let entries = 0;
    for (const state of jobState.partitions.values()) {
      for (const [key, all] of state.keys) {
        // Oldest first: the newest entry at or below oldestKept is the value as of it.
        let anchor = -1;
        for (let i = 0; i < all.length; i++) if ((all[i] as Entry).version <= oldestKept) anchor = i;
        const first = all[anchor];
        const absent = first !== undefined && (first.version < kept.base || decode(first.bytes) === undefined);
        const remaining = all.slice(absent ? anchor + 1 : Math.max(anchor, 0));
        entries += all.length - remaining.length;
        if (remaining.length === 0) state.keys.delete(key);
        else state.keys.set(key, remaining);
      }
      const below = [...state.writes].filter(([v, stat]) => v <= oldestKept && stat !== null).map(([v]) => v);
      const anchorWrite = Math.max(0, ...below);
      for (const v of [...state.writes.keys()]) if (v < anchorWrite) state.writes.delete(v);
      // Batch records of pruned versions go with them (decisions/0049).
      for (const [id, merged] of state.batches) if (merged < oldestKept) state.batches.delete(id);
    }
    const before = jobState.versions.length;
    jobState.versions = jobState.versions.filter((info) => info.version >= oldestKept);
    return { entries, versions: before - jobState.versions.length };
  }

  async *deadLetters(job: string, asOf: number): AsyncIterable<StoredDeadLetter> {
    this.#assertOpen('deadLetters');
    checkAsOf(asOf);
    const letters = (this.#jobs.get(job)?.deadLetters ?? []).filter((letter) => letter.version <= asOf);
    for (const letter of letters.sort((a, b) => a.version - b.version || a.partition - b.partition))
      yield { ...letter };
  }

  async dropJob(job: string): Promise<void> {
    this.#assertOpen('dropJob');
    this.#jobs.delete(job);
  }

  async getMeta<T = unknown>(job: string, name: string): Promise<T | undefined> {
    this.#assertOpen('getMeta');
    const bytes = this.#jobs.get(job)?.meta.get(name);
    return bytes === undefined ? undefined : decode<T>(bytes);
  }

  async putMeta(job: string, name: string, value: unknown): Promise<void> {
    this.#assertOpen('putMeta');
    const bytes = encodeValue(value, `metadata ${name} of job ${job}`);
    this.#job(job).meta.set(name, bytes);
  }

  async deleteMeta(job: string, name: string): Promise<void> {
    this.#assertOpen('deleteMeta');
    this.#jobs.get(job)?.meta.delete(name);
  }

  async listMeta(job: string, prefix: string): Promise<string[]> {
    this.#assertOpen('listMeta');
    const names = [...(this.#jobs.get(job)?.meta.keys() ?? [])];
    return names.filter((name) => name.startsWith(prefix)).sort(compareCanonicalKeys);
  }

  async listJobs(): Promise<string[]> {
    this.#assertOpen('listJobs');
    return [...this.#jobs]
      .filter(([, state]) => state.listed)
      .map(([job]) => job)
      .sort();
  }

  /** Closes the store; later calls reject with `E_STATE`. Nothing is pending in memory. */
  async close(): Promise<void> {
    this.#state = 'closed';
  }

  #job(job: string): JobState {
    let state = this.#jobs.get(job);
    if (state === undefined) {
      state = new JobState();
      this.#jobs.set(job, state);
    }
    return state;
  }

  #baseAt(job: string, asOf: number): number {
    return this.#jobs.get(job)?.latest(asOf)?.base ?? 0;
  }

  #assertOpen(operation: string): void {
    if (this.#state === 'closed') {
      throw new MrmError(ErrorCode.State, `${operation} on the in-memory state store, which is closed`);
    }
  }
}

/** The value of a key as of `asOf`: its newest entry at or below, unless a tombstone or below base. */
function visible(entries: readonly Entry[] | undefined, asOf: number, base: number): unknown {
  if (entries === undefined) return undefined;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i];
    if (entry === undefined || entry.version > asOf) continue;
    return entry.version < base ? undefined : decode(entry.bytes);
  }
  return undefined;
}

function assertAboveCommitted(state: JobState, job: string, version: number, what: string): void {
  const latest = state.latest();
  if (latest !== undefined && version <= latest.version) {
    throw new MrmError(ErrorCode.State, `cannot ${what}: version ${latest.version} of job ${job} is committed`);
  }
}

function copy(info: VersionInfo): VersionInfo {
  return { ...info };
}

function checkAsOf(asOf: number): void {
  if (typeof asOf !== 'number' || Number.isNaN(asOf) || asOf < 0) {
    throw new MrmError(ErrorCode.NoSuchVersion, `cannot read as of version ${String(asOf)}`);
  }
}

function checkVersionNumber(version: number, what: string): void {
  if (!(Number.isSafeInteger(version) && version >= 1)) {
    throw new MrmError(ErrorCode.State, `version ${String(version)} of ${what} is not a whole number from 1`);
  }
}
