/**
 * Salting hot keys, end to end over the in-memory transport with real LMDB and four merge
 * workers: Zipf-distributed keys through counting and set-union jobs, with and without
 * `combine`, give key for key the result of an unsalted run and of a plain computation; salting
 * spreads the pairs reduced over the merge workers; a merge that is not associative is not
 * salted, and the run says so.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinator, type RunResult } from '@mrm/coordinator';
import { aggregates, type JobSpec, type ResolvedJob, resolveJob } from '@mrm/core';
import { expandInputs } from '@mrm/input';
import { InlineMapExecutor, MapWorker } from '@mrm/map-worker';
import { MergeWorker } from '@mrm/merge-worker';
import { MemoryBus } from '@mrm/runtime';
import { LmdbStateStore } from '@mrm/store-lmdb';
import { zipfLines } from '@mrm/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readResult } from '../src/result-reader.js';

const MERGE_WORKERS = 4;
const LINES = 24_000;
const BATCH_LINES = 1_500;

const parse = (line: string): [string, number] => {
  const [k, v] = line.split(' ');
  return [k as string, Number(v)];
};

/** Counting without combine: every emitted pair reaches a merge worker. */
const countPlain: JobSpec = {
  name: 'count-plain',
  map: (line: string, emit) => emit(parse(line)[0], 1),
  reduce: (_k, vs: number[]) => vs.length,
  merge: (_k, prev: number | undefined, next: number) => (prev ?? 0) + next,
};

/** Counting with the built-in sum (combine + fold; declared associative). */
const countCombined: JobSpec = {
  name: 'count-combined',
  map: (line: string, emit) => emit(parse(line)[0], 1),
  ...aggregates.sum(),
};

const sortedUnion = (a: readonly number[], b: readonly number[]): number[] =>
  [...new Set([...a, ...b])].sort((x, y) => x - y);

/** Set union without combine: user functions, checked before salting. */
const unionPlain: JobSpec = {
  name: 'union-plain',
  map: (line: string, emit) => {
    const [k, v] = parse(line);
    emit(k, v);
  },
  reduce: (_k, vs: number[]) => sortedUnion([], vs),
  merge: (_k, prev: number[] | undefined, next: number[]) => sortedUnion(prev ?? [], next),
};

/** Set union with combine: the built-in distinct. */
const unionCombined: JobSpec = {
  name: 'union-combined',
  map: (line: string, emit) => {
    const [k, v] = parse(line);
    emit(k, v);
  },
  ...aggregates.distinct({ values: true }),
};

/** A merge that keeps the last batch's count: not associative, so never salted. */
const keepLast: JobSpec = {
  name: 'keep-last',
  map: (line: string, emit) => emit(parse(line)[0], 1),
  reduce: (_k, vs: number[]) => vs.length,
  merge: (_k, _prev: number | undefined, next: number) => next,
};

interface Outcome {
  readonly result: Map<string, unknown>;
  readonly run: RunResult;
}

describe('salting hot keys', () => {
  let dir: string;
  let input: string;
  let lines: string[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mrm-salting-'));
    input = join(dir, 'zipf.txt');
    const text = zipfLines({ lines: LINES, keys: 3_000, exponent: 1.2, seed: 7, items: 60 });
    writeFileSync(input, text);
    lines = text.split('\n').filter((l) => l.length > 0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  let runs = 0;
  /**
   * One run on fresh LMDB stores (one per merge worker, one for the coordinator): a
   * coordinator, two map workers, four merge workers.
   */
  async function run(spec: JobSpec, salt: string | undefined, extra: Partial<JobSpec> = {}): Promise<Outcome> {
    const job: ResolvedJob = resolveJob({ ...spec, ...extra });
    const base = join(dir, `state-${runs++}`);
    const store = await LmdbStateStore.open({ path: join(base, 'coordinator') });
    const stores = await Promise.all(
      Array.from({ length: MERGE_WORKERS }, (_, i) => LmdbStateStore.open({ path: join(base, `merge-${i}`) })),
    );
    const bus = MemoryBus.create();
    const loadJob = async () => job;
    const maps = [0, 1].map(
      (i) =>
        new MapWorker({
          id: `map-${i}`,
          transport: bus.connect(),
          executor: new InlineMapExecutor(loadJob, `map-${i}`),
        }),
    );
    const merges = stores.map(
      (st, i) => new MergeWorker({ id: `merge-${i}`, transport: bus.connect(), store: st, loadJob }),
    );
    const coordinator = new Coordinator({ transport: bus.connect(), store });
    for (const w of [...maps, ...merges]) w.start();
    coordinator.start();
    try {
      const r = await coordinator.runJob({
        jobId: `${job.name}-${runs}`,
        job,
        ref: { name: job.name, bundleHash: 'test' },
        inputs: await expandInputs([input]),
        mapWorkers: maps.map((w) => w.id),
        mergeWorkers: merges.map((w) => w.id),
        options: { batchLines: BATCH_LINES, checkpointEveryBatches: 4, maxTasksInFlight: 2, ...(salt ? { salt } : {}) },
      });
      const result = new Map<string, unknown>();
      const version = r.latest?.version ?? 0;
      // Partition p lives with its owner, merge worker p mod 4 (the default layout).
      const owner = (p: number) => stores[p % MERGE_WORKERS] as LmdbStateStore;
      const source = {
        scan: (j: string, p: number, o: Parameters<LmdbStateStore['scan']>[2]) => owner(p).scan(j, p, o),
        get: (j: string, p: number, k: string, v: number) => owner(p).get(j, p, k, v),
        listVersions: (j: string) => store.listVersions(j),
        latestVersion: (j: string) => store.latestVersion(j),
      };
      for await (const e of readResult(source, job.name, { version, partitions: job.partitions })) {
        result.set(e.key, e.value);
      }
      return { result, run: r };
    } finally {
      await coordinator.close();
      for (const w of [...maps, ...merges]) await w.close();
      await store.close();
      for (const st of stores) await st.close();
    }
  }

  /** The plain computation: per key, a fold over all values. */
  function reference(per: (values: number[]) => unknown): Map<string, unknown> {
    const groups = new Map<string, number[]>();
    for (const l of lines) {
      const [k, v] = parse(l);
      const list = groups.get(k) ?? [];
      list.push(v);
      groups.set(k, list);
    }
    return new Map([...groups].map(([k, vs]) => [JSON.stringify(k), per(vs)]));
  }

  const counts = () => reference((vs) => vs.length);
  const unions = () => reference((vs) => sortedUnion([], vs));
  /** distinct's state: the items' JSON texts, in code point order. */
  const distincts = () => reference((vs) => [...new Set(vs.map((v) => JSON.stringify(v)))].sort());

  it('counts exactly with salting (no combine), and spreads the pairs over the merge workers', async () => {
    const salted = await run(countPlain, 'auto');
    const unsalted = await run(countPlain, 'off');
    const skew = salted.run.skew;
    expect(skew?.hotKeys.length, JSON.stringify(skew)).toBeGreaterThan(0);
    expect(skew?.hotKeys.map((h) => h.key)).toContain('"key1"');
    // Each map task finds its batch's hot keys itself: every batch is salted, the first ones too.
    expect(skew?.saltedBatches).toBe(LINES / BATCH_LINES);
    expect(skew?.warning).toBeUndefined();
    expect(unsalted.run.skew?.hotKeys).toEqual([]);
    expect(salted.result).toEqual(counts());
    expect(unsalted.result).toEqual(counts());
    // No salted sub-key ever reaches the state.
    for (const k of salted.result.keys()) expect(k.startsWith('"key')).toBe(true);
    expect(skew?.balance ?? 99).toBeLessThan(unsalted.run.skew?.balance ?? 0);
    expect(Object.keys(skew?.pairsByWorker ?? {})).toHaveLength(MERGE_WORKERS);
  });

  it('counts exactly with a built-in aggregate (combine) salting named keys', async () => {
    // With combine a hot key pushes one pair per batch: nothing is hot by load, so name the keys.
    const auto = await run(countCombined, 'auto');
    expect(auto.run.skew?.hotKeys).toEqual([]);
    const salted = await run(countCombined, undefined, { salt: { factor: 4, keys: ['key1', 'key2', 'key3'] } });
    expect(salted.run.skew?.saltedBatches).toBeGreaterThan(0);
    expect(salted.result).toEqual(counts());
  });

  it('counts exactly with the hot keys named in the job spec', async () => {
    const salted = await run(countPlain, undefined, { salt: { factor: 3, keys: ['key1', 'key2'] } });
    expect(salted.run.skew?.hotKeys.map((h) => h.key).sort()).toEqual(['"key1"', '"key2"']);
    expect(salted.result).toEqual(counts());
  });

  it('unions sets exactly with salting, with and without combine', async () => {
    const plain = await run(unionPlain, 'auto');
    expect(plain.run.skew?.hotKeys.length).toBeGreaterThan(0);
    expect(plain.result).toEqual(unions());
    const combined = await run(unionCombined, undefined, { salt: { factor: 3, keys: ['key1', 'key2'] } });
    expect(combined.run.skew?.saltedBatches).toBeGreaterThan(0);
    expect(combined.result).toEqual(distincts());
    const off = await run(unionPlain, 'off');
    expect(off.result).toEqual(unions());
  });

  it('does not salt a merge that keeps the last value, and says so', async () => {
    const r = await run(keepLast, '4');
    expect(r.run.skew?.hotKeys).toEqual([]);
    expect(r.run.skew?.saltedBatches).toBe(0);
    expect(r.run.skew?.warning).toMatch(/not associative/);
    const off = await run(keepLast, 'off');
    expect(r.result).toEqual(off.result);
  });
});
