/**
 * The fingerprint of the code that gives an incremental job's state its meaning: the job's name,
 * input kind and window, and the source text of `combine`, `fold`, `reduce` and `merge`. `map`
 * (what goes in) and `finalize` (what is shown) are left out: fixing a parser is the most common
 * edit of a running job and does not change what the state means. Values a function captures
 * from its closure are not part of its source text (`aggregates.topK(3)` and `topK(5)` look
 * alike): docs/job-api.md says to use a new job name for such a change.
 */
import { createHash } from 'node:crypto';
import type { ResolvedJob } from '@mrm/core';

/** Fields of the fingerprint, in order. */
const STATE_FUNCTIONS = ['combine', 'fold', 'reduce', 'merge'] as const;

/** SHA-256 (hex) of what makes a job's state mean what it means. */
export function codeFingerprint(job: ResolvedJob): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify([job.name, job.input, job.window ?? null]));
  for (const name of STATE_FUNCTIONS) {
    const fn = job[name];
    hash.update(`\0${name}\0${fn === undefined ? '' : String(fn)}`);
  }
  return hash.digest('hex');
}
