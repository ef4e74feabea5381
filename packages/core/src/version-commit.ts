/** Committing versions in a store, once: the one "commit only if newer" guard of MRM. */
import { ErrorCode, MrmError } from './errors.js';
import type { RecordStore, VersionInfo } from './ports/state-store.js';

/**
 * True when `committed` is `info` committed already: every field equal (the coordinator builds a
 * version's info once, so a commit sent again carries exactly the same; another run's version of
 * the same number has another commit time, batches or hash). A store's `commitVersions` skips such
 * a version instead of refusing it: two deliveries of one commit request that race each other
 * (the coordinator sent it again while the first was still being applied) both succeed.
 */
export function isSameVersion(committed: VersionInfo | undefined, info: VersionInfo): boolean {
  if (committed === undefined) return false;
  const a = committed as unknown as Record<string, unknown>;
  const b = info as unknown as Record<string, unknown>;
  const fields = new Set([...Object.keys(a), ...Object.keys(b)]);
  // A field left out and one stored as null (an encoded `undefined`) are the same.
  for (const field of fields) if ((a[field] ?? undefined) !== (b[field] ?? undefined)) return false;
  return true;
}

/**
 * What a store's `commitVersions(job, infos)` writes: `infos` without the repeats
 * ({@link isSameVersion} with `committed(version)`, the store's record of that version before
 * this call). Throws `E_STATE` when `infos` do not go in increasing order. The store still refuses
 * what is left when it is not above its latest committed version.
 */
export function versionsToCommit(
  job: string,
  infos: readonly VersionInfo[],
  committed: (version: number) => VersionInfo | undefined,
): VersionInfo[] {
  infos.forEach((info, i) => {
    const before = infos[i - 1]?.version;
    if (before !== undefined && info.version <= before) {
      throw new MrmError(
        ErrorCode.State,
        `cannot commit version ${info.version} of job ${job}: version ${before} comes before it in the same commit`,
      );
    }
  });
  return infos.filter((info) => !isSameVersion(committed(info.version), info));
}

/**
 * Commits those of `infos` (increasing versions: a group committed together) that are newer than
 * the store's latest committed version, in one write, and skips the others (a commit request sent
 * again after a lost reply, a restarted coordinator); a repeat that races the first delivery past
 * this check is skipped by the store itself ({@link versionsToCommit}). Resolves with how many it
 * committed. The coordinator's version committer and every merge worker commit through here, with
 * the same infos.
 */
export async function commitIfNewer(store: RecordStore, job: string, infos: readonly VersionInfo[]): Promise<number> {
  const latest = (await store.latestVersion(job))?.version ?? 0;
  const newer = infos.filter((info) => info.version > latest);
  if (newer.length === 0) return 0;
  await store.commitVersions(job, newer);
  return newer.length;
}
