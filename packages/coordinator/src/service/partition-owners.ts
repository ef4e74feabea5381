/**
 * Partition ownership, decided at the start of every run (the only safe point: a run's owners and
 * leases do not change until it ends). With leases (a cluster, a job with `merge`) the partitions
 * are rebalanced over the live merge workers each time: a lost worker's go to the others, a worker
 * that joined takes its share, and nothing else moves (decisions/0015, 0025). Without them the
 * assignment made at a job's first run is kept (decisions/0008). The metadata record's name is kept
 * here and nowhere else.
 */
import { ErrorCode, type Logger, MrmError, type RecordStore, type ResolvedJob } from '@mrm/core';
import { assignPartitions } from '../partition-assignment.js';

const OWNERS = 'owners';
/** The store incarnation of each owner when the owners were stored (decisions/0048). */
const OWNER_STORES = 'owner-stores';

/** The stored owner of each partition of a job (empty before its first cluster run). */
export async function storedOwners(store: RecordStore, jobName: string): Promise<string[]> {
  return (await store.getMeta<string[]>(jobName, OWNERS)) ?? [];
}

/**
 * The store incarnation each owner of `jobName` had when its owners were stored (empty: stored by
 * an older coordinator, or by workers that report none).
 */
export async function storedIncarnations(store: RecordStore, jobName: string): Promise<Record<string, string>> {
  return (await store.getMeta<Record<string, string>>(jobName, OWNER_STORES)) ?? {};
}

/** How partitions may be assigned. */
export interface OwnerPolicy {
  /** Partitions can move (leases and copies in JetStream): a lost owner's go to the live workers. */
  readonly movable: boolean;
  readonly isAlive: (workerId: string) => boolean;
}

/** Owners for a job's next run, and how many partitions they move. */
export interface OwnerAssignment {
  readonly owners: string[];
  /** Partitions whose owner differs from the stored one (0 at a job's first run). */
  readonly moved: number;
}

/**
 * The owners of a job's partitions for its next run (store them with {@link saveOwners} when the
 * run starts). With movable partitions (an incremental job with leases): a balanced, sticky
 * assignment over the live `mergeWorkers` (a lost owner's partitions go to the live ones; one that
 * joined takes its share). Otherwise the stored owners when every one is alive (else a clear
 * error), or a new round-robin assignment.
 */
export async function assignOwners(
  store: RecordStore,
  job: ResolvedJob,
  mergeWorkers: readonly string[],
  policy: OwnerPolicy,
): Promise<OwnerAssignment> {
  const { isAlive } = policy;
  const stored = await store.getMeta<string[]>(job.name, OWNERS);
  const previous = stored?.length === job.partitions ? stored : undefined;
  if (policy.movable && job.incremental) {
    const owners = assignPartitions(previous, mergeWorkers, job.partitions);
    return { owners, moved: owners.filter((w, p) => previous !== undefined && previous[p] !== w).length };
  }
  if (previous !== undefined) {
    const missing = [...new Set(previous)].filter((w) => !isAlive(w));
    if (missing.length > 0) {
      throw new MrmError(
        ErrorCode.JobFailed,
        `job '${job.name}' has state on merge worker${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not running; start ${missing.length > 1 ? 'them' : 'it'} again with the same --id and --state`,
      );
    }
    return { owners: previous, moved: 0 };
  }
  const owners = Array.from({ length: job.partitions }, (_, p) => mergeWorkers[p % mergeWorkers.length] as string);
  return { owners, moved: 0 };
}

/**
 * Stores the owners a run of `jobName` starts with, and the store incarnation of each (as
 * `incarnation` says now: a later query finds an owner whose store changed); logs when partitions move.
 */
export async function saveOwners(
  store: RecordStore,
  jobName: string,
  assignment: OwnerAssignment,
  logger: Logger,
  incarnation: (workerId: string) => string | undefined,
): Promise<void> {
  const { owners, moved } = assignment;
  if (moved > 0) logger.info('partitions move', { job: jobName, moved, owners: [...new Set(owners)].join(',') });
  const stores: Record<string, string> = {};
  for (const w of new Set(owners)) {
    const id = incarnation(w);
    if (id !== undefined) stores[w] = id;
  }
  await store.putMeta(jobName, OWNER_STORES, stores);
  await store.putMeta(jobName, OWNERS, owners);
}
