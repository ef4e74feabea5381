/**
 * A baseline's result as `mrm run --out` writes it: the output parts (record files, each sorted
 * by key, their key sets disjoint) merged into key order, each state shown through the job's
 * `finalize`. The caller hands the entries to the project's result writer.
 */
import { statSync } from 'node:fs';
import { decode, keyOf, type ResolvedJob } from '@mrm/core';
import { callUser } from './job-functions.js';
import { mergedRecords } from './sorted-merge.js';

/** One line of a result: canonical key text and the value shown. */
export interface BaselineEntry {
  readonly key: string;
  readonly value: unknown;
}

/** The entries of the result held in the part files `paths`, in result order. */
export async function* resultEntries(job: ResolvedJob, paths: readonly string[]): AsyncGenerator<BaselineEntry> {
  const segments = paths.map((path) => ({ path, start: 0, end: statSync(path).size }));
  const finalize = job.finalize;
  for (const [key, bytes] of mergedRecords(segments)) {
    const state = decode(bytes);
    yield {
      key,
      value: finalize === undefined ? state : callUser(job, 'finalize', key, () => finalize(keyOf(key), state)),
    };
  }
}
