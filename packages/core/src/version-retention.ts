/**
 * How many versions a job keeps (`--keep-versions`) and when pruning is worth a pass. Pruning
 * walks the job's state once, so it does not run at every commit: it waits until a tenth of the
 * kept count (at least one version) can go, which bounds the versions on disk to about 1.1 × n.
 */
import type { PruneResult, RecordStore } from './ports/state-store.js';

/** Versions kept by default: bounds disk use while leaving plenty to query and compare. */
export const DEFAULT_KEEP_VERSIONS = 100;

/** `keepVersions` meaning "keep every version". */
export const KEEP_ALL_VERSIONS = 0;

/**
 * The oldest version to keep when a job has committed `versions` (oldest first) and keeps the
 * `keep` newest, or undefined when pruning is not due yet (or `keep` is {@link KEEP_ALL_VERSIONS}).
 */
export function oldestVersionToKeep(versions: readonly number[], keep: number): number | undefined {
  if (keep <= KEEP_ALL_VERSIONS || versions.length <= keep) return undefined;
  const prunable = versions.length - keep;
  if (prunable < Math.max(1, Math.floor(keep / 10))) return undefined;
  return versions[prunable];
}

/** Prunes a job's versions in `store` down to the `keep` newest when due; undefined when not. */
export async function pruneVersions(store: RecordStore, job: string, keep: number): Promise<PruneResult | undefined> {
  if (keep <= KEEP_ALL_VERSIONS) return undefined;
  const versions = (await store.listVersions(job)).map((v) => v.version);
  const oldestKept = oldestVersionToKeep(versions, keep);
  return oldestKept === undefined ? undefined : store.pruneBelow(job, oldestKept);
}
