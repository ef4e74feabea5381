/**
 * Errors a user can cause in a job, through the real `mrm` binary on real LMDB: dead letters
 * (`--on-error skip`, `mrm dead-letters`), checks of what reduce and merge return, and a job whose
 * code changed under the same name (`--reset`, `--allow-code-change`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mrm, readJsonLines, tempDir, writeJob } from './cli-helpers.js';
import { DAYS, PER_STATUS_TOPK, POISON_JOB, perStatusSum, versionsJson } from './state-helpers.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

describe('dead letters', () => {
  it('with --on-error skip sets aside the poisoned line and keys, and lists them', async () => {
    const job = writeJob(dir, 'poison.ts', POISON_JOB);
    const input = join(dir, 'in.txt');
    writeFileSync(input, ['a b', 'b c', 'x POISON y', 'boom a', 'nan c', 'c'].join('\n'));
    const state = join(dir, 'state');
    const out = join(dir, 'out.jsonl');
    const r = await mrm(['run', job, '--input', input, '--state', state, '--on-error', 'skip', '--out', out, '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/3 dead letters \(mrm dead-letters --job poison\)/);
    expect(readJsonLines(out)).toEqual([
      ['a', 2],
      ['b', 2],
      ['c', 3],
    ]);
    const d = await mrm(['dead-letters', '--job', 'poison', '--state', state]);
    expect(d.code, d.stderr).toBe(0);
    const letters = d.stdout
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(letters).toHaveLength(3);
    expect(letters).toContainEqual(
      expect.objectContaining({
        job: 'poison',
        stage: 'map',
        source: input,
        line: 3,
        message: 'map threw: poisoned line',
      }),
    );
    expect(letters).toContainEqual(
      expect.objectContaining({ stage: 'reduce', key: 'boom', message: 'reduce threw: reduce cannot take boom' }),
    );
    expect(letters).toContainEqual(
      expect.objectContaining({ stage: 'merge', key: 'nan', message: expect.stringMatching(/^merge returned NaN/) }),
    );
    for (const letter of letters) expect(letter).toMatchObject({ batch: expect.any(String), at: expect.any(String) });
  }, 120_000);

  it('sets aside a line whose async map rejects, as one that throws', async () => {
    const job = writeJob(
      dir,
      'async-poison.ts',
      `export default {
  name: 'async-poison',
  async map(line: string, emit: (k: string, v: number) => void) {
    await new Promise((r) => setTimeout(r, 1));
    if (line.includes('POISON')) throw new Error('poisoned line');
    for (const w of line.split(' ')) emit(w, 1);
  },
  reduce: (_k: string, vs: number[]) => vs.reduce((a, b) => a + b, 0),
  merge: (_k: string, prev: number | undefined, next: number) => (prev ?? 0) + next,
};
`,
    );
    const input = join(dir, 'in.txt');
    writeFileSync(input, ['a b', 'x POISON y', 'b'].join('\n'));
    const state = join(dir, 'state');
    const out = join(dir, 'out.jsonl');
    const r = await mrm(['run', job, '--input', input, '--state', state, '--on-error', 'skip', '--out', out, '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/1 dead letter/);
    expect(readJsonLines(out)).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    const d = await mrm(['dead-letters', '--job', 'async-poison', '--state', state]);
    expect(JSON.parse(d.stdout)).toMatchObject({
      stage: 'map',
      source: input,
      line: 2,
      message: 'map threw: poisoned line',
    });
    const failed = await mrm(['run', job, '--input', input, '--state', join(dir, 'fail'), '-q']);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(new RegExp(`map threw at ${input}:2: poisoned line`));
  }, 120_000);

  it('with the default fail names the job, the key and the batch in one line and leaves the state as it was', {
    timeout: 120_000,
  }, async () => {
    const job = writeJob(dir, 'poison.ts', POISON_JOB);
    const clean = join(dir, 'clean.txt');
    writeFileSync(clean, 'a b\nb c\n');
    const state = join(dir, 'state');
    expect((await mrm(['run', job, '--input', clean, '--state', state, '-q'])).code).toBe(0);
    const before = await versionsJson(state, 'poison');
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, 'a\nboom\n');
    const r = await mrm(['run', job, '--input', bad, '--state', state, '-q']);
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/reduce of job 'poison' threw for key "boom" in batch \S+: reduce cannot take boom/);
    expect(await versionsJson(state, 'poison')).toEqual(before);
    const d = await mrm(['dead-letters', '--job', 'poison', '--state', state]);
    expect(d.stdout).toBe('');
  });
});

describe('what reduce and merge return', () => {
  // Every kind of value is checked by packages/core/test/storable-value.test.ts; here the path through the CLI.
  const cases: [string, string, RegExp][] = [
    ['undefined', 'undefined', /returned undefined/],
    ['a BigInt', 'BigInt(values.length)', /returned BigInt 2n/],
  ];
  it.each(cases)(
    'rejects %s from reduce in one line naming job, function and key, state unchanged',
    async (_what, expr, pattern) => {
      const job = writeJob(
        dir,
        'bad.ts',
        `import { defineJob } from '@mrm/core';
export default defineJob({
  name: 'bad',
  map(line: string, emit) { emit(line, 1); },
  reduce: (key, values: number[]) => (key === 'x' ? (${expr}) : values.length) as never,
  merge: (_key, prev: unknown, next: unknown) => next ?? prev,
});
`,
      );
      const input = join(dir, 'in.txt');
      writeFileSync(input, 'x\nx\ny\n');
      const state = join(dir, 'state');
      const r = await mrm(['run', job, '--input', input, '--state', state, '-q']);
      expect(r.code).not.toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/reduce of job 'bad' returned/);
      expect(lines[0]).toMatch(pattern);
      expect(lines[0]).toMatch(/for key "x"/);
      const v = await mrm(['versions', '--state', state, '--job', 'bad']);
      expect(v.stdout).toBe('');
    },
    120_000,
  );
});

describe('a job whose code changed under the same name', () => {
  it('is refused with one line saying what to do; --reset starts over and --allow-code-change merges on', async () => {
    const [day1, day2] = DAYS as [string, string];
    const state = join(dir, 'state');
    const sum = writeJob(dir, 'sum.ts', perStatusSum());
    expect((await mrm(['run', sum, '--input', day1, '--state', state, '-q'])).code).toBe(0);
    const before = await versionsJson(state, 'per-status');
    const topk = writeJob(dir, 'topk.ts', PER_STATUS_TOPK);
    const refused = await mrm(['run', topk, '--input', day2, '--state', state, '-q']);
    expect(refused.code).not.toBe(0);
    const lines = refused.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /the code of job 'per-status' changed since version 1 .*another job name.*--reset.*--allow-code-change/,
    );
    expect(await versionsJson(state, 'per-status')).toEqual(before);

    const out = join(dir, 'out.jsonl');
    const reset = await mrm(['run', topk, '--input', day2, '--state', state, '--reset', '--out', out, '-q']);
    expect(reset.code, reset.stderr).toBe(0);
    expect((await versionsJson(state, 'per-status')).map((v) => v.version)).toEqual([1]);
    const ref = join(dir, 'ref.jsonl');
    const fresh = await mrm(['run', topk, '--input', day2, '--state', join(dir, 'fresh'), '--out', ref, '-q']);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(ref, 'utf8'));

    // map is not part of the state's code: a fixed parser merges on without a word.
    const topk2 = writeJob(
      dir,
      'topk2.ts',
      PER_STATUS_TOPK.replace('if (m !== null)', 'if (m !== null && m[2] !== "")'),
    );
    const on = await mrm(['run', topk2, '--input', day1, '--state', state, '--out', out, '-q']);
    expect(on.code, on.stderr).toBe(0);
    const both = await mrm(['run', topk, '--input', day1, '--state', join(dir, 'fresh'), '--out', ref, '-q']);
    expect(both.code, both.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(ref, 'utf8'));

    // --allow-code-change merges into the old state with the new code (here: a sum written by hand).
    const other = join(dir, 'other');
    expect((await mrm(['run', sum, '--input', day1, '--state', other, '-q'])).code).toBe(0);
    const byHand = writeJob(
      dir,
      'by-hand.ts',
      perStatusSum().replace(
        '...aggregates.sum(),',
        'reduce: (_k, vs: number[]) => vs.reduce((a, b) => a + b, 0), merge: (_k, p: number | undefined, n: number) => (p ?? 0) + n,',
      ),
    );
    const allowed = await mrm([
      'run',
      byHand,
      '--input',
      day2,
      '--state',
      other,
      '--allow-code-change',
      '--out',
      out,
      '-q',
    ]);
    expect(allowed.code, allowed.stderr).toBe(0);
    const whole = await mrm(['run', sum, '--input', day1, day2, '--state', join(dir, 'whole'), '--out', ref, '-q']);
    expect(whole.code, whole.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(ref, 'utf8'));
  }, 240_000);

  it('sees a changed argument of a built-in aggregate (topK(3) → topK(5)) and a bumped stateVersion', async () => {
    const [day1, day2] = DAYS as [string, string];
    const state = join(dir, 'state');
    const top3 = writeJob(dir, 'top3.ts', PER_STATUS_TOPK);
    expect((await mrm(['run', top3, '--input', day1, '--state', state, '-q'])).code).toBe(0);
    const top5 = writeJob(dir, 'top5.ts', PER_STATUS_TOPK.replace('topK(3)', 'topK(5)'));
    const refused = await mrm(['run', top5, '--input', day2, '--state', state, '-q']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim()).toMatch(/^.*the code of job 'per-status' changed since version 1 /);
    const bumped = writeJob(dir, 'bumped.ts', PER_STATUS_TOPK.replace('name:', 'stateVersion: 2, name:'));
    const again = await mrm(['run', bumped, '--input', day2, '--state', state, '-q']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/changed since version 1/);
    expect((await versionsJson(state, 'per-status')).map((v) => v.version)).toEqual([1]);
  }, 120_000);
});
