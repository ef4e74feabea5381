import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess } from '@mrm/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'benchmarks', 'dist', 'main.js');

describe('the coordinator-scale suite', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mrm-bench-scale-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('drives the real coordinator with simulated workers to the end of every job and reports rates', async () => {
    const out = join(dir, 'out');
    const r = await runProcess(process.execPath, [MAIN, 'coordinator-scale', '--quick', '--out-dir', out], {
      cwd: ROOT,
    });
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'coordinator-scale.json'), 'utf8'));
    expect(json.samples.map((s: { workers: number }) => s.workers)).toEqual([2, 20]);
    for (const s of json.samples) {
      expect(s.tasksPerSecond).toBeGreaterThan(0);
      expect(s.cpuMsPerTask).toBeGreaterThan(0);
      // A version per batch in the versions phase: every one of them committed.
      expect(s.versions).toBe(100);
      expect(s.versionsPerSecond).toBeGreaterThan(0);
    }
    expect(json.goal.tasksPerSecondGoal).toBe(5000);
    expect(readFileSync(join(out, 'coordinator-scale.svg'), 'utf8')).toMatch(/^<svg /);
    expect(r.stdout).toMatch(/\| 20 \(10 \+ 10\) /);
  }, 180_000);
});
