/** How the baselines call a job's user functions, named in errors as MRM names them. */
import { ErrorCode, errorMessage, type Key, MrmError, type ResolvedJob } from '@mrm/core';

/** Runs user function `fn` of `job` for `key`; a throw becomes `E_USER_CODE` naming both. */
export function callUser<T>(job: ResolvedJob, fn: string, key: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw new MrmError(ErrorCode.UserCode, `${fn} of job '${job.name}' threw for key ${key}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

/** The job's combiner over a list of values: `combine`, else `fold` over the list, else none. */
export function combinerOf(job: ResolvedJob): ((key: Key, values: unknown[]) => unknown) | undefined {
  if (job.combine !== undefined) return job.combine;
  const fold = job.fold;
  if (fold === undefined) return undefined;
  return (key, values) => {
    let acc: unknown;
    for (const v of values) acc = fold(key, acc, v);
    return acc;
  };
}

/**
 * What one key's values come to in a result computed from scratch: `reduce`, and for an
 * incremental job the state that merging that into nothing gives. `undefined`: no entry.
 */
export function resultFromScratch(job: ResolvedJob, key: Key, values: unknown[]): unknown {
  const reduced = job.reduce(key, values);
  return job.merge !== undefined ? job.merge(key, undefined, reduced) : reduced;
}
