/**
 * Partition ownership. State lives on the merge worker that owns a partition, so the assignment
 * made at a job's first run is kept (decisions/0008); a job whose owner is gone cannot run yet.
 * The metadata record's name is kept here and nowhere else.
 */
import { ErrorCode, type Logger, MrmError, type RecordStore, type ResolvedJob } from '@mrm/core';
import { assignPartitions } from '../partition-assignment.js';

const OWNERS = 'owners';

/** The stored owner of each partition of a job (empty before its first cluster run). */
export async function storedOwners(store: RecordStore, jobName: string): Promise<string[]> {
  return (await store.getMeta<string[]>(jobName, OWNERS)) ?? [];
}

/** How partitions may be assigned. */
export interface OwnerPolicy {
  /** Partitions can move (leases and copies in JetStream): a lost owner's go to the live workers. */
  readonly movable: boolean;
  readonly isAlive: (workerId: string) => boolean;
  readonly logger: Logger;
}

/**
 * The owners of a job's partitions, stored before they are used. With movable partitions (an
 * incremental job with leases): a balanced, sticky assignment over the live `mergeWorkers` (a
 * lost owner's partitions go to the live ones; one that joined takes its share). Otherwise the
 * stored owners when every one is alive (else a clear error), or a new round-robin assignment.
 */
export async function assignOwners(
  store: RecordStore,
  job: ResolvedJob,
  mergeWorkers: readonly string[],
  policy: OwnerPolicy,
): Promise<string[]> {
  const { isAlive } = policy;
  const stored = await store.getMeta<string[]>(job.name, OWNERS);
  const previous = stored?.length === job.partitions ? stored : undefined;
  if (policy.movable && job.incremental) {
    const owners = assignPartitions(previous, mergeWorkers, job.partitions);
    const moved = owners.filter((w, p) => previous !== undefined && previous[p] !== w).length;
    if (moved > 0)
      policy.logger.info('partitions move', { job: job.name, moved, owners: [...new Set(owners)].join(',') });
    await store.putMeta(job.name, OWNERS, owners);
    return owners;
  }
  if (stored !== undefined && stored.length === job.partitions) {
    const missing = [...new Set(stored)].filter((w) => !isAlive(w));
    if (missing.length > 0) {
      throw new MrmError(
        ErrorCode.JobFailed,
        `job '${job.name}' has state on merge worker${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not running; start ${missing.length > 1 ? 'them' : 'it'} again with the same --id and --state`,
      );
    }
    return stored;
  }
  const owners = Array.from({ length: job.partitions }, (_, p) => mergeWorkers[p % mergeWorkers.length] as string);
  await store.putMeta(job.name, OWNERS, owners);
  return owners;
}
