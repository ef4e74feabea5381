/**
 * Bounded chaos: a word count (2.2 MB) on 2 map and 3 merge workers while merge workers, map
 * workers and the coordinator are killed with SIGKILL one to two seconds after each other's
 * replacement is up, six times (merge, map, coordinator, merge, merge, map). A dead worker is
 * replaced by a new process with a new id and an empty state folder (dead ids never come back);
 * so is the coordinator (its successor leads once the dead one's lease lapsed, and resumes the job
 * from JetStream). The result equals the single-process run (`mrm run`), key for key.
 *
 * The same on a three-node NATS cluster (replicas 3), where one kill is of a nats-server (SIGKILL,
 * mid-job: streams it led elect new leaders while the job goes on) and the coordinator's is
 * replaced by a standby that was already waiting (merge, nats, standby, merge, map, merge).
 *
 * `T_CHAOS_KILLS=<n>` kills n times instead (the same mix, repeated), for a longer soak.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeJob } from './cli-helpers.js';
import { copyInto, expectSameResult, fileAppears, TestCluster } from './cluster-harness.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname;
const BOOKS = ['pg-frankenstein.txt', 'pg-tom_sawyer.txt', 'pg-being_ernest.txt', 'pg-metamorphosis.txt'].map((f) =>
  join(EXAMPLES, 'wordcount/data', f),
);
/** Kills before the test stops killing (bounds its time). */
const KILLS = Number(process.env.T_CHAOS_KILLS ?? 6);
/** Who is killed, in turn. */
const VICTIMS = ['merge', 'map', 'coordinator', 'merge', 'merge', 'map'] as const;
/**
 * On a three-node NATS cluster: a NATS node dies too, and the coordinator is replaced by a standby
 * that was waiting (it takes the lead), not by a coordinator started after the kill.
 */
const CLUSTER_VICTIMS = ['merge', 'nats', 'standby', 'merge', 'map', 'merge'] as const;
type Victim = (typeof VICTIMS)[number] | (typeof CLUSTER_VICTIMS)[number];
/** Gives up waiting for the job this long after the last kill (then prints the cluster's status). */
const FINISH_MS = 60_000;

/**
 * Word count that writes `marker` at its first map call. While the file `slowWhile` exists, map
 * sleeps 2 ms per line (without spinning), so the job outlasts the chaos and still commits
 * versions meanwhile; once the file is gone it runs at full speed, which bounds the test's time.
 */
function chaosWordcount(marker: string, slowWhile?: string): string {
  const slow =
    slowWhile === undefined
      ? ''
      : `if (++lines % 50 === 0 && existsSync(${JSON.stringify(slowWhile)})) Atomics.wait(pause, 0, 0, 100);`;
  return `
import { existsSync, writeFileSync } from 'node:fs';
import { aggregates, defineJob } from '@mrm/core';
const pause = new Int32Array(new SharedArrayBuffer(4));
let lines = 0;
let started = false;
export default defineJob({
  name: 'chaoscount',
  map(line: string, emit) {
    ${slow}
    if (!started) {
      started = true;
      writeFileSync(${JSON.stringify(marker)}, 'under way');
    }
    for (const w of line.match(/[A-Za-z]+/g) ?? []) emit(w.toLowerCase(), 1);
  },
  ...aggregates.sum(),
});
`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A random one of `pool`; for merge workers, one that owns partitions of the job now when status
 * names any (a merge worker that joined after the job was planned holds nothing until it moves).
 */
async function pickVictim(c: TestCluster, pool: readonly string[], role: 'map' | 'merge'): Promise<string> {
  const owners =
    role === 'merge'
      ? ((await c.status().catch(() => undefined))?.workers ?? [])
          .filter((w) => pool.includes(w.workerId) && (w.partitions?.chaoscount?.length ?? 0) > 0)
          .map((w) => w.workerId)
      : [];
  const from = owners.length > 0 ? owners : pool;
  return from[Math.floor(Math.random() * from.length)] as string;
}

/** One run of the chaos: the cluster's shape, and who is killed in turn. */
interface Chaos {
  readonly natsNodes: number;
  readonly victims: readonly Victim[];
}

/** Kills `victim` (a role, a NATS node or the leading coordinator) and replaces it; returns who died. */
async function killOne(
  c: TestCluster,
  victim: Victim,
  i: number,
  live: Record<'map' | 'merge', string[]>,
): Promise<string> {
  if (victim === 'coordinator') {
    // Its successor starts on an empty --state, as on another machine (records are in JetStream).
    const dead = c.coordinator.name;
    await c.restartCoordinator(`coordinator-new-${i + 1}`);
    return dead;
  }
  if (victim === 'standby') {
    // A standby (empty --state) waits already; the leader dies; the standby takes the lead.
    const standby = await c.addCoordinator(`coordinator-standby-${i + 1}`);
    const dead = c.coordinator.name;
    await c.coordinator.kill();
    await standby.waitForOutput(/ leading /, 30_000);
    c.promote(standby);
    return dead;
  }
  const nodes = victim === 'nats' ? c.natsCluster.nodes : [];
  if (victim === 'nats' && nodes.every((n) => n.running)) {
    // One node of three at most (a majority must stay); every process holds all three URLs.
    const node = nodes[Math.floor(Math.random() * nodes.length)] as (typeof nodes)[number];
    await node.kill();
    return `nats-server ${node.name}`;
  }
  const role = victim === 'nats' ? 'merge' : victim;
  const pool = live[role];
  const dead = await pickVictim(c, pool, role);
  pool.splice(pool.indexOf(dead), 1);
  const fresh = `${role}-new-${i + 1}`;
  await c.replaceWorker(dead, fresh);
  pool.push(fresh);
  return dead;
}

describe('a cluster under chaos', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  /** Runs the chaos on a cluster of `natsNodes` nats-servers; the cluster is stopped after the test. */
  async function underChaos(chaos: Chaos): Promise<void> {
    const startedMs = Date.now();
    const c = await TestCluster.start({ maps: 2, merges: 3, heartbeatTimeoutMs: 1500, natsNodes: chaos.natsNodes });
    cluster = c;
    const marker = join(c.dir, 'under-way');
    const slow = join(c.dir, 'slow');
    writeFileSync(slow, 'while the chaos lasts');
    const job = writeJob(c.dir, 'chaos.ts', chaosWordcount(marker, slow));
    const books = [...copyInto(join(c.dir, 'a'), BOOKS), ...copyInto(join(c.dir, 'b'), BOOKS)];
    const out = join(c.dir, 'out.jsonl');
    // The single-process reference runs meanwhile (the same job, never slowed down).
    const reference = join(c.dir, 'reference.jsonl');
    const referenceJob = writeJob(c.dir, 'reference.ts', chaosWordcount(join(c.dir, 'reference-under-way')));
    const referenceRun = c.mrm([
      'run',
      referenceJob,
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
    let finished = false;
    const submitted = c.submitWait(job, books, out, ['--batch-size', '1000', '--checkpoint-every', '2']).finally(() => {
      finished = true;
    });
    await fileAppears(marker, 60_000);
    const underWayMs = Date.now();
    const live: Record<'map' | 'merge', string[]> = {
      map: ['map-1', 'map-2'],
      merge: ['merge-1', 'merge-2', 'merge-3'],
    };
    const killed: string[] = [];
    for (let i = 0; i < KILLS && !finished; i++) {
      await sleep(1000 + Math.floor(Math.random() * 1000));
      if (finished) break;
      killed.push(await killOne(c, chaos.victims[i % chaos.victims.length] as Victim, i, live));
    }
    const lastKillMs = Date.now();
    rmSync(slow);
    const r = await Promise.race([submitted, sleep(FINISH_MS).then(() => undefined)]);
    if (r === undefined) {
      const status = await c.status().catch((e: unknown) => String(e));
      throw new Error(
        `the job did not finish within ${FINISH_MS} ms of the last kill (killed: ${killed.join(', ')}); status: ${JSON.stringify(status)}`,
      );
    }
    const finishedMs = Date.now();
    expect(r.code, `${r.stderr}\nkilled: ${killed.join(', ')}\n${c.logs()}`).toBe(0);
    // The job is slowed down until the last kill, so at least the first three (up to the
    // coordinator's) hit it; the slow job takes ~45 s undisturbed, all six kills ~30 s.
    expect(killed.length).toBeGreaterThanOrEqual(Math.min(KILLS, 3));
    const run = await referenceRun;
    expect(run.code, run.stderr).toBe(0);
    expectSameResult(out, reference);
    if (process.env.T_LOG) {
      const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      console.error(
        `killed: ${killed.join(', ')}; cluster up and job under way after ${s(underWayMs - startedMs)}, ` +
          `kills over ${s(lastKillMs - underWayMs)}, job done ${s(finishedMs - lastKillMs)} after the last kill, ` +
          `reference waited for ${s(Date.now() - finishedMs)}\n${c.logs()}`,
      );
    }
  }

  it(
    'gives the single-process result while merge workers, map workers and the coordinator are killed',
    {
      timeout: 300_000,
    },
    () => underChaos({ natsNodes: 1, victims: VICTIMS }),
  );

  it(
    'gives the single-process result on a 3-node NATS cluster while a NATS node, workers and the leading coordinator die',
    {
      timeout: 360_000,
    },
    () => underChaos({ natsNodes: 3, victims: CLUSTER_VICTIMS }),
  );
});
