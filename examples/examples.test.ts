/**
 * Runs every example through the real CLI, as a user would (`node packages/cli/bin/mrm.js run …`
 * in the example's folder), and compares its `--out` file line for line with the reference
 * computation in examples/reference, which shares no code with MRM.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { accessLogReferences } from './reference/access-logs.js';
import { invertedIndexReference } from './reference/inverted-index.js';
import type { ResultLine } from './reference/result.js';
import { readLines } from './reference/result.js';
import { wordcountReference } from './reference/wordcount.js';

const examplesDir = path.dirname(fileURLToPath(import.meta.url));
const MRM = path.join(examplesDir, '..', 'packages', 'cli', 'bin', 'mrm.js');
/** Whole CLI runs over ~1 MB of input, several times per test: be generous. */
const TIMEOUT_MS = 600_000;

/** The environment without MRM_* variables, so a developer's cluster settings cannot leak in. */
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MRM_')));

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mrm-examples-'));
  tempDirs.push(dir);
  return dir;
}

interface CliRun {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `mrm <args>` in `cwd` and fails the test with its stderr when it exits non-zero. */
function mrm(cwd: string, args: readonly string[]): CliRun {
  const child = spawnSync(process.execPath, [MRM, ...args], {
    cwd,
    env: cleanEnv,
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.error !== undefined) throw child.error;
  if (child.status !== 0) {
    throw new Error(`mrm ${args.join(' ')} exited ${child.status ?? child.signal}: ${child.stderr}`);
  }
  return { stdout: child.stdout, stderr: child.stderr };
}

/** A result file parsed line by line (every line must be JSON; no blank lines in between). */
function readResult(file: string): ResultLine[] {
  const text = readFileSync(file, 'utf8');
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  if (text === '') return [];
  return lines.map((line) => JSON.parse(line) as ResultLine);
}

/** `mrm run <job> --input <inputs> --state <state> --out <file>`: its result, and its stderr. */
function run(
  cwd: string,
  job: string,
  inputs: readonly string[],
  state: string,
): { result: ResultLine[]; stderr: string } {
  const out = path.join(state, '..', `${path.basename(state)}-${job.replace(/\W/g, '_')}-out.jsonl`);
  const { stderr } = mrm(cwd, ['run', job, '--input', ...inputs, '--state', state, '--out', out]);
  return { result: readResult(out), stderr };
}

/** The state's versions, as `mrm versions` lists them: one id per line, oldest first. */
function versions(cwd: string, state: string, job: string): string[] {
  const { stdout } = mrm(cwd, ['versions', '--state', state, '--job', job]);
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.trim().split(/\s+/)[0] ?? '');
}

/** `mrm query --version <version>` of the whole result. */
function queryVersion(cwd: string, state: string, job: string, version: string): ResultLine[] {
  const out = path.join(state, '..', `query-${version.replace(/\W/g, '_')}.jsonl`);
  mrm(cwd, ['query', '--state', state, '--job', job, '--version', version, '--out', out]);
  return readResult(out);
}

/** The files of an example's data folder as relative paths (`data/x`), sorted. */
function dataFiles(example: string, sub = 'data'): string[] {
  return readdirSync(path.join(examplesDir, example, sub))
    .sort()
    .map((name) => path.posix.join(sub, name));
}

describe('examples/wordcount', () => {
  const cwd = path.join(examplesDir, 'wordcount');
  const books = dataFiles('wordcount');

  it(
    'counts the words of the sample books exactly like the reference',
    () => {
      const { result } = run(cwd, 'job.ts', books, path.join(tempDir(), 'state'));
      const expected = wordcountReference(books.map((b) => path.join(cwd, b)));
      expect(result.length).toBe(expected.length);
      expect(result).toEqual(expected);
    },
    TIMEOUT_MS,
  );

  it('has the ten most frequent words its README states', () => {
    const top = wordcountReference(books.map((b) => path.join(cwd, b)))
      .sort((a, b) => (b.value as number) - (a.value as number))
      .slice(0, 10);
    expect(top.slice(0, 3)).toEqual([
      { key: 'the', value: 9552 },
      { key: 'and', value: 7054 },
      { key: 'to', value: 5419 },
    ]);
    // The README's table rows: `| the  |  9552 |` (padding as the formatter aligns it).
    const rows = readFileSync(path.join(cwd, 'README.md'), 'utf8')
      .split('\n')
      .map((line) => /^\|\s*([A-Za-z]+)\s*\|\s*(\d+)\s*\|$/.exec(line))
      .filter((m) => m !== null)
      .map((m) => ({ key: m[1], value: Number(m[2]) }));
    expect(rows).toEqual(top);
  });
});

describe('examples/access-logs', () => {
  const cwd = path.join(examplesDir, 'access-logs');
  const apache = dataFiles('access-logs', 'data/apache');
  const days = dataFiles('access-logs', 'data/nginx');
  const everything = [...apache, ...days];
  const absolute = (files: readonly string[]): string[] => files.map((f) => path.join(cwd, f));

  for (const [job, reference] of Object.entries(accessLogReferences)) {
    it(
      `${job}: one run over the Apache sample and all nginx days equals the reference`,
      () => {
        const { result } = run(cwd, `${job}.ts`, everything, path.join(tempDir(), 'state'));
        expect(result).toEqual(reference(absolute(everything)));
      },
      TIMEOUT_MS,
    );

    it(
      `${job}: fed one day at a time into one --state equals the full run; a re-fed day is skipped`,
      () => {
        const full = run(cwd, `${job}.ts`, days, path.join(tempDir(), 'full')).result;
        expect(full).toEqual(reference(absolute(days)));

        const state = path.join(tempDir(), 'daily');
        let result: ResultLine[] = [];
        let afterFirstDay = '';
        for (const day of days) {
          result = run(cwd, `${job}.ts`, [day], state).result;
          if (afterFirstDay === '') afterFirstDay = versions(cwd, state, job).at(-1) ?? '';
        }
        expect(result).toEqual(full);

        // The version written by the first day still answers with the first day's result alone.
        expect(queryVersion(cwd, state, job, afterFirstDay)).toEqual(reference(absolute(days.slice(0, 1))));

        const before = versions(cwd, state, job);
        const again = run(cwd, `${job}.ts`, [days[0] ?? ''], state);
        expect(again.stderr).toContain('skipped');
        expect(again.result).toEqual(full);
        expect(versions(cwd, state, job)).toEqual(before);
      },
      TIMEOUT_MS,
    );
  }

  it('status-per-hour accounts for every input line, the malformed one under "malformed"', () => {
    const expected = accessLogReferences['status-per-hour'](absolute(everything));
    const lineCount = absolute(everything).reduce((n, file) => n + readLines(file).length, 0);
    expect(expected.reduce((n, line) => n + (line.value as number), 0)).toBe(lineCount);
    expect(expected.find((line) => line.key === 'malformed')?.value).toBe(1);
  });
});

describe('examples/inverted-index', () => {
  const cwd = path.join(examplesDir, 'inverted-index');
  const texts = dataFiles('inverted-index');

  it(
    'indexes the sample texts exactly like the reference, with sources as given',
    () => {
      const { result } = run(cwd, 'job.ts', texts, path.join(tempDir(), 'state'));
      // Sources are the paths as given on the command line (relative to the example's folder).
      expect(result).toEqual(invertedIndexReference(texts, cwd));
    },
    TIMEOUT_MS,
  );

  it(
    'gives the same index when the files arrive in two runs into one --state',
    () => {
      const full = run(cwd, 'job.ts', texts, path.join(tempDir(), 'full')).result;
      const state = path.join(tempDir(), 'two-runs');
      const half = Math.ceil(texts.length / 2);
      run(cwd, 'job.ts', texts.slice(half), state);
      const { result } = run(cwd, 'job.ts', texts.slice(0, half), state);
      expect(result).toEqual(full);
    },
    TIMEOUT_MS,
  );
});
