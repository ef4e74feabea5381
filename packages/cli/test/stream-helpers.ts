/**
 * Helpers of the streaming cluster tests: publishing lines into a stream with `mrm publish`, and
 * waiting until a job's live result (`mrm query --nats`) counts a number of records, for jobs
 * whose values are counts (every record counts one).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { TestCluster } from './cluster-harness.js';

/** Writes `lines` to `<cluster dir>/<name>` and publishes them to `subject` with `mrm publish`. */
export async function publishLines(c: TestCluster, subject: string, lines: readonly string[], name: string) {
  const file = join(c.dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const r = await c.mrm(['publish', subject, '--file', file, '--nats', c.url]);
  expect(r.code, r.stderr).toBe(0);
}

/** The sum of the values of `job`'s live result, or −1 when it cannot be queried (yet). */
export async function countedRecords(c: TestCluster, job: string): Promise<number> {
  const r = await c.mrm(['query', '--job', job, '--nats', c.url]);
  if (r.code !== 0) return -1;
  let sum = 0;
  for (const line of r.stdout.split('\n')) if (line.length > 0) sum += (JSON.parse(line) as { value: number }).value;
  return sum;
}

/** Waits (at most 90 s) until `job`'s live result counts `n` records; the error shows the logs. */
export async function untilCounted(c: TestCluster, job: string, n: number): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (let got = await countedRecords(c, job); got !== n; got = await countedRecords(c, job)) {
    if (Date.now() > deadline) throw new Error(`the live result counts ${got} records, not ${n}\n${c.logs()}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
