import { type StreamLog, silentLogger, type VersionInfo } from '@mrm/core';
import type { SourceFile } from '@mrm/input';
import { MemoryStateStore, MemoryStreamLog } from '@mrm/runtime';
import { describe, expect, it } from 'vitest';
import type { OpenRun } from '../src/coordinator.js';
import {
  type StreamCursor,
  StreamFeed,
  type StreamFeedOptions,
  type StreamSegment,
} from '../src/service/stream-feed.js';

const rec = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array([i % 256]));
const SUBJECT = 'logs.web';

/** What an extension of the fake run was given. */
interface Extension {
  readonly identities: string[];
  readonly advanceWatermarkMs: number | undefined;
  /** The cursor in the store when the extension was made. */
  readonly stored: StreamCursor | undefined;
}

/**
 * An open run that records its extensions and commits each when told (or at once with `auto`);
 * `fail` makes the next extension reject (as one whose records cannot be read); `end` ends the run.
 */
class FakeRun implements OpenRun {
  readonly extensions: Extension[] = [];
  readonly mergeWorkers = ['merge-1'];
  private readonly ended = new AbortController();
  private readonly held: Array<{ resolve: (v: VersionInfo) => void; reject: (e: unknown) => void }> = [];
  private version = 0;
  watermarkMs: number | undefined;
  fail: Error | undefined;

  constructor(
    private readonly store: MemoryStateStore,
    private readonly auto = true,
  ) {}

  get signal(): AbortSignal {
    return this.ended.signal;
  }

  latest = (): VersionInfo | undefined =>
    this.version === 0
      ? undefined
      : ({
          version: this.version,
          ...(this.watermarkMs !== undefined ? { watermarkMs: this.watermarkMs } : {}),
        } as VersionInfo);

  extend = async (inputs: readonly SourceFile[], advanceWatermarkMs?: number): Promise<VersionInfo | undefined> => {
    this.extensions.push({
      identities: inputs.map((i) => i.identity ?? i.path),
      advanceWatermarkMs,
      stored: await this.store.getMeta<StreamCursor>('j', 'stream-cursor'),
    });
    if (this.fail !== undefined) throw this.fail;
    const committed = new Promise<VersionInfo>((resolve, reject) => this.held.push({ resolve, reject }));
    if (this.auto) this.commitAll();
    return committed;
  };

  /** The run ends (a lost merge worker): what it holds never commits. */
  end(e: Error): void {
    for (const h of this.held.splice(0)) h.reject(e);
    this.ended.abort(e);
  }

  /** Commits every extension held so far, in order. */
  commitAll(): void {
    for (const h of this.held.splice(0)) {
      this.version++;
      h.resolve({ version: this.version } as VersionInfo);
    }
  }
}

function setup(options: Partial<StreamFeedOptions> = {}) {
  const store = new MemoryStateStore();
  const streams = new MemoryStreamLog();
  const feed = new StreamFeed({ ...feedOptions(store, streams), ...options });
  return { store, streams, feed };
}

/** Feeds until `until` holds (checked every few ms), then stops the feed. */
async function feedUntil(feed: StreamFeed, run: OpenRun, until: () => boolean, maxMs = 2_000): Promise<void> {
  const stop = new AbortController();
  const feeding = feed.feed(run, stop.signal);
  for (let i = 0; i < maxMs / 5 && !until(); i++) await new Promise((r) => setTimeout(r, 5));
  stop.abort();
  await feeding;
}

describe('StreamFeed', () => {
  it('adds each new range of records to the open run once, written down before, acknowledged after its commit', async () => {
    const { store, streams, feed } = setup();
    const run = new FakeRun(store);
    await streams.append(SUBJECT, rec(5));
    const appended = (async () => {
      await new Promise((r) => setTimeout(r, 40));
      await streams.append(SUBJECT, rec(3));
    })();
    await feedUntil(feed, run, () => run.extensions.length >= 2);
    await appended;
    expect(run.extensions.map((e) => e.identities)).toEqual([[`stream:${SUBJECT}:1-5`], [`stream:${SUBJECT}:6-8`]]);
    // Each segment was in the stored cursor before the run saw it.
    expect(run.extensions[0]?.stored?.pending).toEqual([{ subject: SUBJECT, from: 1, to: 5 }]);
    expect(await feed.cursor()).toMatchObject({ nextSeq: 9, pending: [], committedRecords: 8 });
  });

  it('keeps segments whose versions are not committed, and a new run (or coordinator) takes them first', async () => {
    const { store, streams, feed } = setup();
    const held = new FakeRun(store, false);
    await streams.append(SUBJECT, rec(4));
    await feedUntil(feed, held, () => held.extensions.length >= 1);
    expect(await feed.cursor()).toMatchObject({ nextSeq: 5, pending: [{ from: 1, to: 4 }], committedRecords: 0 });
    await streams.append(SUBJECT, rec(2));
    const next = new StreamFeed(feedOptions(store, streams));
    const run = new FakeRun(store);
    await feedUntil(next, run, () => run.extensions.length >= 2);
    expect(run.extensions.map((e) => e.identities)).toEqual([[`stream:${SUBJECT}:1-4`], [`stream:${SUBJECT}:5-6`]]);
    expect(await next.cursor()).toMatchObject({ nextSeq: 7, pending: [], committedRecords: 6 });
  });

  it('rejects when a segment cannot be added, and stops when the run ends; the segment stays pending', async () => {
    const { store, streams, feed } = setup();
    const run = new FakeRun(store);
    run.fail = new Error('records 1-3 are gone');
    await streams.append(SUBJECT, rec(3));
    await expect(feed.feed(run, new AbortController().signal)).rejects.toThrow('records 1-3 are gone');
    expect(await feed.cursor()).toMatchObject({ nextSeq: 4, pending: [{ from: 1, to: 3 }] });
    const lost = new FakeRun(store, false);
    const feeding = feed.feed(lost, new AbortController().signal);
    for (let i = 0; i < 200 && lost.extensions.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    lost.end(new Error('merge worker lost'));
    await feeding;
    expect(await feed.cursor()).toMatchObject({ nextSeq: 4, pending: [{ from: 1, to: 3 }], committedRecords: 0 });
  });

  it('cuts a backlog into segments of at most maxSegmentRecords, and holds back past maxPendingRecords', async () => {
    const { store, streams, feed } = setup({ maxSegmentRecords: 4, maxPendingRecords: 8, maxPendingSegments: 3 });
    const run = new FakeRun(store, false);
    await streams.append(SUBJECT, rec(10));
    await feedUntil(feed, run, () => run.extensions.length >= 2);
    // Nothing committed: two segments of 4 fill the room; records 9–10 wait in the stream.
    await new Promise((r) => setTimeout(r, 30));
    expect(run.extensions.map((e) => e.identities[0])).toEqual([`stream:${SUBJECT}:1-4`, `stream:${SUBJECT}:5-8`]);
    const resumed = new FakeRun(store);
    await feedUntil(feed, resumed, () => resumed.extensions.length >= 3);
    expect(resumed.extensions.map((e) => e.identities[0])).toEqual([
      `stream:${SUBJECT}:1-4`,
      `stream:${SUBJECT}:5-8`,
      `stream:${SUBJECT}:9-10`,
    ]);
  });

  it('cuts no new segment while maxPendingSegments are not committed: the next one takes all that waited', async () => {
    const { store, streams, feed } = setup({ maxPendingSegments: 1 });
    const run = new FakeRun(store, false);
    await streams.append(SUBJECT, rec(2));
    const stop = new AbortController();
    const feeding = feed.feed(run, stop.signal);
    for (let i = 0; i < 200 && run.extensions.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await streams.append(SUBJECT, rec(3));
    await new Promise((r) => setTimeout(r, 30));
    await streams.append(SUBJECT, rec(4));
    await new Promise((r) => setTimeout(r, 30));
    expect(run.extensions).toHaveLength(1);
    run.commitAll();
    for (let i = 0; i < 200 && run.extensions.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    stop.abort();
    await feeding;
    expect(run.extensions.map((e) => e.identities[0])).toEqual([`stream:${SUBJECT}:1-2`, `stream:${SUBJECT}:3-9`]);
  });

  it('looks again as soon as an acknowledgement makes room when the last look left records behind, not at the next tick', async () => {
    const { store, streams, feed } = setup({ intervalMs: 2_000, maxPendingSegments: 1 });
    const run = new FakeRun(store, false);
    await streams.append(SUBJECT, rec(3));
    const stop = new AbortController();
    const feeding = feed.feed(run, stop.signal);
    for (let i = 0; run.extensions.length === 0 && i < 400; i++) await new Promise((r) => setTimeout(r, 5));
    // Published behind the first segment: the look at 2 s finds no room (one segment pending).
    await streams.append(SUBJECT, rec(2));
    await new Promise((r) => setTimeout(r, 2_300));
    expect(run.extensions).toHaveLength(1);
    const committedAt = Date.now();
    run.commitAll();
    for (let i = 0; run.extensions.length < 2 && i < 400; i++) await new Promise((r) => setTimeout(r, 5));
    // Well before the next tick (at 4 s, 1.7 s after the commit).
    expect(Date.now() - committedAt).toBeLessThan(1_000);
    expect(run.extensions.map((e) => e.identities)).toEqual([[`stream:${SUBJECT}:1-3`], [`stream:${SUBJECT}:4-5`]]);
    stop.abort();
    await feeding;
  });

  it('ends a run after segmentsPerRun segments, once they are committed', async () => {
    const { store, streams, feed } = setup({ segmentsPerRun: 2 });
    const run = new FakeRun(store);
    await streams.append(SUBJECT, rec(1));
    const feeding = feed.feed(run, new AbortController().signal);
    await new Promise((r) => setTimeout(r, 20));
    await streams.append(SUBJECT, rec(1));
    await feeding;
    expect(run.extensions).toHaveLength(2);
    expect(await feed.cursor()).toMatchObject({ nextSeq: 3, pending: [], committedRecords: 2 });
  });

  it('ends a run on renew() once what it sent is committed, and takes no segment after; the next run goes on', async () => {
    const { store, streams, feed } = setup();
    const held = new FakeRun(store, false);
    await streams.append(SUBJECT, rec(2));
    const feeding = feed.feed(held, new AbortController().signal);
    for (let i = 0; i < 400 && held.extensions.length < 1; i++) await new Promise((r) => setTimeout(r, 5));
    feed.renew();
    await streams.append(SUBJECT, rec(3));
    await new Promise((r) => setTimeout(r, 40));
    let returned = false;
    void feeding.then(() => (returned = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(returned).toBe(false); // its segment is not committed yet
    held.commitAll();
    await feeding;
    expect(held.extensions.map((e) => e.identities)).toEqual([[`stream:${SUBJECT}:1-2`]]);
    expect(await feed.cursor()).toMatchObject({ nextSeq: 3, pending: [], committedRecords: 2 });
    // The next run is fed as usual (renew() is spent).
    const run = new FakeRun(store);
    await feedUntil(feed, run, () => run.extensions.length >= 1);
    expect(run.extensions.map((e) => e.identities)).toEqual([[`stream:${SUBJECT}:3-5`]]);
  });

  it('moves an idle stream’s watermark on by the idle timeout, written down before it is sent', async () => {
    const { store, streams, feed } = setup({ idleTimeoutMs: 30 });
    const run = new FakeRun(store);
    await streams.append(SUBJECT, rec(2));
    run.watermarkMs = 1_000;
    await feedUntil(feed, run, () => run.extensions.length >= 2);
    const idle = run.extensions[1];
    expect(idle?.identities).toEqual([]);
    expect(idle?.advanceWatermarkMs).toBe(1_030);
    expect(idle?.stored?.pending).toEqual([{ subject: SUBJECT, from: 3, to: 2, advanceWatermarkMs: 1_030 }]);
    expect(await feed.cursor()).toMatchObject({ nextSeq: 3, pending: [], committedRecords: 2 });
  });

  it('lets go of a committed segment (plan, local file) after the cursor moved past it; a failed clean-up only warns', async () => {
    const released: string[] = [];
    const warnings: string[] = [];
    const { store, streams, feed } = setup({
      release: async (s) => {
        released.push(`${s.from}-${s.to}`);
        if (s.from > 1) throw new Error('disk gone');
      },
      logger: { ...silentLogger, warn: (message: string) => warnings.push(message) },
    });
    const run = new FakeRun(store);
    await streams.append(SUBJECT, rec(2));
    const appended = (async () => {
      await new Promise((r) => setTimeout(r, 40));
      await streams.append(SUBJECT, rec(1));
    })();
    await feedUntil(feed, run, () => released.length >= 2);
    await appended;
    expect(released).toEqual(['1-2', '3-3']);
    expect(warnings).toEqual(['could not delete what a committed stream segment left']);
    expect(await feed.cursor()).toMatchObject({ nextSeq: 4, pending: [], committedRecords: 3 });
  });

  it('cuts no idle mark before there is a watermark, nor without an idle timeout', async () => {
    const { store, streams, feed } = setup({ idleTimeoutMs: 10 });
    const run = new FakeRun(store);
    await streams.append(SUBJECT, rec(1));
    await feedUntil(feed, run, () => false, 200);
    expect(run.extensions).toHaveLength(1);
    const plain = setup();
    const other = new FakeRun(plain.store);
    other.watermarkMs = 5;
    await plain.streams.append(SUBJECT, rec(1));
    await feedUntil(plain.feed, other, () => false, 200);
    expect(other.extensions).toHaveLength(1);
  });
});

function feedOptions(store: MemoryStateStore, streams: StreamLog): StreamFeedOptions {
  return {
    store,
    streams,
    jobName: 'j',
    subject: SUBJECT,
    intervalMs: 5,
    source: async (s: StreamSegment) => ({
      path: `/nowhere/${s.from}-${s.to}`,
      identity: `stream:${s.subject}:${s.from}-${s.to}`,
      displayPath: `${s.from}-${s.to}`,
      gzip: false,
      size: 0,
    }),
  };
}
