/**
 * The roles wired together over the in-memory transport, with several map and merge workers:
 * results equal a plain computation, every map task runs once, flow control bounds what is in
 * flight towards a slow merge worker, and a value larger than the transport's payload limit
 * goes through.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinator, type RunJobOptions } from '@mrm/coordinator';
import {
  aggregates,
  type Channel,
  decodeMessage,
  type JobRef,
  type MessageHandler,
  type PublishOptions,
  type ResolvedJob,
  resolveJob,
  type StateStore,
  type Transport,
} from '@mrm/core';
import { expandInputs } from '@mrm/input';
import { InlineMapExecutor, MapWorker } from '@mrm/map-worker';
import { MergeWorker } from '@mrm/merge-worker';
import { MemoryBus, MemoryStateStore } from '@mrm/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readResult } from '../src/result-reader.js';

const WORDS = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu'.split(' ');

/** Deterministic text: `lines` lines of words drawn by a linear congruential generator. */
function makeText(lines: number, seed: number): string {
  let x = seed;
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const n = 1 + (i % 7);
    const ws: string[] = [];
    for (let j = 0; j < n; j++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      ws.push(WORDS[x % WORDS.length] as string);
    }
    out.push(ws.join(' '));
  }
  return `${out.join('\n')}\n`;
}

function countWords(texts: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of texts) for (const w of t.match(/[a-z]+/g) ?? []) m.set(w, (m.get(w) ?? 0) + 1);
  return m;
}

const wordcount = resolveJob({
  name: 'wc',
  map(line: string, emit: (k: string, v: number) => void) {
    for (const w of line.match(/[a-z]+/g) ?? []) emit(w, 1);
  },
  ...aggregates.sum(),
});

interface Cluster {
  bus: MemoryBus;
  store: StateStore;
  coordinator: Coordinator;
  maps: MapWorker[];
  merges: MergeWorker[];
  close(): Promise<void>;
}

/** Starts a coordinator, `maps` map workers and `merges` merge workers sharing one store. */
function startCluster(
  job: ResolvedJob,
  maps: number,
  merges: number,
  options: { maxPayloadBytes?: number; wrap?: (id: string, t: Transport) => Transport } = {},
): Cluster {
  const bus = MemoryBus.create(
    options.maxPayloadBytes !== undefined ? { maxPayloadBytes: options.maxPayloadBytes } : {},
  );
  const store = new MemoryStateStore();
  const loadJob = async () => job;
  const connect = (id: string) => options.wrap?.(id, bus.connect()) ?? bus.connect();
  const mapWorkers = Array.from({ length: maps }, (_, i) => {
    const id = `map-${i}`;
    return new MapWorker({
      id,
      transport: connect(id),
      executor: new InlineMapExecutor(loadJob, id),
      creditWindowBytes: 64 * 1024,
    });
  });
  const mergeWorkers = Array.from(
    { length: merges },
    (_, i) => new MergeWorker({ id: `merge-${i}`, transport: connect(`merge-${i}`), store, loadJob }),
  );
  const coordinator = new Coordinator({ transport: connect('coordinator'), store });
  for (const w of [...mapWorkers, ...mergeWorkers]) w.start();
  coordinator.start();
  return {
    bus,
    store,
    coordinator,
    maps: mapWorkers,
    merges: mergeWorkers,
    close: async () => {
      await coordinator.close();
      for (const w of [...mapWorkers, ...mergeWorkers]) await w.close();
    },
  };
}

async function result(store: StateStore, job: ResolvedJob): Promise<Map<string, unknown>> {
  const version = (await store.latestVersion(job.name))?.version ?? 0;
  const out = new Map<string, unknown>();
  for await (const e of readResult(store, job.name, { version, partitions: job.partitions })) {
    out.set(JSON.parse(e.key) as string, e.value);
  }
  return out;
}

describe('coordinator, map and merge workers together', () => {
  let dir: string;
  let cluster: Cluster | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mrm-engine-'));
  });
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(job: ResolvedJob, files: string[], options: RunJobOptions = {}) {
    const c = cluster as Cluster;
    const ref: JobRef = { name: job.name, bundleHash: 'test' };
    return c.coordinator.runJob({
      jobId: `j-${Math.random()}`,
      job,
      ref,
      inputs: await expandInputs(files),
      mapWorkers: c.maps.map((w) => w.id),
      mergeWorkers: c.merges.map((w) => w.id),
      options,
    });
  }

  for (const [maps, merges] of [
    [1, 1],
    [2, 3],
    [3, 2],
  ] as const) {
    it(`gives the plain computation's result with ${maps} map and ${merges} merge workers, each task once`, async () => {
      const texts = [makeText(900, 1), makeText(700, 2), makeText(50, 3)];
      const files = texts.map((t, i) => {
        const f = join(dir, `in${i}.txt`);
        writeFileSync(f, t);
        return f;
      });
      cluster = startCluster(wordcount, maps, merges);
      const r = await run(wordcount, files, { batchLines: 40, checkpointEveryBatches: 5 });
      expect(r.batches).toBe(Math.ceil(900 / 40) + Math.ceil(700 / 40) + Math.ceil(50 / 40));
      // One task per batch here; each ran exactly once across the map workers.
      expect(cluster.maps.reduce((n, w) => n + w.stats().tasks, 0)).toBe(r.batches);
      expect(await result(cluster.store, wordcount)).toEqual(countWords(texts));
      const versions = await cluster.store.listVersions('wc');
      expect(versions.at(-1)?.records).toBe(1650);
    });
  }

  it('keeps what is in flight towards a slow merge worker within the credit window', async () => {
    const text = makeText(4000, 7);
    const file = join(dir, 'in.txt');
    writeFileSync(file, text);
    let outstanding = 0;
    let peak = 0;
    // Frames reach the merge worker only every few milliseconds: a slow consumer.
    const slowFrames = (id: string, t: Transport): Transport => {
      const subscribe = t.subscribe.bind(t);
      const publish = t.publish.bind(t);
      return {
        get state() {
          return t.state;
        },
        get maxPayloadBytes() {
          return t.maxPayloadBytes;
        },
        blobs: t.blobs,
        request: t.request.bind(t),
        flush: t.flush.bind(t),
        bucket: t.bucket.bind(t),
        close: t.close.bind(t),
        onStateChange: t.onStateChange.bind(t),
        publish(channel: Channel, payload: Uint8Array) {
          if (channel.kind === 'frames') {
            outstanding += payload.byteLength;
            peak = Math.max(peak, outstanding);
          }
          publish(channel, payload);
        },
        subscribe(channel: Channel, handler: MessageHandler) {
          if (channel.kind !== 'frames' || !id.startsWith('merge')) return subscribe(channel, handler);
          const queue: Uint8Array[] = [];
          let draining = false;
          const drain = () => {
            const next = queue.shift();
            if (next === undefined) {
              draining = false;
              return;
            }
            outstanding -= next.byteLength;
            handler(next, undefined);
            setTimeout(drain, 2);
          };
          return subscribe(channel, (payload) => {
            queue.push(payload);
            if (!draining) {
              draining = true;
              setTimeout(drain, 2);
            }
          });
        },
      };
    };
    const distinct = resolveJob({
      name: 'lines',
      map(line: string, emit: (k: string, v: number) => void) {
        emit(line, line.length);
      },
      ...aggregates.sum(),
    });
    cluster = startCluster(distinct, 2, 1, { wrap: slowFrames });
    await run(distinct, [file], { batchLines: 200, maxFrameBytes: 4096 });
    const window = 64 * 1024;
    // Each of the 2 map workers may have one window (plus one frame) outstanding.
    expect(peak).toBeLessThanOrEqual(2 * (window + 4096 + 512));
    expect(peak).toBeGreaterThan(0);
    const expected = new Map<string, number>();
    for (const l of text.slice(0, -1).split('\n')) expected.set(l, (expected.get(l) ?? 0) + l.length);
    expect(await result(cluster.store, distinct)).toEqual(expected);
  });

  // The map is async and every batch's output waits for credit, so batches of side-by-side tasks
  // hand the map thread's key table on to each other (map-worker/test/map-task-runner.test.ts).
  it('spills buffered batches beyond the byte budget and still merges them right', async () => {
    // The first batch is held back (its map waits), so later batches pile up at the merge worker.
    const lines = Array.from({ length: 6000 }, (_, i) => `key-${i % 3000}-${'x'.repeat(200)}`);
    const file = join(dir, 'in.txt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slowFirst = resolveJob({
      name: 'slow-first',
      async map(line: string, emit: (k: string, v: number) => void, ctx: { line: number }) {
        if (ctx.line === 1) await gate;
        emit(line, 1);
      },
      ...aggregates.sum(),
    });
    cluster = startCluster(slowFirst, 1, 1);
    const merge = cluster.merges[0] as MergeWorker;
    const running = run(slowFirst, [file], {
      batchLines: 500,
      maxBufferBytes: 1024 * 1024,
      maxTasksInFlight: 12,
      maxBatchesAhead: 12,
    });
    // Wait until the merge worker had to spill, then let the first batch through.
    while (merge.stats().spilledBytes === 0) await new Promise((r) => setImmediate(r));
    release();
    await running;
    const expected = new Map<string, number>();
    for (const l of lines) expected.set(l, (expected.get(l) ?? 0) + 1);
    expect(await result(cluster.store, slowFirst)).toEqual(expected);
    expect(merge.stats().spilledBytes).toBeGreaterThan(0);
  });

  it('spills a plain MapReduce job without combine and reduces every value of the run', async () => {
    const lines = Array.from({ length: 40_000 }, (_, i) => String(i));
    const file = join(dir, 'in.txt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    // reduce sees all values of a key at once: the spread of the values proves none was lost.
    const spread = resolveJob({
      name: 'spread',
      map(line: string, emit: (k: number, v: number) => void) {
        emit(Number(line) % 7, Number(line));
      },
      reduce: (_k: unknown, vs: number[]) => [vs.length, Math.min(...vs), Math.max(...vs)],
    });
    cluster = startCluster(spread, 1, 2);
    await run(spread, [file], { batchLines: 1000, maxBufferBytes: 1024 * 1024 });
    const expected = new Map<number, unknown>();
    for (let k = 0; k < 7; k++) {
      const vs = lines.map(Number).filter((n) => n % 7 === k);
      expected.set(k, [vs.length, Math.min(...vs), Math.max(...vs)]);
    }
    const got = new Map<number, unknown>();
    const version = (await cluster.store.latestVersion('spread'))?.version ?? 0;
    for await (const e of readResult(cluster.store, 'spread', { version, partitions: spread.partitions })) {
      got.set(JSON.parse(e.key) as number, e.value);
    }
    expect(got).toEqual(expected);
    expect(cluster.merges.reduce((n, m) => n + m.stats().spilledBytes, 0)).toBeGreaterThan(0);
  });

  it('runs on when the map task that carried the partition owners to a map worker is lost', async () => {
    const text = makeText(600, 11);
    const file = join(dir, 'in.txt');
    writeFileSync(file, text);
    let dropped = 0;
    let asked = 0;
    // map-0 never gets the first task that carries the owners (a message lost on a reconnect);
    // it asks for them (owners-unknown) when a task without them comes (decisions/0058).
    const loseOwners = (id: string, t: Transport): Transport =>
      id !== 'map-0'
        ? t
        : new Proxy(t, {
            get(target, prop) {
              if (prop === 'subscribe') {
                return (channel: Channel, handler: MessageHandler) =>
                  target.subscribe(channel, (payload, reply) => {
                    const m = channel.kind === 'worker' ? decodeMessage(payload) : undefined;
                    if (m?.type === 'map-task' && m.owners !== undefined && dropped === 0) dropped++;
                    else handler(payload, reply);
                  });
              }
              if (prop === 'publish') {
                return (channel: Channel, payload: Uint8Array, options?: PublishOptions) => {
                  if (channel.kind === 'coordinator' && decodeMessage(payload).type === 'owners-unknown') asked++;
                  target.publish(channel, payload, options);
                };
              }
              const value: unknown = Reflect.get(target, prop);
              return typeof value === 'function' ? value.bind(target) : value;
            },
          });
    cluster = startCluster(wordcount, 2, 2, { wrap: loseOwners });
    // The lost task itself goes again after a stall (a short one here).
    const r = await run(wordcount, [file], { batchLines: 20, checkpointEveryBatches: 5, stallTimeoutMs: 1_000 });
    expect(dropped).toBe(1);
    expect(asked).toBeGreaterThanOrEqual(1);
    expect(r.batches).toBe(30);
    expect(await result(cluster.store, wordcount)).toEqual(countWords([text]));
  });

  it('carries a value larger than the transport payload limit', async () => {
    const file = join(dir, 'in.txt');
    writeFileSync(file, 'a\nb\na\n');
    const big = resolveJob({
      name: 'big',
      map(line: string, emit: (k: string, v: string) => void) {
        emit(line, line.repeat(200_000));
      },
      reduce: (_k: unknown, vs: string[]) => vs.map((v) => v.length).reduce((a, b) => a + b, 0),
      merge: (_k: unknown, prev: number | undefined, next: number) => (prev ?? 0) + next,
    });
    cluster = startCluster(big, 1, 1, { maxPayloadBytes: 64 * 1024 });
    await run(big, [file]);
    expect(await result(cluster.store, big)).toEqual(
      new Map([
        ['a', 400_000],
        ['b', 200_000],
      ]),
    );
  });
});
