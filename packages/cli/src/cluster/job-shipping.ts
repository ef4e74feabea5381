/**
 * Job code travels as a bundle stored in the cluster's blob store under its content hash; a
 * worker fetches it once, writes it to its bundle cache and imports it.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, type JobLoader, type JobRef, MrmError, type ResolvedJob, type Transport } from '@mrm/core';
import { importJob, type JobBundle, materializeBundle } from '../job-loader.js';

/** Blob name of a bundle. */
export const bundleBlobName = (hash: string) => `bundle/${hash}`;

/** Stores a bundle in the cluster (once per content). */
export async function publishBundle(transport: Transport, bundle: JobBundle): Promise<void> {
  const name = bundleBlobName(bundle.hash);
  if (await transport.blobs.has(name)) return;
  await transport.blobs.put(name, new TextEncoder().encode(bundle.code));
}

/** Fetches a bundle into `cacheDir` (unless already there) and returns its local path. */
export async function fetchBundle(transport: Transport, ref: JobRef, cacheDir: string): Promise<string> {
  const local = join(cacheDir, `${ref.bundleHash}.mjs`);
  if (
    await access(local).then(
      () => true,
      () => false,
    )
  )
    return local;
  const code = await transport.blobs.get(bundleBlobName(ref.bundleHash));
  if (code === undefined) {
    throw new MrmError(
      ErrorCode.JobLoad,
      `the code of job '${ref.name}' (${ref.bundleHash.slice(0, 12)}) is not in the cluster`,
    );
  }
  return materializeBundle(
    { code: new TextDecoder().decode(code), hash: ref.bundleHash, sourcePath: ref.name },
    cacheDir,
  );
}

/** A {@link JobLoader} that fetches bundles from the cluster, importing each hash once. */
export function clusterJobLoader(transport: Transport, cacheDir: string): JobLoader {
  const loaded = new Map<string, Promise<ResolvedJob>>();
  return (ref) => {
    let job = loaded.get(ref.bundleHash);
    if (job === undefined) {
      job = fetchBundle(transport, ref, cacheDir).then((path) => importJob(path, ref.name));
      job.catch(() => loaded.delete(ref.bundleHash));
      loaded.set(ref.bundleHash, job);
    }
    return job;
  };
}
