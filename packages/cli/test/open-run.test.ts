/**
 * Open runs (docs/decisions/0027), with the real coordinator, map and merge workers over the
 * in-memory transport: segment after segment joins one run, a version commits after each, and
 * the result and hash are those of one ordinary run over the same input; an idle mark moves the
 * watermark to at least its value, so applying it again (a replay) changes nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aggregates, type ResolvedJob, resolveJob, type StateStore, type VersionInfo } from '@mrm/core';
import { expandInputs } from '@mrm/input';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMemoryRoles } from '../src/memory-roles.js';
import { readResult } from '../src/result-reader.js';

const wordcount = resolveJob({
  name: 'wc',
  partitions: 4,
  map(line: string, emit: (k: string, v: number) => void) {
    for (const w of line.match(/[a-z]+/g) ?? []) emit(w, 1);
  },
  ...aggregates.sum(),
});

const START = Date.parse('2025-06-01T12:00:00Z');
const windowed = resolveJob({
  name: 'win',
  partitions: 2,
  input: 'jsonl',
  window: { time: (r: { t: number }) => r.t, size: 1_000, lateness: 500, retain: 0 },
  map(_r: { t: number }, emit: (k: string, v: number) => void) {
    emit('hits', 1);
  },
  ...aggregates.count(),
});

/** A coordinator, one map worker and two merge workers on one in-memory store. */
function startRoles(job: ResolvedJob) {
  return startMemoryRoles(job, { run: { batchLines: 30 } });
}

async function resultOf(store: StateStore, job: ResolvedJob): Promise<Record<string, unknown>> {
  const version = (await store.latestVersion(job.name))?.version ?? 0;
  const out: Record<string, unknown> = {};
  for await (const e of readResult(store, job.name, { version, partitions: job.partitions })) out[e.key] = e.value;
  return out;
}

describe('an open run', () => {
  let dir: string;
  const closers: Array<() => Promise<void>> = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mrm-open-run-'));
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, text: string): string {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  }

  it('takes segment after segment in one run, a version each, and ends as one ordinary run would', async () => {
    const words = 'alpha beta gamma delta epsilon zeta'.split(' ');
    const files = Array.from({ length: 6 }, (_, s) =>
      write(
        `seg-${s}.txt`,
        Array.from({ length: 20 + s * 17 }, (_, i) => `${words[(i * 7 + s) % 6]} ${words[(i + s) % 6]}`).join('\n') +
          '\n',
      ),
    );
    const open = startRoles(wordcount);
    closers.push(open.close);
    const committed: Array<VersionInfo | undefined> = [];
    const result = await open.request([], async (run) => {
      // Sent one after the other without waiting: the segments overlap in the run.
      const pending = [];
      for (const f of files) pending.push(run.extend(await expandInputs([f])));
      committed.push(...(await Promise.all(pending)));
    });
    expect(result.run).toBe(1);
    expect(committed.map((v) => v?.version)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result.versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(committed[5]?.label).toMatch(/stream batches/);

    const closed = startRoles(wordcount);
    closers.push(closed.close);
    const once = await closed.request(await expandInputs(files));
    expect(once.latest?.hash).toBe(committed[5]?.hash);
    expect(once.latest?.records).toBe(committed[5]?.records);
    expect(await resultOf(open.store, wordcount)).toEqual(await resultOf(closed.store, wordcount));

    // A segment already committed is planned to nothing: no version, no batch merged twice.
    const again = await open.request([], async (run) => {
      expect(await run.extend(await expandInputs([files[0] as string]))).toBeUndefined();
    });
    expect(again.versions).toEqual([]);
    expect(await resultOf(open.store, wordcount)).toEqual(await resultOf(closed.store, wordcount));
  });

  it('moves the watermark by an idle mark to at least its value: a window closes, and a replay agrees', async () => {
    const events = write(
      'events.jsonl',
      [0, 100, 200, 300].map((d) => `${JSON.stringify({ t: START + d })}\n`).join(''),
    );
    const play = async () => {
      const roles = startRoles(windowed);
      closers.push(roles.close);
      const seen: Array<VersionInfo | undefined> = [];
      await roles.request([], async (run) => {
        seen.push(await run.extend(await expandInputs([events])));
        const w = seen[0]?.watermarkMs as number;
        // Past the end of [START, START + 1 s): final, and retain 0 drops it.
        seen.push(await run.extend([], w + 1_500));
        // The same mark again (a replay after a crash before the cursor forgot it): nothing moves.
        seen.push(await run.extend([], w + 1_500));
      });
      return { seen, result: await resultOf(roles.store, windowed) };
    };
    const first = await play();
    const [data, idle, repeat] = first.seen;
    expect(data?.watermarkMs).toBe(START + 300 - 500);
    expect(Object.keys(first.result)).toEqual([]);
    expect(idle?.watermarkMs).toBe(START + 300 - 500 + 1_500);
    expect(idle?.label).toMatch(/idle stream/);
    expect(idle?.records).toBe(4);
    expect(repeat?.watermarkMs).toBe(idle?.watermarkMs);
    expect(repeat?.hash).toBe(idle?.hash);
    const replay = await play();
    expect(replay.seen.map((v) => [v?.watermarkMs, v?.hash])).toEqual(first.seen.map((v) => [v?.watermarkMs, v?.hash]));
  });
});
