/** `mrm check <job>`: type errors of a job file as `file:line:col message`, non-zero exit. */
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkJobTypes } from '../src/commands/check.js';
import { mrm, tempDir, writeJob } from './cli-helpers.js';

const GOOD = `
import { defineJob, aggregates } from '@mrm/core';
import { lengthOf } from './helper.js';
export default defineJob({ name: 'good', map(line: string, emit) { emit(lengthOf(line), 1); }, ...aggregates.count() });
`;
const HELPER = 'export const lengthOf = (s: string): number => s.length;\n';
const BAD = `import { defineJob } from '@mrm/core';
export default defineJob({
  name: 'bad',
  map(line: string, emit) { const n: number = line; emit(n, 1); },
  reduce: (_k, vs: number[]) => vs.reduce((a, b) => a + b, 0),
});
`;
const NOT_A_JOB = `export default { name: 'plain', map: 5 };\n`;

describe('mrm check', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });
  function scratch(): string {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  }

  it('prints file:line:col and the message of a type error, and exits non-zero', async () => {
    const dir = scratch();
    writeJob(dir, 'bad.ts', BAD);
    const r = await mrm(['check', 'bad.ts'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("bad.ts:4:35 Type 'string' is not assignable to type 'number'.\n");
    expect(r.stderr).toBe("mrm: error: 1 type error in job 'bad.ts'\n");
  });

  it('passes a typed job with a local helper module', () => {
    const dir = scratch();
    writeJob(dir, 'helper.ts', HELPER);
    expect(checkJobTypes(writeJob(dir, 'good.ts', GOOD))).toEqual([]);
  });

  it('reports a default export that is not a job spec, where it is exported', () => {
    const dir = scratch();
    const file = writeJob(dir, 'plain.ts', NOT_A_JOB);
    const [line, ...more] = checkJobTypes(file);
    expect(more).toEqual([]);
    expect(line).toMatch(/^.*plain\.ts:1:1 the default export is not a job spec: Property 'reduce' is missing/);
    expect(line?.startsWith(relative(process.cwd(), join(dir, 'plain.ts')))).toBe(true);
  });
});
