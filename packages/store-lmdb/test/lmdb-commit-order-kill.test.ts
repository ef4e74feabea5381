/**
 * A merge worker commits a version without awaiting its checkpoint writes (decisions/0050): the
 * store applies writes in the order they were called, so once the commit resolves, every write
 * called before it is in the store too. Here a child process writes 16 partitions of a version
 * without awaiting them, commits the version, says so, and goes on with the next one; it is
 * SIGKILLed at once, and every version it said it committed must read back whole.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalKey } from '@mrm/core';
import { LmdbStateStore } from '@mrm/store-lmdb';
import { describe, expect, it } from 'vitest';
import { tempDir } from './store-test-helpers.js';

const PARTITIONS = 16;
const KEYS = 62;

/** The child: resumes after the latest committed version, as a rerun does, and never stops. */
const CHILD = `
import { canonicalKey } from '@mrm/core';
import { LmdbStateStore } from '@mrm/store-lmdb';
const store = await LmdbStateStore.open({ path: process.argv[1] });
const latest = (await store.latestVersion('wc'))?.version ?? 0;
await store.discardAbove('wc', latest);
for (let v = latest + 1; ; v++) {
  for (let p = 0; p < ${PARTITIONS}; p++) {
    const changes = Array.from({ length: ${KEYS} }, (_, i) => [canonicalKey('k' + i), v * 1000 + p]);
    // Not awaited: the commit below is called while these are still being written.
    store.writePartition({ job: 'wc', partition: p, version: v, changes, batches: ['b' + v] }).catch((e) => {
      console.error(String(e));
      process.exit(2);
    });
  }
  await store.commitVersions('wc', [{ version: v, createdAtMs: v, base: 0, batches: v, records: v, keys: v, label: 'v' + v }]);
  process.stdout.write('committed ' + v + '\\n');
}
`;

/** Runs the child on `dir` and SIGKILLs it right after it reports `after` more commits; its last report. */
function runUntilKilled(dir: string, after: number): Promise<number> {
  const cwd = path.dirname(fileURLToPath(import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, dir], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let seen = 0;
    let last = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        const m = /^committed (\d+)$/.exec(line);
        if (m === null) continue;
        last = Number(m[1]);
        if (++seen === after) child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL' && seen >= after) resolve(last);
      else reject(new Error(`the child ended by itself (${String(signal)}): ${stderr}`));
    });
  });
}

describe('LmdbStateStore commits after writes not awaited, killed with SIGKILL', () => {
  it('holds every partition of every version it reported committed, round after round', async () => {
    const dir = tempDir();
    for (const after of [3, 7, 2]) {
      const reported = await runUntilKilled(dir, after);
      const store = await LmdbStateStore.open({ path: dir });
      try {
        const latest = (await store.latestVersion('wc'))?.version ?? 0;
        // A commit may land after its report was the last thing read: never before it.
        expect(latest).toBeGreaterThanOrEqual(reported);
        for (let v = 1; v <= latest; v++) {
          for (let p = 0; p < PARTITIONS; p++) {
            const keys = Array.from({ length: KEYS }, (_, i) => canonicalKey(`k${i}`));
            const values = await store.getMany('wc', p, keys, v);
            expect(values, `partition ${p} at version ${v}`).toEqual(keys.map(() => v * 1000 + p));
          }
        }
      } finally {
        await store.close();
      }
    }
  }, 120_000);
});
