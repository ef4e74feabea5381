/**
 * Salting through the real `mrm run` (the embedded engine: worker threads, LMDB): Zipf keys give
 * the same result salted, unsalted and by a plain computation; the summary names the hot keys or
 * says why nothing was salted; a bad `--salt` is one line; and a run killed mid-way (SIGKILL of
 * its own pid) and run again is still exact with salting.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipfLines } from '@mrm/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedLines, mrm, tempDir, writeJob } from './cli-helpers.js';

const COUNT_JOB = `export default {
  name: 'zipf-count',
  map(line: string, emit: (k: string, v: number) => void) { emit(line.slice(0, line.indexOf(' ')), 1); },
  reduce: (_k: string, vs: number[]) => vs.length,
  merge: (_k: string, prev: number | undefined, next: number) => (prev ?? 0) + next,
};
`;

const LAST_JOB = COUNT_JOB.replace("'zipf-count'", "'zipf-last'").replace('(prev ?? 0) + next', 'next');

describe('mrm run with salting', () => {
  let dir: string;
  let cleanup: () => void;
  let input: string;
  let counts: Map<string, number>;

  beforeAll(() => {
    ({ dir, cleanup } = tempDir());
    input = join(dir, 'zipf.txt');
    const text = zipfLines({ lines: 20_000, keys: 3_000, exponent: 1.3, seed: 11 });
    writeFileSync(input, text);
    counts = new Map();
    for (const l of text.split('\n')) {
      if (l.length === 0) continue;
      const k = l.slice(0, l.indexOf(' '));
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  });
  afterAll(() => cleanup());

  const args = (job: string, state: string, ...rest: string[]) => [
    'run',
    job,
    '--input',
    input,
    '--state',
    join(dir, state),
    '--batch-size',
    '1000',
    '--quiet',
    ...rest,
  ];

  it('gives the unsalted and the plain result, and names the hot keys', async () => {
    const job = writeJob(dir, 'count.ts', COUNT_JOB);
    const salted = await mrm(args(job, 'salted', '--out', join(dir, 'salted.jsonl')));
    expect(salted.code, salted.stderr).toBe(0);
    expect(salted.stderr).toMatch(/hot keys salted: "key1"×\d+/);
    const off = await mrm(args(job, 'off', '--salt', 'off', '--out', join(dir, 'off.jsonl')));
    expect(off.code, off.stderr).toBe(0);
    expect(off.stderr).not.toContain('hot keys');
    const expected = expectedLines(counts);
    expect(readFileSync(join(dir, 'salted.jsonl'), 'utf8')).toBe(expected);
    expect(readFileSync(join(dir, 'off.jsonl'), 'utf8')).toBe(expected);
  });

  it('sets a hot key aside with --on-error skip when reduce throws on it, salted as unsalted', async () => {
    // Declared associative (as the built-in aggregates are), so the sample check does not refuse salting.
    const job = writeJob(
      dir,
      'poison-hot.ts',
      `const associative = <T extends object>(fn: T): T =>
  Object.defineProperty(fn, Symbol.for('mrm.associative'), { value: true });
export default {
  name: 'zipf-poison',
  map(line: string, emit: (k: string, v: number) => void) { emit(line.slice(0, line.indexOf(' ')), 1); },
  reduce: associative((k: string, vs: number[]) => {
    if (k === 'key1') throw new Error('no key1');
    return vs.reduce((a, b) => a + b, 0);
  }),
  merge: associative((_k: string, prev: number | undefined, next: number) => (prev ?? 0) + next),
};
`,
    );
    const expected = new Map(counts);
    expected.delete('key1');
    const letters: unknown[][] = [];
    for (const [name, salt] of [
      ['poison-salted', 'auto'],
      ['poison-off', 'off'],
    ] as const) {
      const out = join(dir, `${name}.jsonl`);
      const r = await mrm(args(job, name, '--salt', salt, '--on-error', 'skip', '--out', out));
      expect(r.code, r.stderr).toBe(0);
      if (salt === 'auto') expect(r.stderr, r.stderr).toMatch(/hot keys salted: "key1"×\d+/);
      expect(readFileSync(out, 'utf8')).toBe(expectedLines(expected));
      const d = await mrm(['dead-letters', '--job', 'zipf-poison', '--state', join(dir, name)]);
      expect(d.code, d.stderr).toBe(0);
      const list = d.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { stage: string; key: string; message: string; batch: string });
      for (const letter of list) {
        expect(letter).toMatchObject({ stage: 'reduce', key: 'key1', message: 'reduce threw: no key1' });
      }
      letters.push(list.map((l) => l.batch).sort());
    }
    // One dead letter per batch, salted or not.
    expect(letters[0]).toEqual(letters[1]);
    expect(letters[0]?.length).toBeGreaterThan(0);
  });

  it('does not salt a merge that keeps the last value, and says so', async () => {
    const job = writeJob(dir, 'last.ts', LAST_JOB);
    const r = await mrm(args(job, 'last', '--salt', '4'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: not salted: the job's merge is not associative/);
    expect(r.stderr).not.toContain('hot keys salted');
  });

  it('rejects a bad --salt in one line', async () => {
    const job = writeJob(dir, 'count.ts', COUNT_JOB);
    const r = await mrm(args(job, 'bad', '--salt', '1'));
    expect(r.code).not.toBe(0);
    expect(r.stderr.split('\n')[0]).toMatch(/--salt.*must be 'auto', 'off' or a factor from 2 to 64/);
  });

  it('is exact after being killed mid-way (SIGKILL) and run again, salting', async () => {
    const marker = join(dir, 'killed-once');
    const job = writeJob(
      dir,
      'crash.ts',
      `import { existsSync, writeFileSync } from 'node:fs';\n${COUNT_JOB.replace(
        'map(line: string, emit: (k: string, v: number) => void) {',
        `map(line: string, emit: (k: string, v: number) => void, ctx: { line: number }) {
    if (ctx.line === 17500 && !existsSync(${JSON.stringify(marker)})) {
      writeFileSync(${JSON.stringify(marker)}, '');
      process.kill(process.pid, 'SIGKILL');
    }`,
      )}`,
    );
    const run = args(job, 'crash', '--checkpoint-every', '3', '--salt', '8');
    const killed = await mrm(run);
    expect(killed.signal).toBe('SIGKILL');
    const committed = (await mrm(['versions', '--state', join(dir, 'crash'), '--job', 'zipf-count'])).stdout.trim();
    const out = join(dir, 'crash.jsonl');
    const again = await mrm([...run, '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    // Work checkpointed before the kill (if any: that depends on the machine's speed) is not redone.
    if (committed !== '') expect(again.stderr).not.toContain('20,000 records');
    expect(again.stderr).toMatch(/hot keys salted/);
    expect(readFileSync(out, 'utf8')).toBe(expectedLines(counts));
  });
});
