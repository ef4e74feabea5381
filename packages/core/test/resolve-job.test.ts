import { DEFAULT_PARTITIONS, defineJob, JOB_NAME_PATTERN, resolveJob } from '@mrm/core';
import { describe, expect, it } from 'vitest';

const map = (_line: string) => {};
const reduce = (_key: unknown, values: number[]) => values.length;

/** The E_JOB_INVALID message resolveJob throws for `spec`. */
function problemWith(spec: unknown): string {
  try {
    resolveJob(spec, 'jobs/wc.ts');
  } catch (e) {
    expect(e).toMatchObject({ name: 'MrmError', code: 'E_JOB_INVALID' });
    const message = (e as Error).message;
    expect(message.startsWith('jobs/wc.ts: ')).toBe(true);
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('the spec was accepted');
}

describe('resolveJob', () => {
  it('fills defaults: lines input, 16 partitions, not incremental without merge', () => {
    const job = resolveJob({ name: 'wc', map, reduce });
    expect(job).toMatchObject({ name: 'wc', input: 'lines', partitions: DEFAULT_PARTITIONS, incremental: false });
    expect(DEFAULT_PARTITIONS).toBe(16);
    expect(job.map).toBe(map);
    expect(job.reduce).toBe(reduce);
  });

  it('keeps given values and is incremental with merge', () => {
    const merge = (_k: unknown, prev: number | undefined, next: number) => (prev ?? 0) + next;
    const job = resolveJob(
      defineJob({ name: 'wc-2', map, reduce, merge, input: 'jsonl', partitions: 4, description: 'd' }),
    );
    expect(job).toMatchObject({ input: 'jsonl', partitions: 4, description: 'd', incremental: true });
    expect(job.merge).toBe(merge);
  });

  it('returns a frozen copy and leaves the input untouched', () => {
    const spec = { name: 'wc', map, reduce };
    const job = resolveJob(spec);
    expect(job).not.toBe(spec);
    expect(Object.isFrozen(job)).toBe(true);
    expect(Object.isFrozen(spec)).toBe(false);
    expect(spec).toEqual({ name: 'wc', map, reduce });
  });

  it('requires reduce', () => {
    expect(problemWith({ name: 'wc', map })).toContain("has no 'reduce'");
  });

  it('requires map', () => {
    expect(problemWith({ name: 'wc', reduce })).toContain("has no 'map'");
  });

  it('requires a valid name', () => {
    expect(problemWith({ map, reduce })).toContain("no 'name'");
    for (const name of ['', 'WordCount', '-wc', '_wc', 'word count', 'wc.v2', 'a'.repeat(65), 42]) {
      expect(problemWith({ name, map, reduce })).toContain('name');
    }
    for (const name of ['wc', '0', 'a-b_c', 'a'.repeat(64)]) {
      expect(JOB_NAME_PATTERN.test(name)).toBe(true);
      expect(resolveJob({ name, map, reduce }).name).toBe(name);
    }
  });

  it('rejects a merge, combine or finalize that is not a function', () => {
    expect(problemWith({ name: 'wc', map, reduce, merge: 'sum' })).toContain(
      "'merge' of job 'wc' must be a function, got string",
    );
    expect(problemWith({ name: 'wc', map, reduce, combine: {} })).toContain("'combine'");
    expect(problemWith({ name: 'wc', map, reduce, finalize: 1 })).toContain("'finalize'");
    expect(problemWith({ name: 'wc', map: 'x', reduce })).toContain("'map'");
  });

  it('names an unknown field (a typo must not be silently ignored)', () => {
    expect(problemWith({ name: 'wc', map, reduce, reducer: reduce })).toContain("unknown field 'reducer'");
    expect(problemWith({ name: 'wc', map, reduce, incremental: true })).toContain("unknown field 'incremental'");
  });

  it('rejects bad input formats, partition counts and descriptions', () => {
    expect(problemWith({ name: 'wc', map, reduce, input: 'csv' })).toContain("input 'csv'");
    for (const partitions of [0, -1, 1.5, 4097, '16']) {
      expect(problemWith({ name: 'wc', map, reduce, partitions })).toContain('partitions');
    }
    expect(resolveJob({ name: 'wc', map, reduce, partitions: 4096 }).partitions).toBe(4096);
    expect(problemWith({ name: 'wc', map, reduce, description: 3 })).toContain('description');
  });

  it('rejects a default export that is not an object', () => {
    for (const spec of [undefined, null, 'wc', [map, reduce], 42]) {
      expect(problemWith(spec)).toContain('must be a job spec object');
    }
  });
});
