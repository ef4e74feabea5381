/**
 * What a long stream keeps stays flat (docs/decisions/0033): the real coordinator, map and merge
 * workers (in-memory transport and store) fed by the real StreamFeed, segment after segment, with
 * segments fetched into local files as the coordinator does. Once a segment's version is committed
 * its plan and local file go, and the batch records of versions `--keep-versions` pruned go too
 * (the coordinator's, decisions/0033, and the merge worker's per partition, 0049); the result is
 * still every record once.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StreamCursor, StreamFeed } from '@mrm/coordinator';
import { aggregates, resolveJob } from '@mrm/core';
import { MemoryStreamLog } from '@mrm/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { releaseSegment, segmentSource } from '../src/cluster/stream-input.js';
import { type MemoryRoles, startMemoryRoles } from '../src/memory-roles.js';
import { readResult } from '../src/result-reader.js';

const job = resolveJob({
  name: 'words',
  partitions: 2,
  map(line: string, emit: (k: string, v: number) => void) {
    for (const w of line.split(' ')) emit(w, 1);
  },
  ...aggregates.sum(),
});
const SUBJECT = 'words.in';
const SEGMENTS = 45;
const KEEP = 4;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('a long stream', () => {
  it('keeps a flat number of plans, batch records and segment files, and merges every record once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mrm-stream-bounded-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const roles = startMemoryRoles(job, { mergeWorkers: 1, run: { batchLines: 2, keepVersions: KEEP } });
    cleanups.push(roles.close);
    const streams = new MemoryStreamLog();
    const segments = join(dir, 'streams');
    const feed = new StreamFeed({
      store: roles.store,
      streams,
      jobName: job.name,
      subject: SUBJECT,
      intervalMs: 5,
      // Runs are renewed too, as on a cluster (every hour of segments there).
      segmentsPerRun: 10,
      // The map worker of this process reads the coordinator's local copy (no input cache here).
      source: async (s) => {
        const { location: _, ...local } = await segmentSource(streams, s, segments);
        return local;
      },
      release: (s) => releaseSegment(s, segments),
    });
    const stop = new AbortController();
    const running = (async () => {
      while (!stop.signal.aborted) await roles.request([], (run) => feed.feed(run, stop.signal));
    })();
    cleanups.push(async () => {
      stop.abort();
      await running.catch(() => {});
    });
    const kept = async () => ({
      plans: (await roles.store.listMeta(job.name, 'plan:')).length,
      batchRecords: (await roles.store.listMeta(job.name, 'batches@')).length,
      files: readdirSync(segments).length,
      versions: (await roles.store.listVersions(job.name)).length,
      // The merge worker's record of each batch merged into a partition (decisions/0049).
      partitionBatches:
        (await roles.store.mergedBatches(job.name, 0)).size + (await roles.store.mergedBatches(job.name, 1)).size,
    });
    const samples: Array<Awaited<ReturnType<typeof kept>>> = [];
    for (let s = 1; s <= SEGMENTS; s++) {
      await appendSegment(streams, s);
      // Appended one segment at a time: wait for it to be committed and acknowledged.
      await acknowledged(roles.store, 3 * s);
      if (s % 15 !== 0) continue;
      // What a committed segment leaves goes right after its acknowledgement: give it that moment.
      let now = await kept();
      for (let i = 0; i < 400 && !(now.plans === 0 && now.files === 0 && now.batchRecords <= KEEP + 1); i++) {
        await new Promise((r) => setTimeout(r, 5));
        now = await kept();
      }
      samples.push(now);
    }
    stop.abort();
    await running;
    // Flat: after 15, 30 and 45 segments, within what retention and replay need (kept, they
    // would be 15, 30 and 45 of each).
    expect(samples).toHaveLength(3);
    for (const sample of samples) {
      expect(sample.plans, JSON.stringify(samples)).toBe(0);
      expect(sample.files, JSON.stringify(samples)).toBe(0);
      expect(sample.versions, JSON.stringify(samples)).toBeLessThanOrEqual(KEEP + 1);
      expect(sample.batchRecords, JSON.stringify(samples)).toBeLessThanOrEqual(KEEP + 1);
      // Two batches per segment (three records, two lines a batch) into each of two partitions.
      expect(sample.partitionBatches, JSON.stringify(samples)).toBeLessThanOrEqual(2 * 2 * (KEEP + 1));
    }

    expect(await resultOf(roles.store, 3 * SEGMENTS)).toEqual(expectedResult(SEGMENTS));
  }, 120_000);

  it('cleans up after coordinators that died between a commit and its acknowledgement, and between the acknowledgement and the clean-up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mrm-stream-leftovers-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const roles = startMemoryRoles(job, { mergeWorkers: 1, run: { batchLines: 2, keepVersions: KEEP } });
    cleanups.push(roles.close);
    const streams = new MemoryStreamLog();
    const segments = join(dir, 'streams');
    // What a dying coordinator fails to write: the acknowledgement, or the clean-up after it.
    const dying = { acknowledgement: false, cleanUp: false, died: 0 };
    const store = new Proxy(roles.store, {
      get(target, prop) {
        if (prop === 'putMeta') {
          return async (j: string, name: string, value: StreamCursor) => {
            if (dying.acknowledgement && name === 'stream-cursor' && value.committedRecords > 0) {
              dying.died++;
              throw new Error('died');
            }
            await target.putMeta(j, name, value);
          };
        }
        const v = Reflect.get(target, prop);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const coordinator = () =>
      new StreamFeed({
        store,
        streams,
        jobName: job.name,
        subject: SUBJECT,
        intervalMs: 5,
        source: async (s) => {
          const { location: _, ...local } = await segmentSource(streams, s, segments);
          return local;
        },
        release: async (s) => {
          if (dying.cleanUp) {
            dying.died++;
            throw new Error('died');
          }
          await releaseSegment(s, segments);
        },
      });
    const feedUntil = async (feed: StreamFeed, done: () => Promise<boolean>) => {
      const stop = new AbortController();
      const running = roles.request([], (run) => feed.feed(run, stop.signal)).catch((e: unknown) => e);
      await until('the feed got there', done);
      stop.abort();
      return running;
    };
    const cursor = () => roles.store.getMeta<StreamCursor>(job.name, 'stream-cursor');

    // 1. Segment 1's version commits; the coordinator dies before the cursor says so.
    dying.acknowledgement = true;
    await appendSegment(streams, 1);
    await feedUntil(coordinator(), async () => dying.died === 1);
    expect((await cursor())?.pending).toHaveLength(1);
    const versionOfSegment1 = (await roles.store.latestVersion(job.name))?.version as number;
    expect(versionOfSegment1).toBeGreaterThan(0);

    // 2. The next coordinator replays it (nothing left to merge) and acknowledges it, then dies
    //    before its plan and local file are deleted.
    dying.acknowledgement = false;
    dying.cleanUp = true;
    await feedUntil(coordinator(), async () => dying.died === 2);
    expect((await cursor())?.pending).toHaveLength(0);
    expect(readdirSync(segments)).toHaveLength(1);
    expect(await roles.store.listMeta(job.name, 'plan:')).toHaveLength(1);

    // 3. The one after cleans up what was left, and the records of segment 1's version go once
    //    retention pruned it, like every other segment's.
    dying.cleanUp = false;
    const third = coordinator();
    const stop = new AbortController();
    const running = roles.request([], (run) => third.feed(run, stop.signal));
    const letGo = async () =>
      (await roles.store.listMeta(job.name, 'plan:')).length === 0 && readdirSync(segments).length === 0;
    await until('what the dead coordinator left is deleted', letGo);
    for (let s = 2; s <= KEEP + 4; s++) {
      await appendSegment(streams, s);
      await acknowledged(roles.store, 3 * s);
    }
    // What the last segment leaves goes right after its acknowledgement.
    await until('the last segment is let go', letGo);
    stop.abort();
    await running;
    const records = await roles.store.listMeta(job.name, 'batches@');
    expect(records).not.toContain(`batches@${String(versionOfSegment1).padStart(12, '0')}`);
    expect(records.length).toBeLessThanOrEqual(KEEP + 1);
    expect(await roles.store.listMeta(job.name, 'plan:')).toEqual([]);
    expect(readdirSync(segments)).toEqual([]);
    expect(await resultOf(roles.store, 3 * (KEEP + 4))).toEqual(expectedResult(KEEP + 4));
  }, 120_000);
});

const enc = new TextEncoder();

/** Appends segment `s`'s three records. */
function appendSegment(streams: MemoryStreamLog, s: number): Promise<unknown> {
  return streams.append(SUBJECT, [enc.encode(`a b${s % 3}`), enc.encode('a'), enc.encode(`c${s % 2} a`)]);
}

/** Waits until the cursor has acknowledged `records` records and holds nothing pending. */
async function acknowledged(store: MemoryRoles['store'], records: number): Promise<void> {
  for (let i = 0; ; i++) {
    const cursor = await store.getMeta<StreamCursor>(job.name, 'stream-cursor');
    if (cursor?.committedRecords === records && cursor.pending.length === 0) return;
    if (i > 2_000) throw new Error(`${records} records not acknowledged: ${JSON.stringify(cursor)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Waits until `check` holds, failing after a bound. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; !(await check()); i++) {
    if (i > 2_000) throw new Error(`${what}: not after 2,000 tries`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The latest result, checked to hold `records` records. */
async function resultOf(store: MemoryRoles['store'], records: number): Promise<Record<string, unknown>> {
  const latest = await store.latestVersion(job.name);
  expect(latest?.records).toBe(records);
  const result: Record<string, unknown> = {};
  for await (const e of readResult(store, job.name, { version: latest?.version ?? 0, partitions: 2 })) {
    result[e.key] = e.value;
  }
  return result;
}

/** What segments 1..n of {@link appendSegment} add up to. */
function expectedResult(n: number): Record<string, number> {
  const count = (pred: (s: number) => boolean) => Array.from({ length: n }, (_, i) => i + 1).filter(pred).length;
  const result: Record<string, number> = { '"a"': 3 * n };
  for (const b of [0, 1, 2]) if (count((s) => s % 3 === b) > 0) result[`"b${b}"`] = count((s) => s % 3 === b);
  for (const c of [0, 1]) if (count((s) => s % 2 === c) > 0) result[`"c${c}"`] = count((s) => s % 2 === c);
  return result;
}
