/**
 * The skew suite in its quick mode: it runs, checks every result, and writes JSON whose balance
 * shows salting spreading the Zipf keys (every batch is salted, the first ones too) and leaving
 * uniform keys alone.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess } from '@mrm/testkit';
import { afterEach, beforeEach, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'benchmarks', 'dist', 'main.js');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mrm-skew-bench-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('balances Zipf keys over four merge workers when salted, and writes its figures', { timeout: 120_000 }, async () => {
  const r = await runProcess(process.execPath, [MAIN, 'skew', '--quick', '--out-dir', dir], {
    cwd: ROOT,
    env: { ...process.env, TMPDIR: dir },
  });
  expect(r.code, r.stderr).toBe(0);
  const json = JSON.parse(readFileSync(join(dir, 'skew.json'), 'utf8')) as {
    medians: Record<string, { balance: number; recordsPerSecond: number }>;
    hotKeys: Array<{ key: string; factor: number }>;
    correctness: { passed: boolean };
  };
  expect(json.correctness.passed).toBe(true);
  expect(json.medians['zipf-salted']?.balance).toBeLessThanOrEqual(1.25);
  expect(json.medians['zipf-unsalted']?.balance).toBeGreaterThan(1.5);
  expect(json.medians['uniform-salted']?.balance).toBeLessThan(1.1);
  expect(json.hotKeys.map((h) => h.key)).toContain('"key1"');
  expect(readFileSync(join(dir, 'skew.svg'), 'utf8')).toContain('<svg');
});
