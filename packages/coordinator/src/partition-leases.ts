/**
 * The coordinator's side of partitions that move: ownership of each (job, partition) is a lease in
 * the leases key/value bucket (its revision is the fencing token merge workers write under), and
 * the copies of committed versions are listed in one manifest per job in the checkpoints bucket,
 * so that a new owner restores exactly the last committed version (see core's checkpoint-copy.ts).
 */
import {
  CHECKPOINTS_BUCKET,
  type CheckpointWrittenMessage,
  type CopyManifest,
  decode,
  ErrorCode,
  encode,
  type KeyValueBucket,
  LEASES_BUCKET,
  leaseKey,
  type ManifestEntry,
  MrmError,
  type PartitionCopyPlan,
  restoreChain,
  type Transport,
} from '@mrm/core';

/** The value of a lease. */
interface Lease {
  readonly owner: string;
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
    private readonly guard: () => Promise<void>,
  ) {}

  /** Opens (creating if needed) the two buckets. */
  static async open(transport: Transport, options: PartitionLeasesOptions = {}): Promise<PartitionLeases> {
    return new PartitionLeases(
      await transport.bucket(LEASES_BUCKET),
      await transport.bucket(CHECKPOINTS_BUCKET),
      options.guard ?? (async () => {}),
    );
  }

  /**
   * Takes the lease of every partition for its owner in `owners` and builds each partition's
   * restore chain at `baseVersion`, the latest committed version. Every run writes every lease
   * anew, so each run holds tokens of its own: what an earlier run (of a coordinator that lost
   * the lead, say) still sends under the old tokens is refused.
   */
  async prepare(job: string, owners: readonly string[], baseVersion: number): Promise<RunLeases> {
    await this.guard();
    const tokens: number[] = [];
    for (let p = 0; p < owners.length; p++) {
      const owner = owners[p] as string;
      const key = leaseKey(job, p);
      const entry = await this.leases.get(key);
      const value = encode({ owner } satisfies Lease);
      if (entry !== undefined) tokens.push(await this.leases.update(key, value, entry.revision));
      else tokens.push(await this.leases.create(key, value));
    }
    const stored = await this.manifests.get(job);
    const read = stored !== undefined ? decode<CopyManifest>(stored.value) : undefined;
    // Copies of versions above the committed one were never committed: they are no part of a chain.
    const manifest: CopyManifest = {
      partitions: owners.map((_, p) => (read?.partitions[p] ?? []).filter((e) => e.version <= baseVersion)),
    };
    return new RunLeases(this.leases, this.manifests, job, owners, tokens, manifest, baseVersion, this.guard);
  }
}

/** The leases of one run. */
export class RunLeases {
  constructor(
    private readonly leases: KeyValueBucket,
    private readonly manifests: KeyValueBucket,
    private readonly job: string,
    private readonly owners: readonly string[],
    /** Lease revision (fencing token) per partition. */
    readonly tokens: readonly number[],
    private manifest: CopyManifest,
    private readonly baseVersion: number,
    private readonly guard: () => Promise<void> = async () => {},
  ) {}

  /** The copy plans of the partitions `worker` owns, for its run-start. */
  plansFor(worker: string): PartitionCopyPlan[] {
    const plans: PartitionCopyPlan[] = [];
    this.owners.forEach((owner, partition) => {
      if (owner !== worker) return;
      const chain = restoreChain(this.job, this.manifest, partition, this.baseVersion);
      plans.push({ partition, token: this.tokens[partition] as number, chain, shipFull: chain.length === 0 });
    });
    return plans;
  }

  /**
   * Before `version` commits: checks every lease is still the one this run holds (else
   * `E_FENCED`: another coordinator took the job over), and records the version's copies in the
   * manifest, dropping copies a newer full snapshot made unnecessary.
   */
  async record(version: number, reports: readonly CheckpointWrittenMessage[]): Promise<void> {
    await this.guard();
    for (let p = 0; p < this.tokens.length; p++) {
      const lease = await this.leases.get(leaseKey(this.job, p));
      if (lease?.revision !== this.tokens[p]) {
        throw new MrmError(
          ErrorCode.Fenced,
          `the lease of partition ${p} of job '${this.job}' changed during the run (another coordinator?): version ${version} is not committed`,
        );
      }
    }
    const partitions = this.manifest.partitions.map((entries) => [...entries]);
    for (const r of reports) {
      r.partitions.forEach((p, i) => {
        const entries = (partitions[p] ?? []).filter((e) => e.version < version);
        entries.push({ version, token: this.tokens[p] as number, full: r.fulls?.[i] === true });
        partitions[p] = keepFromLastFull(entries);
      });
    }
    this.manifest = { partitions };
    await this.manifests.put(this.job, encode(this.manifest));
  }
}

/**
 * Drops the copies older than the newest full snapshot below the newest entry: the chain of the
 * version before stays whole until a later version is recorded (its commit may still fail).
 */
function keepFromLastFull(entries: ManifestEntry[]): ManifestEntry[] {
  for (let i = entries.length - 2; i >= 0; i--) if (entries[i]?.full === true) return entries.slice(i);
  return entries;
}
