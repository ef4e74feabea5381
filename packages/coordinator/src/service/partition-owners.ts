/**
 * Partition ownership. State lives on the merge worker that owns a partition, so the assignment
 * made at a job's first run is kept (decisions/0008); a job whose owner is gone cannot run yet.
 * The metadata record's name is kept here and nowhere else.
 */
import { ErrorCode, MrmError, type ResolvedJob, type StateStore } from '@mrm/core';

const OWNERS = 'owners';

/** The stored owner of each partition of a job (empty before its first cluster run). */
export async function storedOwners(store: StateStore, jobName: string): Promise<string[]> {
  return (await store.getMeta<string[]>(jobName, OWNERS)) ?? [];
}

/**
 * The owners of a job's partitions: the stored ones when every owner is alive (else a clear
 * error), or a new round-robin assignment over `mergeWorkers`, stored before it is used.
 */
export async function assignOwners(
  store: StateStore,
  job: ResolvedJob,
  mergeWorkers: readonly string[],
  isAlive: (workerId: string) => boolean,
): Promise<string[]> {
  const stored = await store.getMeta<string[]>(job.name, OWNERS);
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
