/**
 * Bounded chaos: a word count (2.2 MB) on 2 map and 3 merge workers while merge workers are
 * killed with SIGKILL one to two seconds after each other's replacement is up, three times. A
 * dead worker is replaced by a new process with a new id and an empty state folder (dead ids
 * never come back). The result equals the single-process run (`mrm run`), key for key.
 *
 * `T_CHAOS_ALL=1` also kills map workers and the coordinator (six kills): that mix does not
 * finish yet (a run after a coordinator restart stops making progress; issue 6 notes), so it is
 * not the default.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mrm, writeJob } from './cli-helpers.js';
import { copyInto, expectSameResult, fileAppears, TestCluster } from './cluster-harness.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname;
const BOOKS = ['pg-frankenstein.txt', 'pg-tom_sawyer.txt', 'pg-being_ernest.txt', 'pg-metamorphosis.txt'].map((f) =>
  join(EXAMPLES, 'wordcount/data', f),
);
/** Kills before the test stops killing (bounds its time). */
const KILLS = process.env.T_CHAOS_ALL ? 6 : 3;
/** Gives up waiting for the job this long after the last kill (then prints the cluster's status). */
const FINISH_MS = 60_000;

/** Word count whose map takes ~0.2 ms per line; writes `marker` from the first map call on. */
function chaosWordcount(marker: string): string {
  return `
import { existsSync, writeFileSync } from 'node:fs';
import { aggregates, defineJob } from '@mrm/core';
export default defineJob({
  name: 'chaoscount',
  map(line: string, emit) {
    const until = performance.now() + 0.2;
    while (performance.now() < until) {}
    if (!existsSync(${JSON.stringify(marker)})) writeFileSync(${JSON.stringify(marker)}, 'under way');
    for (const w of line.match(/[A-Za-z]+/g) ?? []) emit(w.toLowerCase(), 1);
  },
  ...aggregates.sum(),
});
`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a cluster under chaos', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('gives the single-process result while merge workers are killed and replaced by new ones', {
    timeout: 300_000,
  }, async () => {
    const c = await TestCluster.start({ maps: 2, merges: 3, heartbeatTimeoutMs: 1500 });
    cluster = c;
    const marker = join(c.dir, 'under-way');
    const job = writeJob(c.dir, 'chaos.ts', chaosWordcount(marker));
    const books = [...copyInto(join(c.dir, 'a'), BOOKS), ...copyInto(join(c.dir, 'b'), BOOKS)];
    const out = join(c.dir, 'out.jsonl');
    let finished = false;
    const submitted = c.submitWait(job, books, out, ['--batch-size', '1000', '--checkpoint-every', '2']).finally(() => {
      finished = true;
    });
    await fileAppears(marker, 60_000);
    const live = { map: ['map-1', 'map-2'], merge: ['merge-1', 'merge-2', 'merge-3'] };
    const killed: string[] = [];
    const victims = (
      process.env.T_CHAOS_ALL ? ['merge', 'map', 'coordinator', 'merge', 'merge', 'map'] : ['merge', 'merge', 'merge']
    ) as readonly ('merge' | 'map' | 'coordinator')[];
    for (let i = 0; i < KILLS && !finished; i++) {
      await sleep(1000 + Math.floor(Math.random() * 1000));
      if (finished) break;
      const role = victims[i % victims.length] as (typeof victims)[number];
      if (role === 'coordinator') {
        await c.restartCoordinator();
        killed.push('coordinator');
        continue;
      }
      const pool = live[role];
      const victim = pool.splice(Math.floor(Math.random() * pool.length), 1)[0] as string;
      const fresh = `${role}-new-${i + 1}`;
      await c.replaceWorker(victim, fresh);
      pool.push(fresh);
      killed.push(victim);
    }
    const r = await Promise.race([submitted, sleep(FINISH_MS).then(() => undefined)]);
    if (r === undefined) {
      const status = await c.status().catch((e: unknown) => String(e));
      throw new Error(
        `the job did not finish within ${FINISH_MS} ms of the last kill (killed: ${killed.join(', ')}); status: ${JSON.stringify(status)}`,
      );
    }
    expect(r.code, `${r.stderr}\nkilled: ${killed.join(', ')}\n${c.logs()}`).toBe(0);
    expect(killed.length).toBeGreaterThan(0);
    const reference = join(c.dir, 'reference.jsonl');
    const run = await mrm([
      'run',
      job,
      '--input',
      ...books,
      '--state',
      join(c.dir, 'embedded'),
      '--out',
      reference,
      '-q',
      '--batch-size',
      '1000',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expectSameResult(out, reference);
    if (process.env.T_LOG) console.error(`killed: ${killed.join(', ')}\n${c.logs()}`);
  });
});
