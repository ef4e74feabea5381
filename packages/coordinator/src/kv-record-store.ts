/**
 * The coordinator's records ({@link RecordStore}: committed versions, job shapes, plans, batch
 * records, submissions, history) in a key/value bucket of the cluster — JetStream on NATS — rather
 * than on the coordinator's disk, so that a coordinator started anywhere, with an empty `--state`,
 * reads what the last leader wrote and resumes its jobs (decisions/0020).
 *
 * Layout of the bucket {@link RECORDS_BUCKET} (every key is built here):
 * - `m/<job>/<name>`: one metadata record;
 * - `v/<job>`: every committed version of the job, oldest first (one entry, read in one trip).
 * A value is the record itself when it is small, or the name of a blob that holds it: one kv entry
 * is one NATS message, and a plan of a large input or a long version list may not fit in one.
 *
 * Only the leading coordinator writes. `guard` runs before every write and throws (`E_FENCED`)
 * once this process no longer leads. Keys are listed once at open and then kept in memory: while
 * this process leads, nobody else writes.
 *
 * ```ts
 * const records = await KvRecordStore.open(transport, { guard: () => lease.confirm() });
 * await records.putMeta('wordcount', 'shape', shape);
 * ```
 */
import {
  type BlobStore,
  decode,
  ErrorCode,
  encode,
  isKvConflict,
  type KeyValueBucket,
  MrmError,
  type PruneResult,
  type RecordStore,
  type Transport,
  type VersionInfo,
  versionsToCommit,
} from '@mrm/core';

/** Key/value bucket of the coordinator's records. */
export const RECORDS_BUCKET = 'records';
/** Values larger than this (encoded) go to a blob; the kv entry names it. */
export const INLINE_RECORD_MAX_BYTES = 256 * 1024;

/**
 * Attempts of a write while NATS does not answer (a restarted server's JetStream takes a moment),
 * the first pause between two, and the longest.
 */
const WRITE_ATTEMPTS = 6;
const FIRST_PAUSE_MS = 250;
const MAX_PAUSE_MS = 4_000;

const META = 'm/';
const VERSIONS = 'v/';
const metaKey = (job: string, name: string) => `${META}${job}/${name}`;
const versionsKey = (job: string) => `${VERSIONS}${job}`;
const blobName = (key: string) => `records/${key}`;

/** A stored value: inline, or in a blob. */
type Envelope = { readonly value: unknown } | { readonly blob: string };

/** Options of {@link KvRecordStore.open}. */
export interface KvRecordStoreOptions {
  /** Runs before every write; throws when this process may no longer write (it lost the lead). */
  readonly guard?: () => Promise<void>;
}

/** A {@link RecordStore} in the cluster's key/value bucket. */
export class KvRecordStore implements RecordStore {
  private closed = false;

  private constructor(
    private readonly bucket: KeyValueBucket,
    private readonly blobs: BlobStore,
    /** Every meta key in the bucket (`m/…`), kept in step with this process's writes. */
    private readonly metaKeys: Set<string>,
    private readonly guard: () => Promise<void>,
  ) {}

  /** Opens (creating if needed) the bucket and lists its keys. */
  static async open(transport: Transport, options: KvRecordStoreOptions = {}): Promise<KvRecordStore> {
    const bucket = await transport.bucket(RECORDS_BUCKET);
    const keys = new Set((await bucket.keys(META)).filter((k) => k.startsWith(META)));
    return new KvRecordStore(bucket, transport.blobs, keys, options.guard ?? (async () => {}));
  }

  async listVersions(job: string): Promise<VersionInfo[]> {
    return (await this.readVersions(job)).versions;
  }

  async latestVersion(job: string): Promise<VersionInfo | undefined> {
    return (await this.readVersions(job)).versions.at(-1);
  }

  async commitVersion(job: string, info: VersionInfo): Promise<void> {
    await this.commitVersions(job, [info]);
  }

  /** One compare-and-set of the job's version list for the whole group. */
  async commitVersions(job: string, infos: readonly VersionInfo[]): Promise<void> {
    for (const info of infos) {
      if (!Number.isSafeInteger(info.version) || info.version < 1) {
        throw new MrmError(ErrorCode.NoSuchVersion, `cannot commit version ${info.version} of job ${job}`);
      }
    }
    await this.updateVersions(job, (versions) => {
      const next = [...versions];
      // A repeat of this very commit (sent again while the first was being written) is done already.
      for (const info of versionsToCommit(job, infos, (v) => versions.find((i) => i.version === v))) {
        const latest = next.at(-1);
        if (latest !== undefined && info.version <= latest.version) {
          throw new MrmError(
            ErrorCode.State,
            `cannot commit version ${info.version} of job ${job}: version ${latest.version} of job ${job} is committed`,
          );
        }
        next.push({ ...info });
      }
      return next;
    });
  }

  async discardAbove(job: string, version: number): Promise<void> {
    if (!(Number.isSafeInteger(version) && version >= 0)) {
      throw new MrmError(ErrorCode.NoSuchVersion, `cannot discard job ${job} above version ${version}`);
    }
    await this.updateVersions(job, (versions) => versions.filter((v) => v.version <= version));
  }

  async pruneBelow(job: string, oldestKept: number): Promise<PruneResult> {
    let removed = 0;
    await this.updateVersions(job, (versions) => {
      if (!versions.some((v) => v.version === oldestKept)) {
        throw new MrmError(
          ErrorCode.NoSuchVersion,
          `cannot prune job ${job} below version ${oldestKept}: it is not committed`,
        );
      }
      const kept = versions.filter((v) => v.version >= oldestKept);
      removed = versions.length - kept.length;
      return kept;
    });
    // The coordinator's records hold no partition state: only version records go.
    return { entries: 0, versions: removed };
  }

  async getMeta<T = unknown>(job: string, name: string): Promise<T | undefined> {
    this.assertOpen('getMeta');
    const entry = await this.bucket.get(metaKey(job, name));
    return entry === undefined ? undefined : ((await this.open(entry.value)) as T);
  }

  async putMeta(job: string, name: string, value: unknown): Promise<void> {
    this.assertOpen('putMeta');
    await this.guard();
    const key = metaKey(job, name);
    await patiently(async () => this.bucket.put(key, await this.wrap(key, value)));
    this.metaKeys.add(key);
  }

  async deleteMeta(job: string, name: string): Promise<void> {
    this.assertOpen('deleteMeta');
    await this.guard();
    const key = metaKey(job, name);
    const entry = await this.bucket.get(key);
    if (entry === undefined) {
      this.metaKeys.delete(key);
      return;
    }
    await patiently(() => this.bucket.delete(key));
    this.metaKeys.delete(key);
    const envelope = decode<Envelope>(entry.value);
    if ('blob' in envelope) await patiently(() => this.blobs.delete(envelope.blob));
  }

  async listMeta(job: string, prefix: string): Promise<string[]> {
    this.assertOpen('listMeta');
    const from = metaKey(job, prefix);
    const skip = metaKey(job, '').length;
    return [...this.metaKeys]
      .filter((k) => k.startsWith(from))
      .map((k) => k.slice(skip))
      .sort();
  }

  /** True when the bucket held no metadata record when it was opened and none was written since. */
  isEmpty(): boolean {
    return this.metaKeys.size === 0;
  }

  /** Writes nothing more (what was written is durable already). */
  async close(): Promise<void> {
    this.closed = true;
  }

  private async readVersions(job: string): Promise<{ versions: VersionInfo[]; revision: number | undefined }> {
    this.assertOpen('listVersions');
    const entry = await this.bucket.get(versionsKey(job));
    if (entry === undefined) return { versions: [], revision: undefined };
    return { versions: (await this.open(entry.value)) as VersionInfo[], revision: entry.revision };
  }

  /**
   * Replaces the job's version list by `change(list)` with compare-and-set: a version list is never
   * written over one this process did not read. Losing the race means another coordinator wrote
   * it: this one must not write (`E_FENCED`). A write whose answer is lost is checked (did it go
   * through?) and tried again.
   */
  private async updateVersions(job: string, change: (versions: VersionInfo[]) => VersionInfo[]): Promise<void> {
    this.assertOpen('commitVersion');
    await this.guard();
    const key = versionsKey(job);
    /** The list an earlier attempt wrote, when its answer was lost (or it lost the race). */
    let wanted: VersionInfo[] | undefined;
    let conflict: unknown;
    for (let attempt = 1; ; attempt++) {
      const { versions, revision } = await this.readVersions(job);
      if (wanted !== undefined && sameVersions(versions, wanted)) return; // it went through
      if (conflict !== undefined) {
        throw new MrmError(
          ErrorCode.Fenced,
          `the versions of job ${job} were written by another coordinator meanwhile: this one no longer leads`,
          { cause: conflict },
        );
      }
      const next = change(versions);
      if (next.length === versions.length && next.every((v, i) => v === versions[i])) return;
      wanted = next;
      const value = await this.wrap(key, next);
      try {
        if (revision === undefined) await this.bucket.create(key, value);
        else await this.bucket.update(key, value, revision);
        return;
      } catch (e) {
        if (isKvConflict(e)) conflict = e;
        else if (attempt >= WRITE_ATTEMPTS) throw e;
        else await pause(attempt);
      }
    }
  }

  private async wrap(key: string, value: unknown): Promise<Uint8Array> {
    const inline = encode({ value } satisfies Envelope);
    if (inline.length <= INLINE_RECORD_MAX_BYTES) return inline;
    const name = blobName(key);
    await this.blobs.put(name, encode(value));
    return encode({ blob: name } satisfies Envelope);
  }

  private async open(bytes: Uint8Array): Promise<unknown> {
    const envelope = decode<Envelope>(bytes);
    if ('value' in envelope) return envelope.value;
    const data = await this.blobs.get(envelope.blob);
    if (data === undefined) {
      throw new MrmError(ErrorCode.State, `the coordinator's record blob '${envelope.blob}' is missing`);
    }
    return decode(data);
  }

  private assertOpen(operation: string): void {
    if (this.closed) throw new MrmError(ErrorCode.State, `cannot ${operation}: the coordinator's records are closed`);
  }
}

/** Same versions, in the same order (as far as a commit can tell). */
function sameVersions(a: readonly VersionInfo[], b: readonly VersionInfo[]): boolean {
  return a.length === b.length && a.every((v, i) => v.version === b[i]?.version && v.createdAtMs === b[i]?.createdAtMs);
}

/** Runs `op` again after a pause while it fails for another reason than a lost compare-and-set. */
async function patiently<T>(op: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (e) {
      if (isKvConflict(e) || attempt >= WRITE_ATTEMPTS) throw e;
      await pause(attempt);
    }
  }
}

function pause(attempt: number): Promise<void> {
  const ms = Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** (attempt - 1));
  return new Promise((resolve) => setTimeout(resolve, ms));
}
