/**
 * The StateStore port on LMDB: one environment (a directory) holding every job's multi-versioned
 * partition state, batch records, versions, metadata and the spill area. The key layout lives in
 * key-layout.ts and is described in docs/storage.md.
 *
 * ```ts
 * const store = await LmdbStateStore.open({ path: '.mrm/state' });
 * await store.writePartition({ job: 'wc', partition: 0, version: 1, changes: [['"a"', 1]], batches: ['b1'] });
 * await store.commitVersion('wc', { version: 1, createdAtMs: Date.now(), base: 0, batches: 1, records: 1, keys: 1, label: 'run' });
 * await store.get('wc', 0, '"a"', 1); // 1
 * await store.close();
 * ```
 */
import { mkdirSync } from 'node:fs';
import {
  type CanonicalKey,
  checkRestoredLetters,
  type DeadLetter,
  ErrorCode,
  errorMessage,
  isStateDigest,
  MrmError,
  MSGPACK_OPTIONS,
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
import { type DatabaseOptions, open, type RootDatabase } from 'lmdb';
import {
  afterJob,
  assertKeyFits,
  batchIdOf,
  batchKey,
  batchPartition,
  DB_NAMES,
  deadLetterKey,
  deadLettersAbove,
  deadLettersUpTo,
  jobOf,
  jobRange,
  LAYOUT_RECORD,
  LAYOUT_VERSION,
  LAYOUT_WITHOUT_LATEST,
  type LatestEntry,
  type LmdbKey,
  latestKeyOf,
  latestPartition,
  metaFrom,
  metaKey,
  metaNameOf,
  parseDeadLetterKey,
  parsePartStatKey,
  parseStateKey,
  partStatAbove,
  partStatKey,
  partStatsDownFrom,
  SPILL_EPOCH_RECORD,
  stateAsOf,
  stateKey,
  statePartition,
  versionKey,
  versionsAbove,
  versionsDownFrom,
} from './key-layout.js';
import { applyRepairs, buildLatest, type LatestRepair, noteWritten, repairsAbove } from './latest-index.js';
import { LmdbSpillArea } from './lmdb-spill-area.js';
import { type LmdbStoreOptions, type ResolvedLmdbStoreOptions, resolveLmdbStoreOptions } from './options.js';
import { pruneJob } from './prune.js';
import { StoreLifecycle } from './store-lifecycle.js';
import { removeInBatches, type StoreDatabase, writeAtomically } from './transactions.js';

type Databases = Readonly<Record<keyof typeof DB_NAMES, StoreDatabase>>;

/** A {@link StateStore} on LMDB. Open it with {@link LmdbStateStore.open}. */
export class LmdbStateStore implements StateStore {
  /** Where merge workers park values beyond their memory budget. */
  readonly spill: LmdbSpillArea;
  /** The options the store was opened with, resolved. */
  readonly options: ResolvedLmdbStoreOptions;
  readonly #root: RootDatabase;
  readonly #dbs: Databases;
  readonly #life: StoreLifecycle;
  /** False for a store of layout 1 opened read-only: it has no `latest` database to read. */
  readonly #hasLatest: boolean;
  #closing: Promise<void> | undefined;

  private constructor(
    options: ResolvedLmdbStoreOptions,
    root: RootDatabase,
    dbs: Databases,
    life: StoreLifecycle,
    session: Session,
  ) {
    this.options = options;
    this.#root = root;
    this.#dbs = dbs;
    this.#life = life;
    this.#hasLatest = session.hasLatest;
    this.spill = new LmdbSpillArea(dbs.spill, life, session.epoch);
  }

  /**
   * Opens (creating when missing) the environment at `options.path`. Rejects with `E_STATE` when it
   * cannot be opened or was written with another key layout.
   */
  static async open(options: LmdbStoreOptions): Promise<LmdbStateStore> {
    const resolved = resolveLmdbStoreOptions(options);
    const root = openEnvironment(resolved);
    try {
      const dbs = openDatabases(root);
      const session = await startSession(dbs, resolved);
      return new LmdbStateStore(resolved, root, dbs, new StoreLifecycle(resolved.path), session);
    } catch (e) {
      await root.close();
      throw e;
    }
  }

  get state(): StoreState {
    return this.#life.state;
  }

  /** Commits resolve only once flushed, unless the store was opened with `noSync`. */
  get #durable(): boolean {
    return !this.options.noSync;
  }

  async listVersions(job: string): Promise<VersionInfo[]> {
    this.#life.assertOpen('listVersions');
    return [...this.#dbs.versions.getRange(jobRange(job))].map((entry) => entry.value as VersionInfo);
  }

  async latestVersion(job: string): Promise<VersionInfo | undefined> {
    this.#life.assertOpen('latestVersion');
    return this.#committedAtOrBelow(job, Number.POSITIVE_INFINITY);
  }

  async get(job: string, partition: number, key: CanonicalKey, asOf: number): Promise<unknown> {
    this.#life.assertOpen('get');
    checkAsOf(asOf);
    return this.#visible(job, partition, key, asOf, this.#baseAt(job, asOf));
  }

  async getMany(job: string, partition: number, keys: readonly CanonicalKey[], asOf: number): Promise<unknown[]> {
    this.#life.assertOpen('getMany');
    checkAsOf(asOf);
    const base = this.#baseAt(job, asOf);
    return keys.map((key) => this.#visible(job, partition, key, asOf, base));
  }

  async *scan(job: string, partition: number, options: ScanOptions): AsyncIterable<readonly [CanonicalKey, unknown]> {
    this.#life.assertOpen('scan');
    const { asOf } = options;
    checkAsOf(asOf);
    const base = this.#baseAt(job, asOf);
    // As of the latest committed version or later, `latest` decides nearly every key; as of an
    // older version nearly every changed key would need its history, which the walk reads in order.
    const older = asOf < (this.#committedAtOrBelow(job, Number.POSITIVE_INFINITY)?.version ?? 0);
    const entries =
      this.#hasLatest && !older
        ? this.#newestEntries(job, partition, asOf, options.start)
        : this.#walkedEntries(job, partition, asOf, options.start);
    for (const { key, version, value } of entries) {
      if (value === undefined || version < base) continue;
      yield [key, value];
      // Never step the LMDB cursor again once the environment may be closed.
      this.#life.assertOpen('scan');
    }
  }

  /**
   * Each key's newest entry at or below `asOf`, in key order, from every entry of the partition:
   * each key's entries come newest first, so the first one at or below asOf decides the key.
   */
  *#walkedEntries(job: string, partition: number, asOf: number, start?: CanonicalKey): Iterable<ScannedEntry> {
    let decided: CanonicalKey | undefined;
    for (const entry of this.#dbs.state.getRange(statePartition(job, partition, start))) {
      const { key, version } = parseStateKey(entry.key);
      if (key === decided || version > asOf) continue;
      decided = key;
      yield { key, version, value: entry.value };
    }
  }

  /**
   * Each key's newest entry at or below `asOf`, in key order, from `latest`: one entry per key,
   * plus a range of the key's history in `state` when its newest entry is above `asOf`. Both read
   * in one read transaction, so the scan sees one snapshot.
   */
  *#newestEntries(job: string, partition: number, asOf: number, start?: CanonicalKey): Iterable<ScannedEntry> {
    const transaction = this.#root.useReadTransaction();
    try {
      const range = { ...latestPartition(job, partition, start), transaction };
      for (const entry of this.#dbs.latest.getRange(range)) {
        const key = latestKeyOf(entry.key);
        const [version, value] = entry.value as LatestEntry;
        if (version <= asOf) yield { key, version, value };
        else {
          const history = { ...stateAsOf(job, partition, key, asOf), transaction };
          for (const older of this.#dbs.state.getRange(history)) {
            yield { key, version: parseStateKey(older.key).version, value: older.value };
          }
        }
      }
    } finally {
      transaction.done();
    }
  }

  async isBatchMerged(job: string, partition: number, batchId: string): Promise<boolean> {
    this.#life.assertOpen('isBatchMerged');
    return this.#dbs.batches.get(batchKey(job, partition, batchId)) !== undefined;
  }

  async mergedBatches(job: string, partition: number): Promise<Set<string>> {
    this.#life.assertOpen('mergedBatches');
    return new Set(this.#dbs.batches.getKeys(batchPartition(job, partition)).map(batchIdOf));
  }

  async keyCount(job: string, partition: number, asOf: number): Promise<number> {
    this.#life.assertOpen('keyCount');
    checkAsOf(asOf);
    return this.#newestStat(job, partition, asOf)?.keys ?? 0;
  }

  async partitionDigest(job: string, partition: number, asOf: number): Promise<StateDigest | undefined> {
    this.#life.assertOpen('partitionDigest');
    checkAsOf(asOf);
    const stat = this.#newestStat(job, partition, asOf);
    return stat !== undefined && isStateDigest(stat) ? stat : undefined;
  }

  /** The newest partstats record at or below `asOf` that gave a count: a digest, or `{ keys }`. */
  #newestStat(job: string, partition: number, asOf: number): StateDigest | { keys: number } | undefined {
    for (const { value } of this.#dbs.partstats.getRange(partStatsDownFrom(job, partition, asOf))) {
      if (typeof value === 'number') return { keys: value };
      if (isStateDigest(value)) return value;
    }
    return undefined;
  }

  async writePartition(write: PartitionWrite): Promise<void> {
    this.#life.assertOpen('writePartition');
    await this.#writePartition(write, false);
  }

  async restorePartition(restore: PartitionRestore): Promise<void> {
    this.#life.assertOpen('restorePartition');
    const { deadLetters = [], ...write } = restore;
    checkRestoredLetters(restore);
    await this.#writePartition(write, true, lettersByVersion(deadLetters));
  }

  /**
   * A partition write; `replace`: first removes everything of the partition (a restore), whose
   * dead letters are `restored` (by version) instead of the write's.
   */
  async #writePartition(
    write: PartitionWrite,
    replace: boolean,
    restored?: ReadonlyMap<number, DeadLetter[]>,
  ): Promise<void> {
    const { job, partition, version, digest } = write;
    const keyCount = digest?.keys ?? write.keyCount;
    checkVersionNumber(version, `partition write of job ${job}`);
    checkPartition(partition, job);
    if (keyCount !== undefined && !(Number.isSafeInteger(keyCount) && keyCount >= 0)) {
      throw new MrmError(
        ErrorCode.State,
        `keyCount ${keyCount} of partition ${partition} of job ${job} is not a count`,
      );
    }
    // Materialise and check keys before the transaction: nothing may fail half-way through it.
    const changes = [...write.changes];
    for (const [key] of changes) assertKeyFits(stateKey(job, partition, key, version), `key ${key.slice(0, 40)}…`);
    const batchIds = [...write.batches];
    for (const id of batchIds) assertKeyFits(batchKey(job, partition, id), `batch id ${id.slice(0, 40)}…`);
    const letters = restored ?? new Map([[version, [...(write.deadLetters ?? [])]]]);
    for (const [at, list] of letters)
      for (const letter of list) assertKeyFits(deadLetterKey(job, at, partition, letter.batchId, 0), 'dead letter');
    const { state, latest, batches, partstats, deadletters } = this.#dbs;
    const where = `partition ${partition} of job ${job} at version ${version}`;
    await this.#life.track(
      writeAtomically(state, this.#durable, () => {
        if (replace) {
          const doomed: [StoreDatabase, LmdbKey][] = [];
          for (const key of state.getKeys(statePartition(job, partition))) doomed.push([state, key]);
          for (const key of latest.getKeys(latestPartition(job, partition))) doomed.push([latest, key]);
          for (const key of batches.getKeys(batchPartition(job, partition))) doomed.push([batches, key]);
          const stats = partStatsDownFrom(job, partition, Number.POSITIVE_INFINITY);
          for (const key of partstats.getKeys(stats)) doomed.push([partstats, key]);
          for (const key of deadletters.getKeys(jobRange(job))) {
            if (parseDeadLetterKey(key).partition === partition) doomed.push([deadletters, key]);
          }
          for (const [db, key] of doomed) db.remove(key);
        } else this.#assertAboveCommitted(job, version, `write ${where}`);
        // Every partition write leaves a partstats record: without one above this version, no key
        // of the partition has a newer entry, and `latest` takes each change without a look.
        const newerWritten = [...partstats.getKeys(partStatAbove(job, partition, version))].length > 0;
        // `undefined` (a deletion) is stored as such: the tombstone (MessagePack fixext 1, type 0).
        let current: CanonicalKey | undefined;
        try {
          for (const [key, value] of changes) {
            current = key;
            state.put(stateKey(job, partition, key, version), value);
            noteWritten(latest, job, partition, key, version, value, newerWritten);
          }
        } catch (e) {
          throw badValue(`key ${current?.slice(0, 40)} in ${where}`, e);
        }
        for (const id of batchIds) {
          // A batch keeps the version it was first merged at, so discardAbove never drops an older record.
          const key = batchKey(job, partition, id);
          const merged = batches.get(key);
          if (merged === undefined || (merged as number) > version) batches.put(key, version);
        }
        const statKey = partStatKey(job, partition, version);
        const stat = digest !== undefined ? { keys: digest.keys, bytes: digest.bytes, hash: digest.hash } : keyCount;
        if (stat !== undefined || partstats.get(statKey) === undefined) partstats.put(statKey, stat ?? null);
        for (const [at, list] of letters) putDeadLetters(deadletters, job, at, partition, list);
      }),
    );
  }

  async commitVersion(job: string, info: VersionInfo): Promise<void> {
    await this.commitVersions(job, [info]);
  }

  async commitVersions(job: string, infos: readonly VersionInfo[]): Promise<void> {
    this.#life.assertOpen('commitVersion');
    for (const info of infos) checkVersionNumber(info.version, `commit of job ${job}`);
    const records: VersionInfo[] = infos.map((info) => ({ ...info }));
    const { versions } = this.#dbs;
    // One transaction, one flush: a group of versions costs one fsync, and commits all or none.
    await this.#life.track(
      writeAtomically(versions, this.#durable, () => {
        // A repeat of this very commit (a request delivered twice, racing) is done already.
        const committed = (v: number) => versions.get(versionKey(job, v)) as VersionInfo | undefined;
        for (const record of versionsToCommit(job, records, committed)) {
          this.#assertAboveCommitted(job, record.version, `commit version ${record.version} of job ${job}`);
          putValue(versions, versionKey(job, record.version), record, `version ${record.version} of job ${job}`);
        }
      }),
    );
  }

  async discardAbove(job: string, version: number): Promise<void> {
    this.#life.assertOpen('discardAbove');
    if (!(Number.isSafeInteger(version) && version >= 0)) {
      throw new MrmError(ErrorCode.NoSuchVersion, `cannot discard job ${job} above version ${version}`);
    }
    const { state, latest, batches, versions, partstats, deadletters } = this.#dbs;
    await this.#life.track(
      writeAtomically(state, this.#durable, () => {
        const doomed: [StoreDatabase, LmdbKey][] = [];
        const repairs: LatestRepair[] = [];
        for (const key of versions.getKeys(versionsAbove(job, version))) doomed.push([versions, key]);
        for (const key of deadletters.getKeys(deadLettersAbove(job, version))) doomed.push([deadletters, key]);
        // Every partition write leaves a partstats record, so these are exactly the partitions to clean.
        const partitions = new Set<number>();
        for (const key of partstats.getKeys(jobRange(job))) {
          const stat = parsePartStatKey(key);
          if (stat.version <= version) continue;
          partitions.add(stat.partition);
          doomed.push([partstats, key]);
        }
        for (const partition of partitions) {
          repairs.push(...repairsAbove(state, job, partition, version, (key) => doomed.push([state, key])));
          for (const { key, value } of batches.getRange(batchPartition(job, partition))) {
            if ((value as number) > version) doomed.push([batches, key]);
          }
        }
        // Removed after the scans: the cursors above must not see their own deletions.
        for (const [db, key] of doomed) db.remove(key);
        // Each key whose newest entry went gets the newest one left, or leaves `latest`.
        applyRepairs(state, latest, repairs);
      }),
    );
  }

  async dropJob(job: string): Promise<void> {
    this.#life.assertOpen('dropJob');
    const range = jobRange(job);
    const { versions, meta, state, latest, batches, deadletters, partstats } = this.#dbs;
    const drop = async (): Promise<void> => {
      // Versions first, partstats last: a crash half-way leaves no readable version and the job
      // still listed, so dropping it again finishes the work.
      for (const db of [versions, meta, state, latest, batches, deadletters, partstats]) {
        await removeInBatches(db, (limit) => [...db.getKeys({ ...range, limit })]);
      }
      if (this.#durable) await state.flushed;
    };
    await this.#life.track(drop());
  }

  async pruneBelow(job: string, oldestKept: number): Promise<PruneResult> {
    this.#life.assertOpen('pruneBelow');
    checkVersionNumber(oldestKept, `pruning of job ${job}`);
    const kept = this.#committedAtOrBelow(job, oldestKept);
    if (kept?.version !== oldestKept) {
      throw new MrmError(
        ErrorCode.NoSuchVersion,
        `cannot prune job ${job} below version ${oldestKept}: it is not committed`,
      );
    }
    return this.#life.track(pruneJob(this.#dbs, job, oldestKept, kept.base, this.#durable));
  }

  async *deadLetters(job: string, asOf: number): AsyncIterable<StoredDeadLetter> {
    this.#life.assertOpen('deadLetters');
    checkAsOf(asOf);
    const range = asOf === Number.POSITIVE_INFINITY ? jobRange(job) : deadLettersUpTo(job, asOf);
    for (const { key, value } of this.#dbs.deadletters.getRange(range)) {
      yield { ...(value as DeadLetter), ...parseDeadLetterKey(key) };
      this.#life.assertOpen('deadLetters');
    }
  }

  async getMeta<T = unknown>(job: string, name: string): Promise<T | undefined> {
    this.#life.assertOpen('getMeta');
    return this.#dbs.meta.get(metaKey(job, name)) as T | undefined;
  }

  async putMeta(job: string, name: string, value: unknown): Promise<void> {
    this.#life.assertOpen('putMeta');
    const key = metaKey(job, name);
    assertKeyFits(key, `metadata name ${name.slice(0, 40)}`);
    const { meta } = this.#dbs;
    await this.#life.track(
      writeAtomically(meta, this.#durable, () => putValue(meta, key, value, `metadata ${name} of job ${job}`)),
    );
  }

  async deleteMeta(job: string, name: string): Promise<void> {
    this.#life.assertOpen('deleteMeta');
    const { meta } = this.#dbs;
    await this.#life.track(writeAtomically(meta, this.#durable, () => meta.remove(metaKey(job, name))));
  }

  async listMeta(job: string, prefix: string): Promise<string[]> {
    this.#life.assertOpen('listMeta');
    const names: string[] = [];
    for (const key of this.#dbs.meta.getKeys(metaFrom(job, prefix))) {
      const name = metaNameOf(key);
      if (!name.startsWith(prefix)) break;
      names.push(name);
    }
    return names;
  }

  async listJobs(): Promise<string[]> {
    this.#life.assertOpen('listJobs');
    // Every job with state has partstats records; skip from job to job, one seek each.
    const jobs = new Set<string>();
    for (const db of [this.#dbs.versions, this.#dbs.partstats, this.#dbs.meta]) {
      for (let key = firstKey(db); key !== undefined; key = firstKey(db, afterJob(jobOf(key)))) jobs.add(jobOf(key));
    }
    return [...jobs].sort();
  }

  /** Waits for pending writes, then closes the environment. Later calls reject with `E_STATE`. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#life.close();
      await this.#root.close();
    })();
    return this.#closing;
  }

  /** The newest committed version at or below `asOf`. */
  #committedAtOrBelow(job: string, asOf: number): VersionInfo | undefined {
    for (const { value } of this.#dbs.versions.getRange({ ...versionsDownFrom(job, asOf), limit: 1 })) {
      return value as VersionInfo;
    }
    return undefined;
  }

  /** Entries older than this are hidden when reading as of `asOf`. */
  #baseAt(job: string, asOf: number): number {
    return this.#committedAtOrBelow(job, asOf)?.base ?? 0;
  }

  /** The value of a key as of `asOf`: its newest entry at or below, unless a tombstone or below base. */
  #visible(job: string, partition: number, key: CanonicalKey, asOf: number, base: number): unknown {
    for (const entry of this.#dbs.state.getRange(stateAsOf(job, partition, key, asOf))) {
      // Decoding the key costs; with no base every entry found is visible.
      return base > 0 && parseStateKey(entry.key).version < base ? undefined : entry.value;
    }
    return undefined;
  }

  /** Inside a write transaction: committed versions are immutable and commit in increasing order. */
  #assertAboveCommitted(job: string, version: number, what: string): void {
    // Once per partition write: the newest version's key only, not its record (decoding it was
    // a quarter of this check's cost; decisions/0053).
    for (const key of this.#dbs.versions.getKeys({ ...versionsDownFrom(job, Number.POSITIVE_INFINITY), limit: 1 })) {
      const latest = (key as [string, number])[1];
      if (version <= latest) {
        throw new MrmError(ErrorCode.State, `cannot ${what}: version ${latest} of job ${job} is committed`);
      }
    }
  }
}

function openEnvironment(options: ResolvedLmdbStoreOptions): RootDatabase {
  try {
    if (!options.readOnly) mkdirSync(options.path, { recursive: true });
    return open({
      path: options.path,
      // The path is a directory even when its name has a dot (lmdb would take `state.v1` for a file).
      noSubdir: false,
      maxDbs: Object.keys(DB_NAMES).length,
      noSync: options.noSync,
      // lmdb-js's LMDB opens read-only without its lock file when that cannot be written (EACCES,
      // EROFS): safe while no process writes the environment, the case of a state being inspected.
      readOnly: options.readOnly,
      mapSize: options.mapSizeBytes,
      // Used when the environment is created; an existing one keeps its own (decisions/0045).
      pageSize: options.pageSizeBytes,
    });
  } catch (e) {
    throw new MrmError(ErrorCode.State, `cannot open the LMDB state store at ${options.path}: ${errorMessage(e)}`, {
      cause: e,
    });
  }
}

function openDatabases(root: RootDatabase): Databases {
  // lmdb encodes with its own msgpackr, given core's options: byte-identical standard MessagePack
  // (checked by a test), and faster than encoding with core's codec into binary databases.
  const options: DatabaseOptions & { encoder: object } = { encoding: 'msgpack', encoder: { ...MSGPACK_OPTIONS } };
  const db = (name: string): StoreDatabase => root.openDB<unknown, LmdbKey>(name, options);
  return {
    state: db(DB_NAMES.state),
    latest: db(DB_NAMES.latest),
    batches: db(DB_NAMES.batches),
    versions: db(DB_NAMES.versions),
    partstats: db(DB_NAMES.partstats),
    deadletters: db(DB_NAMES.deadletters),
    meta: db(DB_NAMES.meta),
    spill: db(DB_NAMES.spill),
    store: db(DB_NAMES.store),
  };
}

/** What opening a store found: its spill epoch, and whether it has the `latest` database. */
interface Session {
  readonly epoch: number;
  readonly hasLatest: boolean;
}

/**
 * Checks the layout version (writing it into a new store, migrating a store of layout 1 by
 * building `latest`) and counts this open: the spill epoch.
 */
async function startSession(dbs: Databases, options: ResolvedLmdbStoreOptions): Promise<Session> {
  const { store, state, latest } = dbs;
  if (options.readOnly) {
    // Nothing to count: a read-only store never spills. Layout 1 is read without `latest`.
    const layout = store.get(LAYOUT_RECORD) ?? LAYOUT_VERSION;
    if (layout !== LAYOUT_WITHOUT_LATEST) checkLayout(layout, options);
    return { epoch: 0, hasLatest: layout !== LAYOUT_WITHOUT_LATEST };
  }
  return writeAtomically(store, !options.noSync, () => {
    const layout = store.get(LAYOUT_RECORD);
    if (layout === LAYOUT_WITHOUT_LATEST) buildLatest(state, latest);
    else if (layout !== undefined) checkLayout(layout, options);
    if (layout !== LAYOUT_VERSION) store.put(LAYOUT_RECORD, LAYOUT_VERSION);
    const epoch = ((store.get(SPILL_EPOCH_RECORD) as number | undefined) ?? 0) + 1;
    store.put(SPILL_EPOCH_RECORD, epoch);
    return { epoch, hasLatest: true };
  });
}

/** Throws `E_STATE` when the store was written with another key layout. */
function checkLayout(layout: unknown, options: ResolvedLmdbStoreOptions): void {
  if (layout !== LAYOUT_VERSION) {
    throw new MrmError(
      ErrorCode.State,
      `the LMDB state store at ${options.path} has key layout ${String(layout)}; this version reads layouts ${LAYOUT_WITHOUT_LATEST} and ${LAYOUT_VERSION}`,
    );
  }
}

/** A key's entry a scan decides on: its newest at or below the version read as of. */
interface ScannedEntry {
  readonly key: CanonicalKey;
  readonly version: number;
  readonly value: unknown;
}

function firstKey(db: StoreDatabase, start?: LmdbKey): LmdbKey | undefined {
  for (const key of db.getKeys(start === undefined ? { limit: 1 } : { start, limit: 1 })) return key;
  return undefined;
}

/** Inside a write transaction: the dead letters of one partition write. */
/** Stored dead letters grouped by the version that recorded them, as dead letters to put. */
function lettersByVersion(letters: readonly StoredDeadLetter[]): Map<number, DeadLetter[]> {
  const byVersion = new Map<number, DeadLetter[]>();
  for (const { version, partition: _, ...letter } of letters) {
    const list = byVersion.get(version);
    if (list === undefined) byVersion.set(version, [letter]);
    else list.push(letter);
  }
  return byVersion;
}

function putDeadLetters(
  db: StoreDatabase,
  job: string,
  version: number,
  partition: number,
  letters: readonly DeadLetter[],
): void {
  const perBatch = new Map<string, number>();
  for (const letter of letters) {
    const index = perBatch.get(letter.batchId) ?? 0;
    perBatch.set(letter.batchId, index + 1);
    putValue(db, deadLetterKey(job, version, partition, letter.batchId, index), letter, `a dead letter of job ${job}`);
  }
}

/** Puts a value, turning an encoding failure into `E_BAD_VALUE` (the child transaction rolls back). */
function putValue(db: StoreDatabase, key: LmdbKey, value: unknown, where: string): void {
  try {
    db.put(key, value);
  } catch (e) {
    throw badValue(where, e);
  }
}

function badValue(where: string, cause: unknown): MrmError {
  return new MrmError(ErrorCode.BadValue, `the value of ${where} cannot be encoded: ${errorMessage(cause)}`, { cause });
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

function checkPartition(partition: number, job: string): void {
  if (!(Number.isSafeInteger(partition) && partition >= 0)) {
    throw new MrmError(ErrorCode.State, `partition ${String(partition)} of job ${job} is not a whole number from 0`);
  }
}
