/**
 * The coordinator-scale suite (issue 14, goal 5): how many workers can one coordinator drive? The
 * real coordinator (`Coordinator`, its LMDB store, the NATS transport) runs a job against
 * simulated workers in a process of their own (lib/simulated-workers.ts): they answer at once and
 * do no work, so what is measured is the coordinator's own cost per task and per version as the
 * worker count grows (half map, half merge workers; a job with at least one partition per merge
 * worker).
 *
 * Two phases per worker count, one after the other on the same workers:
 * - **tasks**: one-line batches, one map task each, a version every 1,000 batches: tasks per
 *   second from the first dispatch to the last commit (planning excluded);
 * - **versions**: a version per batch: committed versions per second.
 *
 * Each merge worker reports as a real one does: cumulative `merged-through` reports, coalesced per
 * event-loop turn, and a `checkpoint-written` per version. The simulated workers count the reports
 * they publish, so the coordinator's messages per task (its dispatch and the reports) are measured,
 * not assumed. The coordinator's CPU seconds per task (this process: the coordinator and little
 * else) are reported beside the rates.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Coordinator } from '@mrm/coordinator';
import { resolveJob } from '@mrm/core';
import { expandInputs } from '@mrm/input';
import { LmdbStateStore } from '@mrm/store-lmdb';
import { startNatsServer } from '@mrm/testkit';
import { NatsTransport } from '@mrm/transport-nats';
import { round } from '../lib/stats.js';
import { BenchFailure, type Suite, type SuiteContext } from '../suite.js';
import { type ScaleSample, scaleReport } from './coordinator-scale-report.js';

const WORKERS = [2, 10, 50, 100, 200];
const QUICK_WORKERS = [2, 20];
const TASKS = 4_000;
const QUICK_TASKS = 500;
const VERSIONS = 400;
const QUICK_VERSIONS = 100;
/** Versions of the tasks phase: one every this many batches. */
const TASKS_PHASE_CHECKPOINT = 1_000;

const MAIN = fileURLToPath(new URL('../lib/simulated-workers-main.js', import.meta.url));

/** Starts the simulated workers' process and waits for its `ready`. */
async function startWorkers(url: string, maps: number, merges: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MAIN, url, String(maps), String(merges)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new BenchFailure(`the simulated workers exited (${code}): ${stderr.trim()}`)));
  });
  return child;
}

/** Reports the simulated workers have published to the coordinator so far. */
async function reportsSent(child: ChildProcess): Promise<number> {
  const answer = new Promise<number>((resolve) => {
    const onData = (d: Buffer) => {
      const m = /reports (\d+)/.exec(d.toString());
      if (m === null) return;
      child.stdout?.off('data', onData);
      resolve(Number(m[1]));
    };
    child.stdout?.on('data', onData);
  });
  child.stdin?.write('reports\n');
  return answer;
}

/** Runs one job of `batches` one-line batches; returns its seconds and the coordinator's CPU seconds. */
async function timedRun(
  coordinator: Coordinator,
  work: string,
  phase: string,
  batches: number,
  checkpointEvery: number,
  workers: { maps: string[]; merges: string[] },
): Promise<{ seconds: number; cpuSeconds: number; versions: number }> {
  const input = join(work, `${phase}.txt`);
  writeFileSync(input, Array.from({ length: batches }, (_, i) => `line ${i}\n`).join(''));
  const job = resolveJob({
    name: `scale-${phase}`,
    partitions: Math.max(16, workers.merges.length),
    map: () => {},
    reduce: (_k: unknown, vs: unknown[]) => vs.length,
    merge: (_k: unknown, prev: number | undefined, next: number) => (prev ?? 0) + next,
  });
  let first: number | undefined;
  let cpuAtFirst: NodeJS.CpuUsage | undefined;
  const result = await coordinator.runJob({
    jobId: `scale-${phase}-${Date.now().toString(36)}`,
    job,
    ref: { name: job.name, bundleHash: 'simulated' },
    inputs: await expandInputs([input]),
    mapWorkers: workers.maps,
    mergeWorkers: workers.merges,
    options: { batchLines: 1, checkpointEveryBatches: checkpointEvery, keepVersions: 2 },
    // Planning is not the coordinator's per-worker cost: the clock starts at the first progress.
    onProgress: () => {
      if (first !== undefined) return;
      first = performance.now();
      cpuAtFirst = process.cpuUsage();
    },
  });
  const seconds = (performance.now() - (first ?? performance.now())) / 1000;
  const cpu = process.cpuUsage(cpuAtFirst);
  if (result.batches !== batches) {
    throw new BenchFailure(`coordinator-scale: ${result.batches} batches merged, expected ${batches}`);
  }
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, versions: result.versions.length };
}

async function run(context: SuiteContext) {
  const { options, log } = context;
  const counts = options.quick ? QUICK_WORKERS : WORKERS;
  const tasks = options.quick ? QUICK_TASKS : TASKS;
  const versions = options.quick ? QUICK_VERSIONS : VERSIONS;
  const work = mkdtempSync(join(tmpdir(), 'mrm-bench-scale-'));
  const nats = await startNatsServer({ jetstream: true });
  const samples: ScaleSample[] = [];
  try {
    for (const count of counts) {
      const maps = Math.max(1, Math.floor(count / 2));
      const merges = Math.max(1, count - maps);
      const child = await startWorkers(nats.url, maps, merges);
      const store = await LmdbStateStore.open({ path: join(work, `coordinator-${count}`) });
      const transport = await NatsTransport.connect({ servers: nats.url, name: 'mrm-bench-coordinator' });
      const coordinator = new Coordinator({ transport, store });
      coordinator.start();
      const ids = {
        maps: Array.from({ length: maps }, (_, i) => `sim-map-${i}`),
        merges: Array.from({ length: merges }, (_, i) => `sim-merge-${i}`),
      };
      try {
        const reportsBefore = await reportsSent(child);
        const t = await timedRun(coordinator, work, 'tasks', tasks, TASKS_PHASE_CHECKPOINT, ids);
        const reports = (await reportsSent(child)) - reportsBefore;
        const v = await timedRun(coordinator, work, 'versions', versions, 1, ids);
        const sample: ScaleSample = {
          workers: maps + merges,
          mapWorkers: maps,
          mergeWorkers: merges,
          tasks,
          tasksSeconds: round(t.seconds, 3),
          tasksPerSecond: round(tasks / t.seconds, 1),
          cpuMsPerTask: round((t.cpuSeconds * 1000) / tasks, 4),
          reportsPerTask: round(reports / tasks, 3),
          versions: v.versions,
          versionsSeconds: round(v.seconds, 3),
          versionsPerSecond: round(v.versions / v.seconds, 1),
          cpuMsPerVersion: round((v.cpuSeconds * 1000) / v.versions, 3),
        };
        samples.push(sample);
        log(
          `${count} workers: ${sample.tasksPerSecond} tasks/s (${sample.cpuMsPerTask} CPU-ms each), ${sample.versionsPerSecond} versions/s`,
        );
      } finally {
        await coordinator.close();
        await transport.close();
        await store.close();
        child.stdin?.end();
        await new Promise((resolve) => child.once('exit', resolve));
      }
    }
  } finally {
    await nats.stop();
    rmSync(work, { recursive: true, force: true });
  }
  return scaleReport({ quick: options.quick, samples });
}

/** The suite. */
export const coordinatorScaleSuite: Suite = {
  name: 'coordinator-scale',
  description: 'the real coordinator driving 2 to 200 simulated workers: tasks and versions per second',
  run,
};
