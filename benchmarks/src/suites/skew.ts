/**
 * The skew suite (issue 8): how evenly four merge workers share the work of a counting job
 * without `combine` (every emitted pair reaches a merge worker: where skew bites) on Zipf(1.2)
 * keys, salted (`salt: 'auto'`) against unsalted (`salt: false`), and what salting costs on
 * uniform keys, where nothing is hot.
 *
 * The roles run in this process over the in-memory transport, as the embedded engine does, but
 * with two map workers (inline executors) and four merge workers, each merge worker with its own
 * LMDB store. `balance` is the run's own figure (most pairs reduced by one merge worker ÷ the
 * mean), the same `mrm status` shows; throughput is input records ÷ wall time of the run. Every
 * run's result is checked key for key against counts made here, or the suite fails.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinator, type RunResult } from '@mrm/coordinator';
import { resolveJob } from '@mrm/core';
import { expandInputs } from '@mrm/input';
import { InlineMapExecutor, MapWorker } from '@mrm/map-worker';
import { MergeWorker } from '@mrm/merge-worker';
import { MemoryBus } from '@mrm/runtime';
import { LmdbStateStore } from '@mrm/store-lmdb';
import { seededRandom, zipfLines } from '@mrm/testkit';
import { BenchFailure, type Suite, type SuiteContext } from '../suite.js';
import { type SkewContender, type SkewSample, skewReport } from './skew-report.js';

/** Input lines of a full run (`--quick`: a tenth). */
const LINES = 400_000;
/** Distinct keys drawn. */
const KEYS = 50_000;
const EXPONENT = 1.2;
const SEED = 42;
const MERGE_WORKERS = 4;
const MAP_WORKERS = 2;
const BATCH_LINES = 10_000;
const DEFAULT_RUNS = 3;

/** The job: a count without combine, user functions (salting checks them on real values). */
const countJob = (salt: 'auto' | false) =>
  resolveJob({
    name: 'skew-count',
    salt,
    map: (line: string, emit: (k: string, v: number) => void) => emit(line.slice(0, line.indexOf(' ')), 1),
    reduce: (_k: unknown, vs: number[]) => vs.length,
    merge: (_k: unknown, prev: number | undefined, next: number) => (prev ?? 0) + next,
  });

/** `lines` lines of uniformly drawn keys (the same shape as {@link zipfLines}). */
function uniformLines(lines: number, keys: number, seed: number): string {
  const random = seededRandom(seed);
  const out: string[] = new Array(lines);
  for (let i = 0; i < lines; i++) out[i] = `key${1 + Math.floor(random() * keys)} 0`;
  return `${out.join('\n')}\n`;
}

function countsOf(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const l of text.split('\n')) {
    if (l.length === 0) continue;
    const k = l.slice(0, l.indexOf(' '));
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

/** One run on fresh stores; returns the run's result and its wall time. */
async function runOnce(
  work: string,
  input: string,
  salt: 'auto' | false,
  expected: Map<string, number>,
): Promise<{ result: RunResult; seconds: number }> {
  const job = countJob(salt);
  const dir = mkdtempSync(join(work, 'run-'));
  const store = await LmdbStateStore.open({ path: join(dir, 'coordinator') });
  const stores = await Promise.all(
    Array.from({ length: MERGE_WORKERS }, (_, i) => LmdbStateStore.open({ path: join(dir, `merge-${i}`) })),
  );
  const bus = MemoryBus.create();
  const loadJob = async () => job;
  const maps = Array.from(
    { length: MAP_WORKERS },
    (_, i) =>
      new MapWorker({ id: `map-${i}`, transport: bus.connect(), executor: new InlineMapExecutor(loadJob, `map-${i}`) }),
  );
  const merges = stores.map(
    (s, i) => new MergeWorker({ id: `merge-${i}`, transport: bus.connect(), store: s, loadJob }),
  );
  const coordinator = new Coordinator({ transport: bus.connect(), store });
  for (const w of [...maps, ...merges]) w.start();
  coordinator.start();
  try {
    const started = performance.now();
    const result = await coordinator.runJob({
      jobId: `skew-${salt === false ? 'off' : 'auto'}`,
      job,
      ref: { name: job.name, bundleHash: 'bench' },
      inputs: await expandInputs([input]),
      mapWorkers: maps.map((w) => w.id),
      mergeWorkers: merges.map((w) => w.id),
      options: { batchLines: BATCH_LINES, checkpointEveryBatches: 10 },
    });
    const seconds = (performance.now() - started) / 1000;
    const version = result.latest?.version ?? 0;
    let keys = 0;
    for (let p = 0; p < job.partitions; p++) {
      const owner = stores[p % MERGE_WORKERS] as LmdbStateStore;
      for await (const [ck, value] of owner.scan(job.name, p, { asOf: version })) {
        keys++;
        const k = JSON.parse(ck) as string;
        if (expected.get(k) !== value) {
          throw new BenchFailure(`skew: key ${ck} counted ${String(value)}, expected ${expected.get(k)}`);
        }
      }
    }
    if (keys !== expected.size) throw new BenchFailure(`skew: ${keys} keys in the result, expected ${expected.size}`);
    return { result, seconds };
  } finally {
    await coordinator.close();
    for (const w of [...maps, ...merges]) await w.close();
    await store.close();
    for (const s of stores) await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(context: SuiteContext) {
  const { options, log } = context;
  const lines = options.quick ? LINES / 10 : LINES;
  const runs = options.quick ? 1 : (options.runs ?? DEFAULT_RUNS);
  const work = mkdtempSync(join(tmpdir(), 'mrm-bench-skew-'));
  try {
    const inputs: Record<'zipf' | 'uniform', { path: string; expected: Map<string, number> }> = {
      zipf: { path: join(work, 'zipf.txt'), expected: new Map() },
      uniform: { path: join(work, 'uniform.txt'), expected: new Map() },
    };
    const zipf = zipfLines({ lines, keys: KEYS, exponent: EXPONENT, seed: SEED });
    const uniform = uniformLines(lines, KEYS, SEED);
    writeFileSync(inputs.zipf.path, zipf);
    writeFileSync(inputs.uniform.path, uniform);
    inputs.zipf.expected = countsOf(zipf);
    inputs.uniform.expected = countsOf(uniform);
    const contenders: SkewContender[] = ['zipf-salted', 'zipf-unsalted', 'uniform-salted', 'uniform-unsalted'];
    const samples: SkewSample[] = [];
    for (let round = 0; round < runs; round++) {
      // The order rotates, so a slow phase of a busy machine does not hit one contender only.
      for (let i = 0; i < contenders.length; i++) {
        const contender = contenders[(i + round) % contenders.length] as SkewContender;
        const data = contender.startsWith('zipf') ? inputs.zipf : inputs.uniform;
        const salt = contender.endsWith('-salted') ? 'auto' : false;
        const { result, seconds } = await runOnce(work, data.path, salt, data.expected);
        const skew = result.skew;
        samples.push({
          contender,
          round,
          seconds,
          recordsPerSecond: lines / seconds,
          balance: skew?.balance ?? 1,
          pairsByWorker: skew?.pairsByWorker ?? {},
          hotKeys: skew?.hotKeys ?? [],
          saltedBatches: skew?.saltedBatches ?? 0,
        });
        log(
          `round ${round + 1}/${runs}: ${contender} ${seconds.toFixed(2)} s, balance ${(skew?.balance ?? 1).toFixed(3)}, ${skew?.hotKeys.length ?? 0} hot keys`,
        );
      }
    }
    return skewReport({
      quick: options.quick,
      lines,
      keys: KEYS,
      exponent: EXPONENT,
      mergeWorkers: MERGE_WORKERS,
      mapWorkers: MAP_WORKERS,
      batchLines: BATCH_LINES,
      samples,
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The suite. */
export const skewSuite: Suite = {
  name: 'skew',
  description: 'balance of 4 merge workers on Zipf(1.2) keys, salted vs unsalted; what salting costs on uniform keys',
  run,
};
