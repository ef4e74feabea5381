/**
 * The recovery and checkpoint-cost suites in their quick mode with a 1 MB state: each runs on
 * fresh 2 + 3 clusters, checks every result against `mrm run`, and writes JSON whose figures
 * hang together (a kill is followed by a restore and batches merged again; `--no-copies` runs
 * ship no copies, the others do).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess } from '@mrm/testkit';
import { afterEach, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'benchmarks', 'dist', 'main.js');

/** Scratch folders of the tests so far, removed after each. */
const scratch: string[] = [];
afterEach(() => {
  for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Runs `suite --quick` with a 1 MB state; its temp files (and clusters) under a scratch folder. */
async function bench(suite: string) {
  const dir = mkdtempSync(join(tmpdir(), 'mrm-fault-bench-test-'));
  scratch.push(dir);
  const args = [suite, '--quick', '--size-mb', '1', '--out-dir', join(dir, 'out'), '--cache-dir', join(dir, 'cache')];
  const r = await runProcess(process.execPath, [MAIN, ...args], { cwd: ROOT, env: { ...process.env, TMPDIR: dir } });
  expect(r.code, r.stderr).toBe(0);
  const json = JSON.parse(readFileSync(join(dir, 'out', `${suite}.json`), 'utf8'));
  return { stdout: r.stdout, json, svg: readFileSync(join(dir, 'out', `${suite}.svg`), 'utf8') };
}

it('recovery: kills merge-1 mid-run, measures the restore and the replay, and the result stays exact', {
  timeout: 300_000,
}, async () => {
  const { stdout, json, svg } = await bench('recovery');
  expect(json.correctness.passed).toBe(true);
  expect(json.workers).toMatchObject({ map: 2, merge: 3, killed: 'merge-1', killedAfterBatches: 10 });
  const [ten] = json.byCheckpointEvery;
  expect(ten.checkpointEvery).toBe(10);
  const [killed] = ten.killed;
  const k = killed.recovery;
  expect(k.killedAfterBatches).toBe(10);
  expect(k.secondsToMergeAgain).toBeGreaterThan(0);
  expect(k.partitionsRestored).toBeGreaterThan(0);
  expect(k.bytesRestored).toBeGreaterThan(0);
  expect(k.runsAfterKill).toBeGreaterThanOrEqual(1);
  // What merge-1 had merged past the last committed version is merged again. That is not bounded
  // by one checkpoint interval: a merge worker runs ahead of the commits (batches in flight, a
  // version written but not yet committed at the kill); 21 was seen with a version every 10.
  // The exact result above is what shows that nothing was merged twice into the state.
  expect(k.batchesReplayed).toBeGreaterThanOrEqual(0);
  expect(k.batchesReplayed).toBeLessThanOrEqual(30); // the quick increment has 30 batches
  expect(ten.steady[0].recovery).toBeUndefined();
  expect(ten.medians.killedJobSeconds).toBeGreaterThan(0);
  expect(ten.killedOverSteady).toBeGreaterThan(0);
  expect(stdout).toContain('| 10 ');
  expect(svg).toContain('kill → merging again');
});

it('checkpoint-cost: copies every 10 against local checkpoints and none at all, all exact', {
  timeout: 300_000,
}, async () => {
  const { json } = await bench('checkpoint-cost');
  expect(json.correctness.passed).toBe(true);
  expect(Object.keys(json.samples).sort()).toEqual(['copies-10', 'local-10', 'none']);
  const [copies] = json.samples['copies-10'];
  const [local] = json.samples['local-10'];
  const [none] = json.samples.none;
  expect(copies.copied).toBe(true);
  expect(local.copied).toBe(false);
  expect(none.copied).toBe(false);
  // 30 batches, a version every 10; none: one version at the end.
  expect(copies.versions).toBe(3);
  expect(local.versions).toBe(3);
  expect(none.versions).toBe(1);
  expect(json.shareOfNoCheckpoints.none).toBe(1);
  expect(json.goal.share).toBeCloseTo(
    json.medians['copies-10'].recordsPerSecond / json.medians.none.recordsPerSecond,
    2,
  );
});
