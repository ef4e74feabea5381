/**
 * Calling a job's `combine`, the same way on the map side and the merge side. `combine` only saves
 * work (values reach `reduce` either way), so when it throws under `onError: 'skip'` the values
 * are kept as they were and go on uncombined: nothing is lost and nothing needs setting aside.
 * Under `fail` the throw becomes one line naming the job, `combine` and the key.
 */
import { ErrorCode, errorMessage, MrmError } from './errors.js';
import type { Key } from './key.js';
import type { ResolvedJob } from './resolve-job.js';

/** `[combined]`, or `values` unchanged when `combine` threw and `onError` is `skip`. */
export function combineValues(
  job: Pick<ResolvedJob, 'name' | 'combine'>,
  key: Key,
  values: unknown[],
  onError: 'fail' | 'skip',
): unknown[] {
  const combine = job.combine;
  if (combine === undefined) return values;
  try {
    return [combine(key, values)];
  } catch (e) {
    if (onError === 'skip') return values;
    throw new MrmError(
      ErrorCode.UserCode,
      `combine of job '${job.name}' threw for key ${JSON.stringify(key)}: ${errorMessage(e)}`,
      { cause: e, details: { key: JSON.stringify(key) } },
    );
  }
}
