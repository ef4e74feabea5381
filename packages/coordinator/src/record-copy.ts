/**
 * Moving a coordinator's records from one {@link RecordStore} to another: a coordinator that kept
 * them in its LMDB `--state` (before decisions/0020) hands them to JetStream the first time it
 * leads, so that an upgraded cluster keeps its jobs, versions and history.
 *
 * ```ts
 * if (await records.isEmpty()) await copyRecords(oldLmdbStore, records);
 * ```
 */
import type { RecordStore, StateStore } from '@mrm/core';

/** Where records come from: a store that can also name its jobs. */
export type RecordSource = Pick<StateStore, 'listJobs' | 'listVersions' | 'getMeta' | 'listMeta'>;

/** What {@link copyRecords} copied. */
export interface RecordCopy {
  readonly jobs: number;
  readonly records: number;
  readonly versions: number;
}

/**
 * Copies every metadata record and every committed version of every job (and of the history's
 * reserved namespace) from `from` into `to`. Versions go in order; `to` should hold none yet.
 */
export async function copyRecords(from: RecordSource, to: RecordStore): Promise<RecordCopy> {
  let records = 0;
  let versions = 0;
  const jobs = await from.listJobs();
  for (const job of jobs) {
    for (const name of await from.listMeta(job, '')) {
      const value = await from.getMeta(job, name);
      if (value === undefined) continue;
      await to.putMeta(job, name, value);
      records++;
    }
    for (const info of await from.listVersions(job)) {
      await to.commitVersion(job, info);
      versions++;
    }
  }
  return { jobs: jobs.length, records, versions };
}
