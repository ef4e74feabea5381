/**
 * Scenarios shared by the cluster tests that kill processes: a slow word count that says when it
 * is under way, its reference result, and "disturb the cluster mid-job, then expect the exact
 * result".
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { CliResult } from './cli-helpers.js';
import { expectedLines, writeJob } from './cli-helpers.js';
import { copyInto, expectSameResult, fileAppears, type TestCluster } from './cluster-harness.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname;
const BOOKS = ['pg-metamorphosis.txt'].map((f) => join(EXAMPLES, 'wordcount/data', f));

/** Word count whose map takes ~1 ms per line; writes `marker` once it is past line 800 of a source. */
export function slowWordcount(marker: string): string {
  return `
import { writeFileSync } from 'node:fs';
import { aggregates, defineJob } from '@mrm/core';
export default defineJob({
  name: 'slowcount',
  map(line: string, emit, ctx) {
    const until = performance.now() + 1;
    while (performance.now() < until) {}
    if (ctx.line > 800) writeFileSync(${JSON.stringify(marker)}, 'past line 800');
    for (const w of line.match(/[A-Za-z]+/g) ?? []) emit(w, 1);
  },
  ...aggregates.sum(),
});
`;
}

export function referenceWordcount(files: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const f of files) {
    for (const w of readFileSync(f, 'utf8').match(/[A-Za-z]+/g) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return expectedLines(counts);
}

/**
 * Submits the slow word count with `--wait`, calls `disturb` once the job is past line 800, and
 * checks the job still succeeds with the exact result. Returns the submit's outcome.
 */
export async function surviveMidJob(
  cluster: TestCluster,
  disturb: () => Promise<unknown>,
  extraArgs: string[] = [],
): Promise<CliResult> {
  const marker = join(cluster.dir, 'past-line-800');
  const job = writeJob(cluster.dir, 'slowcount.ts', slowWordcount(marker));
  const books = copyInto(join(cluster.dir, 'books'), BOOKS);
  const out = join(cluster.dir, 'out.jsonl');
  const submitted = cluster.submitWait(job, books, out, ['--batch-size', '20', ...extraArgs]);
  await fileAppears(marker, 30_000);
  await disturb();
  const r = await submitted;
  expect(r.code, `${r.stderr}\n${cluster.logs()}`).toBe(0);
  const reference = join(cluster.dir, 'reference.jsonl');
  writeFileSync(reference, referenceWordcount(books));
  expectSameResult(out, reference);
  return r;
}
