/**
 * What cluster tests compare against: the same job run in one process (`mrm run`, embedded), and
 * the cluster's own last version (`mrm versions --nats --json`).
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { mrm } from './cli-helpers.js';
import { cleanEnv, type TestCluster } from './cluster-harness.js';
import type { VersionLine } from './state-helpers.js';

/** A job counting requests per path of an access log, over `partitions` partitions. */
export const perPathJob = (name: string, partitions: number) => `
import { aggregates, defineJob } from '@mrm/core';
export default defineJob({
  name: '${name}',
  partitions: ${partitions},
  map(line: string, emit) {
    const m = /"\\S+ (\\S+)/.exec(line);
    if (m !== null) emit(m[1], 1);
  },
  ...aggregates.sum(),
});
`;

/** The embedded result file and last version of job `jobName` (file `job`) over `inputs`. */
export async function embeddedReference(
  c: TestCluster,
  job: string,
  jobName: string,
  inputs: string[],
  name: string,
): Promise<{ out: string; last: VersionLine }> {
  const state = join(c.dir, `${name}-state`);
  const out = join(c.dir, `${name}.jsonl`);
  const r = await mrm(['run', job, '--input', ...inputs, '--state', state, '--out', out, '-q'], { env: cleanEnv() });
  expect(r.code, r.stderr).toBe(0);
  const v = await mrm(['versions', '--state', state, '--job', jobName, '--json']);
  return { out, last: JSON.parse(v.stdout.trim().split('\n').at(-1) as string) as VersionLine };
}

/** The cluster's last version of job `jobName`. */
export async function lastClusterVersion(c: TestCluster, jobName: string): Promise<VersionLine> {
  const v = await c.mrm(['versions', '--nats', c.url, '--job', jobName, '--json']);
  expect(v.code, `${v.stderr}\n${c.logs()}`).toBe(0);
  return JSON.parse(v.stdout.trim().split('\n').at(-1) as string) as VersionLine;
}
