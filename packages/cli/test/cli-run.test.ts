import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectedLines, mrm, tempDir, writeJob } from './cli-helpers.js';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const DAYS = readdirSync(FIXTURES)
  .filter((f) => f.includes('access.log'))
  .sort()
  .map((f) => join(FIXTURES, f));

/** Requests and bytes per [client, status] — incremental, with a user-written merge. */
const LOG_JOB = `
import { defineJob } from '@mrm/core';
const LINE = /^(\\S+) \\S+ \\S+ \\[[^\\]]+\\] "[^"]*" (\\d{3}) (\\d+|-)/;
export default defineJob({
  name: 'traffic',
  map(line: string, emit) {
    const m = LINE.exec(line);
    if (m === null) return emit(['malformed'], [1, 0]);
    emit([m[1], Number(m[2])], [1, m[3] === '-' ? 0 : Number(m[3])]);
  },
  combine: (_k, vs: [number, number][]) => vs.reduce((a, b) => [a[0] + b[0], a[1] + b[1]], [0, 0]),
  reduce: (_k, vs: [number, number][]) => vs.reduce((a, b) => [a[0] + b[0], a[1] + b[1]], [0, 0]),
  merge: (_k, prev: [number, number] | undefined, next: [number, number]) =>
    prev === undefined ? next : [prev[0] + next[0], prev[1] + next[1]],
});
`;

function referenceTraffic(files: string[]): Map<unknown, unknown> {
  const LINE = /^(\S+) \S+ \S+ \[[^\]]+\] "[^"]*" (\d{3}) (\d+|-)/;
  const out = new Map<string, [unknown, [number, number]]>();
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    for (const raw of lines) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      const m = LINE.exec(line);
      const key = m === null ? ['malformed'] : [m[1], Number(m[2])];
      const add: [number, number] = m === null ? [1, 0] : [1, m[3] === '-' ? 0 : Number(m[3])];
      const k = JSON.stringify(key);
      const cur = out.get(k)?.[1] ?? [0, 0];
      out.set(k, [key, [cur[0] + add[0], cur[1] + add[1]]]);
    }
  }
  return new Map([...out.values()].map(([k, v]) => [k, v]));
}

/**
 * The log job, changed to kill its own process (SIGKILL) the first time a record meets `condition`
 * (an expression over `ctx`), leaving `marker` behind so that the run after the kill goes through.
 */
function killedOnceAt(condition: string, marker: string): string {
  return LOG_JOB.replace(
    'map(line: string, emit) {',
    `map(line: string, emit, ctx) {
    if (${condition} && !existsSync(${JSON.stringify(marker)})) {
      writeFileSync(${JSON.stringify(marker)}, '');
      process.kill(process.pid, 'SIGKILL');
    }`,
  ).replace(
    "import { defineJob } from '@mrm/core';",
    "import { defineJob } from '@mrm/core';\nimport { existsSync, writeFileSync } from 'node:fs';",
  );
}

describe('mrm run', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
  });
  afterEach(() => cleanup());

  it('computes the same result as a plain single-process computation', async () => {
    const job = writeJob(dir, 'traffic.ts', LOG_JOB);
    const out = join(dir, 'out.jsonl');
    const r = await mrm([
      'run',
      job,
      '--input',
      ...DAYS,
      '--state',
      join(dir, 'st'),
      '--out',
      out,
      '--batch-size',
      '97',
    ]);
    expect(r.stderr).toMatch(/traffic: [\d,]+ records/);
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(expectedLines(referenceTraffic(DAYS)));
  });

  it('fed one day at a time equals a full recomputation, skips a day fed again, and keeps old versions', async () => {
    const job = writeJob(dir, 'traffic.ts', LOG_JOB);
    const st = join(dir, 'st');
    for (const day of DAYS) {
      const r = await mrm([
        'run',
        job,
        '--input',
        day,
        '--state',
        st,
        '--batch-size',
        '50',
        '--checkpoint-every',
        '1000',
      ]);
      expect(r.code, r.stderr).toBe(0);
    }
    const out = join(dir, 'out.jsonl');
    const q = await mrm(['query', '--state', st, '--job', 'traffic', '--out', out]);
    expect(q.code, q.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(expectedLines(referenceTraffic(DAYS)));

    const versionsBefore = await mrm(['versions', '--state', st, '--job', 'traffic']);
    const again = await mrm([
      'run',
      job,
      '--input',
      DAYS[0] as string,
      '--state',
      st,
      '--out',
      join(dir, 'again.jsonl'),
    ]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('skipped');
    expect(readFileSync(join(dir, 'again.jsonl'), 'utf8')).toBe(readFileSync(out, 'utf8'));
    const versionsAfter = await mrm(['versions', '--state', st, '--job', 'traffic']);
    expect(versionsAfter.stdout).toBe(versionsBefore.stdout);

    // One version per day; the first answers as of the first day only.
    const ids = versionsAfter.stdout
      .trim()
      .split('\n')
      .map((l) => Number(l.split(/\s/)[0]));
    expect(ids).toEqual(DAYS.map((_, i) => i + 1));
    const first = await mrm(['query', '--state', st, '--job', 'traffic', '--version', String(ids[0])]);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(expectedLines(referenceTraffic(DAYS.slice(0, 1))));
  });

  it('merges only the appended part of a log file that grew', async () => {
    const job = writeJob(dir, 'traffic.ts', LOG_JOB);
    const st = join(dir, 'st');
    const log = join(dir, 'access.log');
    const [a, b] = DAYS as [string, string];
    copyFileSync(a, log);
    expect((await mrm(['run', job, '--input', log, '--state', st, '--batch-size', '64'])).code).toBe(0);
    writeFileSync(log, readFileSync(a, 'utf8') + readFileSync(b, 'utf8'));
    const out = join(dir, 'out.jsonl');
    const r = await mrm(['run', job, '--input', log, '--state', st, '--batch-size', '64', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(expectedLines(referenceTraffic([a, b])));
  });

  it('gives exactly the right result after being killed mid-way and run again', async () => {
    // The job kills its own process (SIGKILL) the first time it reaches line 1,500.
    const marker = join(dir, 'killed-once');
    const job = writeJob(dir, 'crash.ts', killedOnceAt('ctx.line === 1500', marker));
    const big = join(dir, 'big.log');
    const text = DAYS.map((d) => readFileSync(d, 'utf8')).join('');
    writeFileSync(big, text.repeat(Math.ceil(3000 / text.split('\n').length)));
    const st = join(dir, 'st');
    const args = ['run', job, '--input', big, '--state', st, '--batch-size', '50', '--checkpoint-every', '3'];
    const killed = await mrm(args);
    expect(killed.signal).toBe('SIGKILL');
    const committed = (await mrm(['versions', '--state', st, '--job', 'traffic'])).stdout.trim();
    const out = join(dir, 'out.jsonl');
    const again = await mrm([...args, '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    // Work checkpointed before the kill is not redone.
    if (committed !== '') expect(again.stderr).toContain('already merged');
    expect(readFileSync(out, 'utf8')).toBe(expectedLines(referenceTraffic([big])));
  });

  it('trusts unchanged files of a folder by their stat, and still gives the exact result after a kill', async () => {
    // decisions/0032: files older than the racy margin (2 s) are stamped and not read again.
    const marker = join(dir, 'killed-once');
    const job = writeJob(dir, 'crash.ts', killedOnceAt("ctx.source.endsWith('c.log') && ctx.line === 1500", marker));
    const input = join(dir, 'in');
    mkdirSync(input);
    const [a, b] = DAYS as [string, string];
    copyFileSync(a, join(input, 'a.log'));
    copyFileSync(b, join(input, 'b.log'));
    await sleep(2200);
    const st = join(dir, 'st');
    const args = ['run', job, '--input', input, '--state', st, '--batch-size', '50', '--checkpoint-every', '3'];
    expect((await mrm(args)).code).toBe(0);
    const text = DAYS.map((d) => readFileSync(d, 'utf8')).join('');
    writeFileSync(join(input, 'c.log'), text.repeat(Math.ceil(3000 / text.split('\n').length)));
    const killed = await mrm(args);
    expect(killed.signal).toBe('SIGKILL');
    const out = join(dir, 'out.jsonl');
    const again = await mrm([...args, '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    const files = ['a.log', 'b.log', 'c.log'].map((f) => join(input, f));
    expect(readFileSync(out, 'utf8')).toBe(expectedLines(referenceTraffic(files)));

    // A same-size rewrite with its modification time put back is still seen (its ctime moved).
    const aPath = join(input, 'a.log');
    const { atime, mtime } = statSync(aPath);
    const original = readFileSync(aPath, 'utf8');
    const at = original.indexOf(' 200 ');
    writeFileSync(aPath, `${original.slice(0, at)} 404 ${original.slice(at + 5)}`);
    utimesSync(aPath, atime, mtime);
    const rewritten = await mrm([...args, '--out', out]);
    expect(rewritten.code, rewritten.stderr).toBe(0);
    expect(rewritten.stderr).toMatch(/a\.log: \d+ of \d+ batches already merged, merging the rest/);
  });

  it('runs a job without merge as plain MapReduce, a new full version per run', async () => {
    const job = writeJob(
      dir,
      'plain.ts',
      `export default {
        name: 'plain',
        map(line: string, emit: (k: unknown, v: unknown) => void) { emit(line.length % 7, line.length); },
        reduce: (_k: unknown, vs: number[]) => [...vs].sort((a, b) => a - b)[Math.floor(vs.length / 2)],
      };`,
    );
    const st = join(dir, 'st');
    const [a, b] = DAYS as [string, string];
    const median = (files: string[]) => {
      const groups = new Map<number, number[]>();
      for (const f of files) {
        const lines = readFileSync(f, 'utf8').split('\n');
        if (lines.at(-1) === '') lines.pop();
        for (const l of lines) groups.set(l.length % 7, [...(groups.get(l.length % 7) ?? []), l.length]);
      }
      return new Map([...groups].map(([k, vs]) => [k, vs.sort((x, y) => x - y)[Math.floor(vs.length / 2)]]));
    };
    const out1 = join(dir, 'o1.jsonl');
    expect((await mrm(['run', job, '--input', a, b, '--state', st, '--batch-size', '40', '--out', out1])).code).toBe(0);
    expect(readFileSync(out1, 'utf8')).toBe(expectedLines(median([a, b])));
    const out2 = join(dir, 'o2.jsonl');
    expect((await mrm(['run', job, '--input', b, '--state', st, '--out', out2])).code).toBe(0);
    expect(readFileSync(out2, 'utf8')).toBe(expectedLines(median([b])));
    const v1 = await mrm(['query', '--state', st, '--job', 'plain', '--version', '1']);
    expect(v1.stdout).toBe(expectedLines(median([a, b])));
  });
});

describe('mrm run with bad input', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
  });
  afterEach(() => cleanup());

  /** Runs a good job once so there is state to protect; returns its query output. */
  async function seed(st: string): Promise<string> {
    const job = writeJob(dir, 'traffic.ts', LOG_JOB);
    expect((await mrm(['run', job, '--input', DAYS[0] as string, '--state', st])).code).toBe(0);
    return (await mrm(['query', '--state', st, '--job', 'traffic'])).stdout;
  }

  async function expectStateUnchanged(st: string, before: string, versionsBefore: string) {
    expect((await mrm(['query', '--state', st, '--job', 'traffic'])).stdout).toBe(before);
    expect((await mrm(['versions', '--state', st, '--job', 'traffic'])).stdout).toBe(versionsBefore);
  }

  function oneLineError(r: { code: number | null; stderr: string }) {
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mrm: error: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    return lines[0] as string;
  }

  it('names the file and line of a syntax error', async () => {
    const job = writeJob(
      dir,
      'broken.ts',
      "import { defineJob } from '@mrm/core';\nexport default defineJob({\n  name: 'x',,\n});\n",
    );
    const line = oneLineError(await mrm(['run', job, '--input', DAYS[0] as string, '--state', join(dir, 'st')]));
    expect(line).toMatch(/broken\.ts:3:\d+/);
  });

  it('says a spec without reduce has no reduce', async () => {
    const job = writeJob(dir, 'noreduce.ts', "export default { name: 'x', map() {} };");
    const line = oneLineError(await mrm(['run', job, '--input', DAYS[0] as string, '--state', join(dir, 'st')]));
    expect(line).toContain("no 'reduce'");
  });

  it('names a missing input file and leaves the state as it was', async () => {
    const st = join(dir, 'st');
    const before = await seed(st);
    const versions = (await mrm(['versions', '--state', st, '--job', 'traffic'])).stdout;
    const job = join(dir, 'traffic.ts');
    const line = oneLineError(await mrm(['run', job, '--input', join(dir, 'nope.log'), '--state', st]));
    expect(line).toContain('nope.log');
    await expectStateUnchanged(st, before, versions);
  });

  it('shows the message and input location of a throwing map, and rolls the run back', async () => {
    const st = join(dir, 'st');
    const before = await seed(st);
    const versions = (await mrm(['versions', '--state', st, '--job', 'traffic'])).stdout;
    const job = writeJob(
      dir,
      'traffic.ts',
      LOG_JOB.replace(
        'map(line: string, emit) {',
        "map(line: string, emit, ctx) {\n    if (ctx.line === 25) throw new Error('line 25 is cursed');",
      ),
    );
    const rest = DAYS.slice(1);
    const r = await mrm([
      'run',
      job,
      '--input',
      ...rest,
      '--state',
      st,
      '--batch-size',
      '10',
      '--checkpoint-every',
      '1',
    ]);
    const line = oneLineError(r);
    expect(line).toContain('line 25 is cursed');
    expect(line).toMatch(/access\.log-\d+:25\b/);
    await expectStateUnchanged(st, before, versions);
  });

  it('skips malformed records and records whose map throws with --on-error skip, and counts them', async () => {
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, '{"n":1}\n{"n":2}\nnot json\n{"n":-1}\n\n{"n":4}\n');
    const job = writeJob(
      dir,
      'jl.ts',
      `import { aggregates, defineJob } from '@mrm/core';
export default defineJob({
  name: 'jl',
  input: 'jsonl',
  map(r: { n: number }, emit) {
    if (r.n < 0) throw new Error('negative');
    emit('total', r.n);
  },
  ...aggregates.sum(),
});`,
    );
    const st = join(dir, 'st');
    const failed = await mrm(['run', job, '--input', input, '--state', st]);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('in.jsonl:3: invalid JSON');
    const out = join(dir, 'out.jsonl');
    const r = await mrm(['run', job, '--input', input, '--state', st, '--on-error', 'skip', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('2 records skipped');
    expect(readFileSync(out, 'utf8')).toBe('{"key":"total","value":7}\n');
  });

  it('prints the stack trace of a failure with --verbose', async () => {
    const job = writeJob(
      dir,
      'throws.ts',
      "export default { name: 'x', map() { throw new Error('boom'); }, reduce: () => 0 };",
    );
    const r = await mrm(['--verbose', 'run', job, '--input', DAYS[0] as string, '--state', join(dir, 'st')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('boom');
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('rejects a bad flag value with one line', async () => {
    const job = writeJob(dir, 'traffic.ts', LOG_JOB);
    const r = await mrm(['run', job, '--input', DAYS[0] as string, '--batch-size', 'ten']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--batch-size');
  });

  it('says which versions exist when asked for one that does not', async () => {
    const st = join(dir, 'st');
    await seed(st);
    const line = oneLineError(await mrm(['query', '--state', st, '--job', 'traffic', '--version', '9']));
    expect(line).toContain('no version 9');
  });
});
