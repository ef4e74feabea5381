/**
 * The state a user can trust, through the real `mrm` binary on real LMDB: version hashes that do
 * not depend on batching or partitions, pruning old versions (`--keep-versions`), dead letters
 * (`--on-error skip`, `mrm dead-letters`), checks of what reduce and merge return, and a job whose
 * code changed under the same name (`--reset`, `--allow-code-change`).
 */
import { hash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalKey, encode, type Key } from '@mrm/core';
import { open } from 'lmdb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mrm, readJsonLines, tempDir, writeJob } from './cli-helpers.js';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const DAYS = readdirSync(FIXTURES)
  .filter((f) => f.includes('access.log'))
  .sort()
  .map((f) => join(FIXTURES, f));

const STATUS = String.raw`/^\S+ \S+ \S+ \[[^\]]+\] "[^"]*" (\d{3}) /`;
const PATH = String.raw`/^\S+ \S+ \S+ \[[^\]]+\] "\S+ (\S+)[^"]*" (\d{3}) /`;

/** Requests per status, with the given partitions. */
const perStatusSum = (partitions = 0) => `
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
const PER_STATUS_TOPK = `
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

interface VersionLine {
  version: number;
  batches: number;
  committedAt: string;
  keys: number;
  bytes: number;
  hash: string;
}

async function versionsJson(state: string, job: string): Promise<VersionLine[]> {
  const r = await mrm(['versions', '--state', state, '--job', job, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as VersionLine);
}

/** The documented hash, recomputed from a result file: Σ md5(key ‖ 0 ‖ msgpack(value)) mod 2^128. */
function hashOfResult(path: string): { hash: string; bytes: number; keys: number } {
  let sum = 0n;
  let bytes = 0;
  const rows = readJsonLines(path);
  for (const [key, value] of rows) {
    const k = Buffer.from(canonicalKey(key as Key), 'utf8');
    const v = encode(value);
    const md5 = hash('md5', Buffer.concat([k, Buffer.of(0), v]), 'buffer');
    sum += (md5.readBigUInt64BE(0) << 64n) | md5.readBigUInt64BE(8);
    bytes += k.length + v.length;
  }
  return { hash: (sum & ((1n << 128n) - 1n)).toString(16).padStart(32, '0'), bytes, keys: rows.length };
}

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

describe('mrm versions --json', () => {
  it('gives the same hash, keys and bytes whatever the batching and partitions, and the documented hash', async () => {
    const job16 = writeJob(dir, 'sum16.ts', perStatusSum());
    const job3 = writeJob(dir, 'sum3.ts', perStatusSum(3));
    const runs = [
      { job: job16, state: join(dir, 'a'), args: ['--batch-size', '40', '--checkpoint-every', '2'] },
      { job: job16, state: join(dir, 'b'), args: ['--batch-size', '500', '--checkpoint-every', '1'] },
      { job: job3, state: join(dir, 'c'), args: ['--batch-size', '70', '--checkpoint-every', '3'] },
    ];
    const finals: VersionLine[] = [];
    for (const run of runs) {
      const r = await mrm(['run', run.job, '--input', ...DAYS, '--state', run.state, '-q', ...run.args]);
      expect(r.code, r.stderr).toBe(0);
      const versions = await versionsJson(run.state, 'per-status');
      expect(versions.length).toBeGreaterThan(0);
      for (const v of versions) {
        expect(v.hash).toMatch(/^[0-9a-f]{32}$/);
        expect(Number.isNaN(Date.parse(v.committedAt))).toBe(false);
      }
      finals.push(versions.at(-1) as VersionLine);
    }
    const [a, b, c] = finals as [VersionLine, VersionLine, VersionLine];
    expect(a.version).not.toBe(b.version);
    expect({ hash: b.hash, keys: b.keys, bytes: b.bytes }).toEqual({ hash: a.hash, keys: a.keys, bytes: a.bytes });
    expect({ hash: c.hash, keys: c.keys, bytes: c.bytes }).toEqual({ hash: a.hash, keys: a.keys, bytes: a.bytes });
    // Every version's hash is the documented digest of the state as of that version.
    const out = join(dir, 'out.jsonl');
    const versions = await versionsJson(join(dir, 'a'), 'per-status');
    for (const v of [versions[0], versions.at(-1)] as VersionLine[]) {
      const q = await mrm([
        'query',
        '--state',
        join(dir, 'a'),
        '--job',
        'per-status',
        '--version',
        String(v.version),
        '--out',
        out,
      ]);
      expect(q.code, q.stderr).toBe(0);
      expect(hashOfResult(out)).toEqual({ hash: v.hash, bytes: v.bytes, keys: v.keys });
    }
    // The plain listing still starts each line with the version id.
    const plain = await mrm(['versions', '--state', join(dir, 'a'), '--job', 'per-status']);
    expect(plain.stdout.split('\n')[0]).toMatch(/^1\t/);
  });
});

describe('--keep-versions', () => {
  it('keeps the state entries on disk flat over a long run, and every kept version answers exactly', async () => {
    const job = writeJob(
      dir,
      'sum.ts',
      `
import { aggregates, defineJob } from '@mrm/core';
export default defineJob({
  name: 'keys',
  map(line: string, emit) { const [k, n] = line.split(' '); emit(k, Number(n)); },
  ...aggregates.sum(),
});
`,
    );
    const state = join(dir, 'state');
    const KEYS = 150;
    const DAYS_RUN = 9;
    const KEEP = 2;
    const totals: Map<string, number>[] = [];
    const entries: number[] = [];
    const running = new Map<string, number>();
    for (let day = 1; day <= DAYS_RUN; day++) {
      const lines: string[] = [];
      for (let i = 0; i < KEYS; i++) {
        const n = (i * 7 + day * 13) % 50;
        lines.push(`k${i} ${n}`);
        running.set(`k${i}`, (running.get(`k${i}`) ?? 0) + n);
      }
      const file = join(dir, `day${day}.txt`);
      writeFileSync(file, `${lines.join('\n')}\n`);
      totals.push(new Map(running));
      const r = await mrm(['run', job, '--input', file, '--state', state, '--keep-versions', String(KEEP), '-q']);
      expect(r.code, r.stderr).toBe(0);
      entries.push(countStateEntries(join(state, 'lmdb'), 'keys'));
    }
    // Without pruning every day adds an entry per key; with it the entries stay within the kept
    // versions (plus the pass that prunes only every so often).
    expect(Math.max(...entries)).toBeLessThanOrEqual(KEYS * (KEEP + 1));
    expect(entries.at(-1)).toBeLessThanOrEqual(entries[KEEP] as number);
    const versions = await versionsJson(state, 'keys');
    expect(versions.map((v) => v.version)).toEqual(
      Array.from({ length: versions.length }, (_, i) => DAYS_RUN - versions.length + 1 + i),
    );
    expect(versions.length).toBeGreaterThanOrEqual(KEEP);
    expect(versions.length).toBeLessThanOrEqual(KEEP + 1);
    const out = join(dir, 'out.jsonl');
    for (const v of versions) {
      const q = await mrm(['query', '--state', state, '--job', 'keys', '--version', String(v.version), '--out', out]);
      expect(q.code, q.stderr).toBe(0);
      expect(new Map(readJsonLines(out) as [string, number][])).toEqual(totals[v.version - 1]);
    }
    const gone = await mrm(['query', '--state', state, '--job', 'keys', '--version', '1']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/has no version 1/);
  }, 120_000);
});

/** Raw entries of a job in the `state` database (every version of every key). */
function countStateEntries(lmdbDir: string, job: string): number {
  const env = open({ path: lmdbDir, readOnly: true, maxDbs: 10 });
  try {
    const db = env.openDB({ name: 'state', encoding: 'msgpack' });
    let n = 0;
    for (const key of db.getKeys({ start: [job], end: [job, Uint8Array.of(0xff)] })) if (key !== undefined) n++;
    return n;
  } finally {
    void env.close();
  }
}

const POISON_JOB = `
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
  });

  it('with the default fail names the job, the key and the batch in one line and leaves the state as it was', async () => {
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
  const cases: [string, string, RegExp][] = [
    ['undefined', 'undefined', /returned undefined/],
    ['a function', '() => 1', /returned a function/],
    ['NaN', 'Number.NaN', /returned NaN is not a finite number/],
    ['Infinity', 'Number.POSITIVE_INFINITY', /returned Infinity is not a finite number/],
    ['a BigInt', 'BigInt(values.length)', /returned BigInt 2n/],
    ['a Map', 'new Map([["n", values.length]])', /returned a Map/],
    ['a nested symbol', '{ n: [1, Symbol("s")] }', /returned a symbol at n\[1\]/],
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

    // Any change of the bundle counts, a comment too; --allow-code-change merges on.
    const other = join(dir, 'other');
    expect((await mrm(['run', sum, '--input', day1, '--state', other, '-q'])).code).toBe(0);
    const sum2 = writeJob(dir, 'sum2.ts', `${perStatusSum()}\n// only a comment changed\n`);
    expect((await mrm(['run', sum2, '--input', day2, '--state', other, '-q'])).code).not.toBe(0);
    const on = await mrm(['run', sum2, '--input', day2, '--state', other, '--allow-code-change', '--out', out, '-q']);
    expect(on.code, on.stderr).toBe(0);
    const both = await mrm(['run', sum, '--input', day1, day2, '--state', join(dir, 'both'), '--out', ref, '-q']);
    expect(both.code, both.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(ref, 'utf8'));
  }, 60_000);
});
