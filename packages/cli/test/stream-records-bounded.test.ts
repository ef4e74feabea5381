/**
 * What a long stream keeps stays flat (docs/decisions/0033): the real coordinator, map and merge
 * workers (in-memory transport and store) fed by the real StreamFeed, segment after segment, with
 * segments fetched into local files as the coordinator does. Once a segment's version is committed
 * its plan and local file go, and the batch records of versions `--keep-versions` pruned go too;
 * the result is still every record once.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StreamCursor, StreamFeed } from '@mrm/coordinator';
import { aggregates, resolveJob } from '@mrm/core';
import { MemoryStreamLog } from '@mrm/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { releaseSegment, segmentSource } from '../src/cluster/stream-input.js';
import { startMemoryRoles } from '../src/memory-roles.js';
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
    });
    const samples: Array<Awaited<ReturnType<typeof kept>>> = [];
    const enc = new TextEncoder();
    for (let s = 1; s <= SEGMENTS; s++) {
      await streams.append(SUBJECT, [enc.encode(`a b${s % 3}`), enc.encode('a'), enc.encode(`c${s % 2} a`)]);
      // Appended one segment at a time: wait for it to be committed and acknowledged.
      for (let i = 0; ; i++) {
        const cursor = await roles.store.getMeta<StreamCursor>(job.name, 'stream-cursor');
        if (cursor?.committedRecords === 3 * s && cursor.pending.length === 0) break;
        if (i > 2_000) throw new Error(`segment ${s} not committed: ${JSON.stringify(cursor)}`);
        await new Promise((r) => setTimeout(r, 5));
      }
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
    }

    const latest = await roles.store.latestVersion(job.name);
    expect(latest?.records).toBe(3 * SEGMENTS);
    const result: Record<string, unknown> = {};
    for await (const e of readResult(roles.store, job.name, { version: latest?.version ?? 0, partitions: 2 })) {
      result[e.key] = e.value;
    }
    expect(result).toEqual({
      '"a"': 3 * SEGMENTS,
      '"b0"': 15,
      '"b1"': 15,
      '"b2"': 15,
      '"c0"': 22,
      '"c1"': 23,
    });
  }, 120_000);
});
