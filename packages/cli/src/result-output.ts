/** Writing a job's result (or one key of it) as JSON Lines, as of a version. */
import { ErrorCode, type Key, MrmError, type ResolvedJob } from '@mrm/core';
import { type ResultEntry, type ResultSource, readKey, readResult } from './result-reader.js';
import { writeJsonLines } from './result-writer.js';

/** Which result to write and where. */
export interface ResultRequest {
  /** Path, or '-' for stdout. */
  readonly out: string;
  /** A committed version (default: the latest). */
  readonly version?: number;
  /** Only this key. */
  readonly key?: Key;
}

/** What a job contributes to reading its result. */
export type ResultJob = Pick<ResolvedJob, 'name' | 'partitions' | 'finalize'>;

/** Resolves the version to read: the given one (which must exist) or the latest; undefined when there is none. */
export async function resolveVersion(store: ResultSource, job: string, version?: number): Promise<number | undefined> {
  if (version === undefined) return (await store.latestVersion(job))?.version;
  const versions = await store.listVersions(job);
  if (!versions.some((v) => v.version === version)) {
    const known = versions.map((v) => v.version);
    throw new MrmError(
      ErrorCode.NoSuchVersion,
      `job '${job}' has no version ${version} (versions: ${known.length > 0 ? `${known[0]}–${known.at(-1)}` : 'none'})`,
    );
  }
  return version;
}

function readOptions(job: ResultJob, version: number | undefined) {
  return {
    version: version ?? 0,
    partitions: job.partitions,
    ...(job.finalize !== undefined ? { finalize: job.finalize } : {}),
  };
}

/** One key of the result as of a version (default the latest); undefined when it is not there. */
export async function readJobKey(
  store: ResultSource,
  job: ResultJob,
  key: Key,
  version?: number,
): Promise<ResultEntry | undefined> {
  const resolved = await resolveVersion(store, job.name, version);
  return resolved === undefined ? undefined : readKey(store, job.name, key, readOptions(job, resolved));
}

/** Writes the result; returns the number of lines written. */
export async function writeJobResult(store: ResultSource, job: ResultJob, request: ResultRequest): Promise<number> {
  if (request.key !== undefined) {
    return writeJsonLines(single(await readJobKey(store, job, request.key, request.version)), request.out);
  }
  const version = await resolveVersion(store, job.name, request.version);
  const options = readOptions(job, version);
  if (version === undefined) return writeJsonLines(single<ResultEntry>(undefined), request.out);
  return writeJsonLines(readResult(store, job.name, options), request.out);
}

async function* single<T>(entry: T | undefined): AsyncIterable<T> {
  if (entry !== undefined) yield entry;
}
