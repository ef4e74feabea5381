/**
 * The word-count contenders of the baselines and incremental suites, each a fresh child process
 * per run, each leaving its counts for the correctness check:
 * MRM (`mrm run`), the Hadoop-style baseline (`mrm baseline hadoop`), the plain loop, GNU
 * coreutils and DuckDB. Results are read back as `Map<word, count>`.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchFailure } from '../suite.js';
import { measured, type TimedRun, timedRun } from './alternating.js';
import { countDifferences, parseLoopSummary, readLoopCounts, readResultCounts } from './word-counts.js';

const LOOP = fileURLToPath(new URL('../contenders/plain-loop.js', import.meta.url));
const DUCKDB = fileURLToPath(new URL('../contenders/duckdb-wordcount.js', import.meta.url));

/** Where the contenders find things. */
export interface WordcountPaths {
  readonly repoRoot: string;
  /** `packages/cli/bin/mrm.js`. */
  readonly mrm: string;
  /** `examples/wordcount/job.ts`. */
  readonly job: string;
  /** Scratch directory of the suite. */
  readonly work: string;
}

/** The paths of a repository checkout. */
export function wordcountPaths(repoRoot: string, work: string): WordcountPaths {
  return {
    repoRoot,
    mrm: join(repoRoot, 'packages', 'cli', 'bin', 'mrm.js'),
    job: join(repoRoot, 'examples', 'wordcount', 'job.ts'),
    work,
  };
}

/** A run and the counts it produced. */
export interface CountedRun {
  readonly run: TimedRun;
  readonly counts: ReadonlyMap<unknown, unknown>;
}

/** `mrm <command> <job> --input … --out <file> [extra]`, timed with the result written (pass `--quiet` in `extra` where the command has it). */
export async function mrmCounts(
  p: WordcountPaths,
  what: string,
  command: readonly string[],
  files: readonly string[],
  extra: readonly string[],
): Promise<CountedRun> {
  const out = join(p.work, `out-${Date.now().toString(36)}.jsonl`);
  const m = await measured(
    what,
    process.execPath,
    [p.mrm, ...command, p.job, '--input', ...files, '--out', out, ...extra],
    {
      cwd: p.repoRoot,
    },
  );
  const counts = readResultCounts(out);
  rmSync(out, { force: true });
  return { run: timedRun(m), counts };
}

/** The plain single-threaded loop; its result write is left out of the time. */
export async function loopCounts(p: WordcountPaths, files: readonly string[]): Promise<CountedRun> {
  const out = join(p.work, 'loop.json');
  const m = await measured('the plain loop', process.execPath, [LOOP, '--out', out, ...files]);
  const summary = parseLoopSummary(m.stdout);
  const counts = readLoopCounts(out);
  rmSync(out, { force: true });
  return { run: timedRun(m, (m.wallMs - summary.writeMs) / 1000), counts };
}

/** DuckDB in SQL from scratch; its result write is left out of the time. */
export async function duckdbCounts(p: WordcountPaths, files: readonly string[]): Promise<CountedRun> {
  const out = join(p.work, 'duckdb.json');
  const m = await measured('DuckDB', process.execPath, [DUCKDB, '--out', out, ...files]);
  const { writeMs } = JSON.parse(m.stdout.trim().split('\n').at(-1) ?? '{}') as { writeMs: number };
  const counts = readLoopCounts(out);
  rmSync(out, { force: true });
  return { run: timedRun(m, (m.wallMs - writeMs) / 1000), counts };
}

/** GNU coreutils: `cat | tr -cs A-Za-z '\n' | sort | uniq -c` in the C locale (bytes, as the job's regex). */
export async function coreutilsCounts(p: WordcountPaths, files: readonly string[]): Promise<CountedRun> {
  const out = join(p.work, 'coreutils.txt');
  const script = `cat -- "$@" | tr -cs A-Za-z '\\n' | sort | uniq -c > '${out}'`;
  const m = await measured('coreutils', '/bin/sh', ['-c', script, 'sh', ...files], {
    env: { ...process.env, LC_ALL: 'C' },
  });
  const counts = new Map<string, number>();
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    const match = /^\s*(\d+) (.+)$/.exec(line);
    if (match !== null) counts.set(match[2] as string, Number(match[1]));
  }
  rmSync(out, { force: true });
  return { run: timedRun(m), counts };
}

/** Fails the suite unless `actual` equals `expected` key for key. */
export function checkCounts(
  what: string,
  expected: ReadonlyMap<unknown, unknown>,
  actual: ReadonlyMap<unknown, unknown>,
): void {
  const differences = countDifferences(expected as ReadonlyMap<string, number>, actual);
  if (differences.length > 0) throw new BenchFailure(`${what} counted differently: ${differences.join('; ')}`);
}
