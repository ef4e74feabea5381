/**
 * The access-logs suite in a tiny configuration (the example's 1.1 MB of logs, one round): it
 * runs its four contenders on its three jobs, checks every result key for key, and writes its
 * JSON; and the generated logs (for machines without ../shared) are the same bytes every time
 * and all readable.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess } from '@mrm/testkit';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { generatedLogCorpus } from '../src/lib/log-corpus.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'benchmarks', 'dist', 'main.js');
const LOOP = join(ROOT, 'benchmarks', 'dist', 'contenders', 'access-log-loop.js');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mrm-access-logs-bench-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('runs the three jobs with all four contenders, checks them and writes its figures', {
  timeout: 300_000,
}, async () => {
  const env = { ...process.env, TMPDIR: dir, MRM_BENCH_LOGS: join(ROOT, 'examples', 'access-logs', 'data') };
  const args = ['access-logs', '--quick', '--out-dir', join(dir, 'out'), '--cache-dir', join(dir, 'cache')];
  const r = await runProcess(process.execPath, [MAIN, ...args], { cwd: ROOT, env });
  expect(r.code, r.stderr).toBe(0);
  const json = JSON.parse(readFileSync(join(dir, 'out', 'access-logs.json'), 'utf8'));
  expect(json.suite).toBe('access-logs');
  expect(json.correctness.passed).toBe(true);
  expect(json.input).toMatchObject({ copies: 1, files: 8, corpusFiles: 7 });
  expect(json.jobs.map((j: { job: string }) => j.job)).toEqual([
    'status-per-hour',
    'bytes-per-client',
    'distinct-clients-per-10-minutes',
  ]);
  for (const job of json.jobs) {
    expect(job.keys, job.job).toBeGreaterThan(100);
    expect(Object.keys(job.samples).sort()).toEqual(['duckdb', 'hadoop', 'loop', 'mrm']);
    for (const id of Object.keys(job.samples)) expect(job.medianSeconds[id], `${job.job} ${id}`).toBeGreaterThan(0);
    expect(job.ratioToMrm.mrm).toBe(1);
  }
  expect(r.stdout).toContain('| status-per-hour (');
  expect(readFileSync(join(dir, 'out', 'access-logs.svg'), 'utf8')).toMatch(/^<svg [\s\S]*hadoop-style \/ mrm run = /);
});

it('generates the same readable logs from its seed on every call', { timeout: 60_000 }, async () => {
  const a = generatedLogCorpus(join(dir, 'a'));
  const b = generatedLogCorpus(join(dir, 'b'));
  expect(a.files.length).toBe(8);
  expect(a.bytes).toBe(b.bytes);
  for (const [i, file] of a.files.entries())
    expect(readFileSync(file).equals(readFileSync(b.files[i] as string)), file).toBe(true);
  const out = join(dir, 'status.json');
  const r = await runProcess(process.execPath, [LOOP, '--job', 'status-per-hour', '--out', out, ...a.files]);
  expect(r.code, r.stderr).toBe(0);
  const result = JSON.parse(readFileSync(out, 'utf8')) as Array<[unknown, number]>;
  expect(result.find(([k]) => k === 'malformed')).toBeUndefined();
  expect(result.reduce((sum, [, n]) => sum + n, 0)).toBe(48_000);
});
