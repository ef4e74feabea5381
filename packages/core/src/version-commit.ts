/** Committing a version in a store, once: the one "commit only if newer" guard of MRM. */
import type { RecordStore, VersionInfo } from './ports/state-store.js';

/**
 * Commits `info` in `store` unless the store already has `info.version` or a newer one (a commit
 * request sent again after a lost reply, a restarted coordinator). Resolves true when it
 * committed. The coordinator's version committer and every merge worker commit through here,
 * with the same `info`.
 */
export async function commitIfNewer(store: RecordStore, job: string, info: VersionInfo): Promise<boolean> {
  const latest = await store.latestVersion(job);
  if ((latest?.version ?? 0) >= info.version) return false;
  await store.commitVersion(job, info);
  return true;
}
