import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess } from '@mrm/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MRM = join(ROOT, 'packages', 'cli', 'bin', 'mrm.js');
const BOOK = join(ROOT, 'examples', 'wordcount', 'data', 'pg-being_ernest.txt');

// About eight node processes; allow for a loaded shared machine.
describe('mrm bench', { timeout: 300_000 }, () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mrm-bench-cli-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the baselines suite --quick on one small book and writes its JSON and SVG to --out-dir', async () => {
    const data = join(dir, 'books');
    mkdirSync(data);
    // The first 400 lines of a book: the suite's work is then mostly starting its processes.
    writeFileSync(join(data, 'book.txt'), `${readFileSync(BOOK, 'utf8').split('\n').slice(0, 400).join('\n')}\n`);
    const out = join(dir, 'out');
    const args = [
      'bench',
      'baselines',
      '--quick',
      '--data',
      data,
      '--size-mb',
      '0.1',
      '--out-dir',
      out,
      '--cache-dir',
      join(dir, 'cache'),
    ];
    const { code, stdout, stderr } = await runProcess(process.execPath, [MRM, ...args], { cwd: ROOT });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('## baselines');
    expect(stdout).toMatch(/hadoop-style baseline\s+\|\s+1 \|/);
    expect(stderr).toContain('round 1/1: DuckDB SQL (from scratch)');
    const json = JSON.parse(readFileSync(join(out, 'baselines.json'), 'utf8'));
    expect(json.command).toMatch(/^mrm bench baselines --quick/);
    expect(json.machine.cpus).toBeGreaterThan(0);
    expect(typeof json.engine.commit).toBe('string');
    expect(json.correctness.passed).toBe(true);
    expect(json.correctness.keys).toBeGreaterThan(500);
    expect(Object.keys(json.medianSeconds).sort()).toEqual(['coreutils', 'duckdb', 'hadoop', 'loop', 'mrm']);
    expect(json.goal.hadoopOverMrm).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'baselines.svg'), 'utf8')).toMatch(
      /^<svg[\s\S]*hadoop-style baseline[\s\S]*<\/svg>\n$/,
    );
  });

  it('passes a bad command line on to the runner, which names the problem', async () => {
    const { code, stderr } = await runProcess(process.execPath, [MRM, 'bench', 'no-such-suite'], { cwd: ROOT });
    expect(code).toBe(2);
    expect(stderr).toContain("no suite 'no-such-suite'");
  });
});
