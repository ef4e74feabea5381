/**
 * The coordinator's side of partitions that move: ownership of each (job, partition) is a lease in
 * the leases key/value bucket (its revision is the fencing token merge workers write under), and
 * the copies of committed versions are listed in one manifest per job in the checkpoints bucket,
 * so that a new owner restores exactly the last committed version (see core's checkpoint-copy.ts).
 *
 * The manifest is also what keeps the blob store flat: a copy it no longer lists can never be part
 * of a restore, so it is deleted — at once when a commit drops it from the manifest, and by a sweep
 * of the job's copies at the start of each run (copies of versions that never committed, copies a
 * deposed owner wrote late, deletions that failed before).
 */
import {
  type BlobStore,
  CHECKPOINTS_BUCKET,
  type CheckpointWrittenMessage,
  type CopyManifest,
  chainSize,
  checkpointBlobName,
  checkpointBlobPrefix,
  decode,
  ErrorCode,
  encode,
  type KeyValueBucket,
  LEASES_BUCKET,
  leaseKey,
  type ManifestEntry,
  MrmError,
  manifestBlobNames,
  type PartitionCopyPlan,
  restoreChainEntries,
  type Transport,
} from '@mrm/core';

/** The value of a lease. */
interface Lease {
  readonly owner: string;
  /**
   * The revision of the lease's first write for this owner, when it is not this entry's own (the
   * owner's tenure: it stays while the owner does, whereas every run writes a new revision).
   */
  readonly since?: number;
}

/** Options of {@link PartitionLeases.open}. */
export interface PartitionLeasesOptions {
  /** Runs before every write; throws when this coordinator may no longer write (it lost the lead). */
  readonly guard?: () => Promise<void>;
}

/** Leases and copy manifests of every job (a cluster coordinator has one). */
export class PartitionLeases {
  private constructor(
    private readonly leases: KeyValueBucket,
    private readonly manifests: KeyValueBucket,
    private readonly blobs: BlobStore,
    private readonly guard: () => Promise<void>,
  ) {}

  /** Opens (creating if needed) the two buckets; copies are in the transport's blob store. */
  static async open(transport: Transport, options: PartitionLeasesOptions = {}): Promise<PartitionLeases> {
    return new PartitionLeases(
      await transport.bucket(LEASES_BUCKET),
      await transport.bucket(CHECKPOINTS_BUCKET),
      transport.blobs,
      options.guard ?? (async () => {}),
    );
  }

  /**
   * Forgets everything of `job` kept here (`--reset`): its leases, its manifest and every copy of
   * its partitions. Returns how many copies were deleted.
   */
  async forget(job: string): Promise<number> {
    await this.guard();
    for (const key of await this.leases.keys(`${job}/p`)) await this.leases.delete(key);
    await this.manifests.delete(job);
    return deleteCopiesBut(this.blobs, job, new Set());
  }

  /**
   * Takes the lease of every partition for its owner in `owners` and builds each partition's
   * restore chain at `baseVersion`, the latest committed version. Every run writes every lease
   * anew, so each run holds tokens of its own: what an earlier run (of a coordinator that lost
   * the lead, say) still sends under the old tokens is refused. A partition whose owner stays
   * keeps its tenure, so that owner reuses its own store (decisions/0025).
   */
  async prepare(job: string, owners: readonly string[], baseVersion: number): Promise<RunLeases> {
    await this.guard();
    const tokens: number[] = [];
    const tenures: number[] = [];
    for (let p = 0; p < owners.length; p++) {
      const owner = owners[p] as string;
      const key = leaseKey(job, p);
      const entry = await this.leases.get(key);
      const held = entry !== undefined ? decode<Lease>(entry.value) : undefined;
      // The same owner again: its tenure goes on (a lease written before tenures: its revision,
      // which is the token the owner's store last committed under).
      const since = entry !== undefined && held?.owner === owner ? (held.since ?? entry.revision) : undefined;
      const value = encode({ owner, ...(since !== undefined ? { since } : {}) } satisfies Lease);
      const token =
        entry !== undefined
          ? await this.leases.update(key, value, entry.revision)
          : await this.leases.create(key, value);
      tokens.push(token);
      tenures.push(since ?? token);
    }
    const stored = await this.manifests.get(job);
    const read = stored !== undefined ? decode<CopyManifest>(stored.value) : undefined;
    // Copies of versions above the committed one were never committed: they are no part of a chain.
    const manifest: CopyManifest = {
      partitions: owners.map((_, p) => (read?.partitions[p] ?? []).filter((e) => e.version <= baseVersion)),
    };
    // Nothing of the job writes copies between runs: every copy the manifest does not list is garbage.
    await deleteCopiesBut(this.blobs, job, manifestBlobNames(job, manifest));
    return new RunLeases(
      this.leases,
      this.manifests,
      this.blobs,
      job,
      owners,
      tokens,
      tenures,
      manifest,
      baseVersion,
      this.guard,
    );
  }
}

/** Deletes every copy of `job` whose name `keep` does not hold; returns how many. */
async function deleteCopiesBut(blobs: BlobStore, job: string, keep: ReadonlySet<string>): Promise<number> {
  const doomed = (await blobs.names(checkpointBlobPrefix(job))).filter((name) => !keep.has(name));
  // One at a time: a burst of purges keeps JetStream from answering lease reads in time.
  for (const name of doomed) await blobs.delete(name);
  return doomed.length;
}

/** The leases of one run. */
export class RunLeases {
  constructor(
    private readonly leases: KeyValueBucket,
    private readonly manifests: KeyValueBucket,
    private readonly blobs: BlobStore,
    private readonly job: string,
    private readonly owners: readonly string[],
    /** Lease revision (fencing token) per partition. */
    readonly tokens: readonly number[],
    /** Per partition, the revision at which its owner's tenure began (see {@link Lease.since}). */
    private readonly tenures: readonly number[],
    private manifest: CopyManifest,
    private readonly baseVersion: number,
    private readonly guard: () => Promise<void> = async () => {},
  ) {}

  /** Deletions of copies dropped from the manifest, in order (never rejects). */
  private deleting: Promise<void> = Promise.resolve();

  /** The copy plans of the partitions `worker` owns, for its run-start. */
  plansFor(worker: string): PartitionCopyPlan[] {
    const plans: PartitionCopyPlan[] = [];
    this.owners.forEach((owner, partition) => {
      if (owner !== worker) return;
      const entries = restoreChainEntries(this.manifest, partition, this.baseVersion);
      plans.push({
        partition,
        token: this.tokens[partition] as number,
        tenure: this.tenures[partition] as number,
        chain: entries.map((e) => checkpointBlobName(this.job, partition, e.version, e.token)),
        deltaBytes: chainSize(entries).deltaBytes,
        shipFull: entries.length === 0,
      });
    });
    return plans;
  }

  /**
   * Before `versions` commit (a group, in order): checks every lease is still the one this run
   * holds (else `E_FENCED`: another coordinator took the job over), and records the versions'
   * copies in the manifest — one check and one manifest write for the whole group —, dropping
   * copies a newer full snapshot made unnecessary. Resolves once the manifest is durable; the
   * dropped copies are deleted after it, while the commit goes on ({@link dropped} waits for them).
   */
  async record(
    versions: readonly { readonly version: number; readonly reports: readonly CheckpointWrittenMessage[] }[],
  ): Promise<void> {
    const first = versions[0]?.version;
    const last = versions.at(-1)?.version;
    if (first === undefined || last === undefined) return;
    const what = first === last ? `version ${last} is` : `versions ${first}–${last} are`;
    await this.guard();
    const leases = await Promise.all(this.tokens.map((_, p) => this.leases.get(leaseKey(this.job, p))));
    leases.forEach((lease, p) => {
      if (lease?.revision !== this.tokens[p]) {
        throw new MrmError(
          ErrorCode.Fenced,
          `the lease of partition ${p} of job '${this.job}' changed during the run (another coordinator?): ${what} not committed`,
        );
      }
    });
    const partitions = this.manifest.partitions.map((entries) => [...entries]);
    for (const { version, reports } of versions) {
      for (const r of reports) {
        r.partitions.forEach((p, i) => {
          const entries = (partitions[p] ?? []).filter((e) => e.version < version);
          const bytes = r.copyBytes?.[i];
          entries.push({
            version,
            token: this.tokens[p] as number,
            full: r.fulls?.[i] === true,
            ...(bytes !== undefined ? { bytes } : {}),
          });
          partitions[p] = entries;
        });
      }
    }
    /** Every copy listed before or added now: those the trimmed manifest no longer lists must go. */
    const listed = manifestBlobNames(this.job, this.manifest);
    for (const name of manifestBlobNames(this.job, { partitions })) listed.add(name);
    // The group may still fail to commit: the chain of the version before it stays whole.
    for (const [p, entries] of partitions.entries()) partitions[p] = keepChains(entries, first - 1);
    this.manifest = { partitions };
    await this.manifests.put(this.job, encode(this.manifest));
    // Only now, with the manifest durable, can no restore read the dropped copies any more.
    const kept = manifestBlobNames(this.job, this.manifest);
    const dropped = [...listed].filter((name) => !kept.has(name));
    // Deleted while the commit goes on (after the deletions of earlier groups, one at a time);
    // a deletion that fails leaves garbage, not damage: the sweep of the job's next run deletes it.
    this.deleting = this.deleting.then(async () => {
      for (const name of dropped) await this.blobs.delete(name).catch(() => {});
    });
  }

  /** Resolves once the copies every {@link record} so far dropped are deleted (or failed to be). */
  async dropped(): Promise<void> {
    await this.deleting;
  }
}

/**
 * The copies a restore may still need: the chain of `committed` (the last version committed
 * before the versions being recorded, which may still fail to commit) and the chain of the newest
 * entry — each from its newest full snapshot at or below it. Copies between the two chains (a
 * group's versions before its last full snapshot) can never start a restore.
 */
function keepChains(entries: readonly ManifestEntry[], committed: number): ManifestEntry[] {
  const chainStart = (version: number): number => {
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i] as ManifestEntry;
      if (e.full && e.version <= version) return i;
    }
    return 0;
  };
  const ofCommitted = chainStart(committed);
  const ofNewest = chainStart(entries.at(-1)?.version ?? 0);
  return entries.filter((e, i) => i >= ofNewest || (i >= ofCommitted && e.version <= committed));
}
