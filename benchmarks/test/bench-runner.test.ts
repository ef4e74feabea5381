import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ProcessResult, runProcess } from '@mrm/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SUITES } from '../src/suites/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'benchmarks', 'dist', 'main.js');
/** Four books kept in the repository; examples/wordcount/README.md gives their counts. */
const BOOKS = join(ROOT, 'examples', 'wordcount', 'data');

/** Runs the benchmark entry point without `MRM_BENCH_DATA`. */
function bench(args: readonly string[]): Promise<ProcessResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.MRM_BENCH_DATA;
  return runProcess(process.execPath, [MAIN, ...args], { cwd: ROOT, env });
}

describe('the benchmark runner', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mrm-bench-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the wordcount suite on a tiny input and writes medians, ratio and a passed correctness check', async () => {
    const out = join(dir, 'out');
    const args = [
      'wordcount',
      '--size-mb',
      '1',
      '--runs',
      '1',
      '--data',
      BOOKS,
      '--out-dir',
      out,
      '--cache-dir',
      join(dir, 'cache'),
    ];
    const { code, stdout, stderr } = await bench(args);
    expect(code, stderr).toBe(0);

    const json = JSON.parse(readFileSync(join(out, 'wordcount.json'), 'utf8'));
    expect(json.suite).toBe('wordcount');
    expect(json.machine.cpus).toBeGreaterThan(0);
    expect(json.engine.distFingerprint).toMatch(/^[0-9a-f]{12}$/);
    expect(typeof json.engine.changedDuringRun).toBe('boolean');
    expect(json.correctness.passed).toBe(true);
    expect(json.correctness.mrmRunsChecked).toBe(1);
    const [size] = json.sizes;
    expect(json.sizes).toHaveLength(1);
    // The README's facts about the four books: 205,475 words, 13,662 distinct.
    expect(size).toMatchObject({ copies: 1, files: 8, words: 205_475, distinct: 13_662 });
    for (const contender of ['loop', 'mrm']) {
      expect(size.samples[contender]).toHaveLength(1);
      expect(size.medians[contender].seconds).toBeGreaterThan(0);
      expect(size.medians[contender].peakRssMiB).toBeGreaterThan(10);
      expect(size.medians[contender].peakRssAnonMiB).toBeGreaterThan(0);
    }
    expect(size.mrmOverLoop).toBeCloseTo(size.medians.mrm.seconds / size.medians.loop.seconds, 2);

    expect(readFileSync(join(out, 'wordcount.svg'), 'utf8')).toMatch(
      /^<svg [^>]*>[\s\S]*mrm\/loop = [\d.]+[\s\S]*<\/svg>\n$/,
    );
    expect(stdout).toContain('| plain loop (1 thread)');
    expect(stdout).toContain("Correct: mrm's counts equal the plain loop's in all 1 mrm runs");
  }, 30_000);

  it('exits non-zero and says where it looked when the data is missing', async () => {
    const missing = join(dir, 'no-books-here');
    const { code, stderr } = await bench(['wordcount', '--quick', '--data', missing, '--out-dir', join(dir, 'out')]);
    expect(code).toBe(1);
    expect(stderr).toContain(`no benchmark data: '${missing}'`);
    expect(existsSync(join(dir, 'out', 'wordcount.json'))).toBe(false);
  });

  it('rejects an unknown suite with the list of known ones', async () => {
    const { code, stderr } = await bench(['no-such-suite']);
    expect(code).toBe(2);
    expect(stderr).toContain(`no suite 'no-such-suite' (suites: ${SUITES.map((s) => s.name).join(', ')})`);
    expect(SUITES.map((s) => s.name)).toEqual(expect.arrayContaining(['wordcount', 'baselines', 'freshness']));
  });
});

describe('parseBenchArgs', () => {
  it('leaves the suites marked out of the default quick list out of a bare --quick, and runs them when named', async () => {
    const { parseBenchArgs } = await import('../src/runner.js');
    const names = (args: string[]) => parseBenchArgs(args, {}).suites.map((s) => s.name);
    const left = SUITES.filter((s) => s.inDefaultQuick === false).map((s) => s.name);
    expect(left).toEqual(expect.arrayContaining(['access-logs', 'recovery', 'checkpoint-cost']));
    expect(names([])).toEqual(SUITES.map((s) => s.name));
    expect(names(['--quick'])).toEqual(SUITES.map((s) => s.name).filter((n) => !left.includes(n)));
    expect(names(['recovery', '--quick'])).toEqual(['recovery']);
  });
});
