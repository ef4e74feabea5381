/** Shared by the state tests: fixtures, the per-status jobs, and `mrm versions --json`. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { mrm } from './cli-helpers.js';

export const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
export const DAYS = readdirSync(FIXTURES)
  .filter((f) => f.includes('access.log'))
  .sort()
  .map((f) => join(FIXTURES, f));

const STATUS = String.raw`/^\S+ \S+ \S+ \[[^\]]+\] "[^"]*" (\d{3}) /`;
const PATH = String.raw`/^\S+ \S+ \S+ \[[^\]]+\] "\S+ (\S+)[^"]*" (\d{3}) /`;

/** Requests per status, with the given partitions. */
export const perStatusSum = (partitions = 0) => `
import { aggregates, defineJob } from '@mrm/core';
export default defineJob({
  name: 'per-status',
  ${partitions > 0 ? `partitions: ${partitions},` : ''}
  map(line: string, emit) {
    const m = ${STATUS}.exec(line);
    if (m !== null) emit(m[1], 1);
  },
  ...aggregates.sum(),
});
`;

/** The three most requested paths per status: the same job name, other code. */
export const PER_STATUS_TOPK = `
import { aggregates, defineJob } from '@mrm/core';
export default defineJob({
  name: 'per-status',
  map(line: string, emit) {
    const m = ${PATH}.exec(line);
    if (m !== null) emit(m[2], m[1]);
  },
  ...aggregates.topK(3),
});
`;

export interface VersionLine {
  version: number;
  batches: number;
  committedAt: string;
  keys: number;
  bytes: number;
  hash: string;
}

export async function versionsJson(state: string, job: string): Promise<VersionLine[]> {
  const r = await mrm(['versions', '--state', state, '--job', job, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as VersionLine);
}

/** Throws in map on a POISON line, in reduce on key `boom`; merge returns NaN for key `nan`. */
export const POISON_JOB = `
import { defineJob } from '@mrm/core';
export default defineJob({
  name: 'poison',
  map(line: string, emit) {
    if (line.includes('POISON')) throw new Error('poisoned line');
    for (const w of line.split(' ')) if (w.length > 0) emit(w, 1);
  },
  reduce(key, values: number[]) {
    if (key === 'boom') throw new Error('reduce cannot take boom');
    return values.reduce((a, b) => a + b, 0);
  },
  merge(key, prev: number | undefined, next: number) {
    if (key === 'nan') return Number.NaN;
    return (prev ?? 0) + next;
  },
});
`;
