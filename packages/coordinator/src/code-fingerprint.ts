/**
 * The fingerprint of the code that gives an incremental job's state its meaning: the job's name,
 * input kind, window and `stateVersion`, and the source text of `combine`, `fold`, `reduce` and
 * `merge` with, for built-in aggregates, the arguments they were made with (`topK(3)` and
 * `topK(5)` have the same source). `map` (what goes in) and `finalize` (what is shown) are left
 * out: fixing a parser is the most common edit of a running job and does not change what the
 * state means. Values a user's own function captures from its closure are not in its source:
 * docs/job-api.md says to bump `stateVersion` (or use a new job name) for such a change.
 */
import { createHash } from 'node:crypto';
import { codeIdentityOf, type ResolvedJob } from '@mrm/core';

/** Fields of the fingerprint, in order. */
const STATE_FUNCTIONS = ['combine', 'fold', 'reduce', 'merge'] as const;

/** SHA-256 (hex) of what makes a job's state mean what it means. */
export function codeFingerprint(job: ResolvedJob): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify([job.name, job.input, job.window ?? null]));
  // Absent in older stores' jobs: only added to the hash when set, so their fingerprints stay.
  if (job.stateVersion !== undefined) hash.update(`\0stateVersion\0${JSON.stringify(job.stateVersion)}`);
  for (const name of STATE_FUNCTIONS) {
    const fn = job[name];
    hash.update(`\0${name}\0${fn === undefined ? '' : String(fn)}`);
    const identity = codeIdentityOf(fn);
    if (identity !== undefined) hash.update(`\0made by\0${identity}`);
  }
  return hash.digest('hex');
}
