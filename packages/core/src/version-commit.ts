/** Committing versions in a store, once: the one "commit only if newer" guard of MRM. */
import type { RecordStore, VersionInfo } from './ports/state-store.js';

/**
 * Commits those of `infos` (increasing versions: a group committed together) that are newer than
 * the store's latest committed version, in one write, and skips the others (a commit request sent
 * again after a lost reply, a restarted coordinator). Resolves with how many it committed. The
 * coordinator's version committer and every merge worker commit through here, with the same infos.
 */
export async function commitIfNewer(store: RecordStore, job: string, infos: readonly VersionInfo[]): Promise<number> {
  const latest = (await store.latestVersion(job))?.version ?? 0;
  const newer = infos.filter((info) => info.version > latest);
  if (newer.length === 0) return 0;
  await store.commitVersions(job, newer);
  return newer.length;
}
