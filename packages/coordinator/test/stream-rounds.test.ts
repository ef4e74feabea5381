import type { StreamInfo, StreamLog, StreamRecord } from '@mrm/core';
import { MemoryStateStore } from '@mrm/runtime';
import { describe, expect, it } from 'vitest';
import { StreamRounds, type StreamSegment } from '../src/service/stream-rounds.js';

/** A stream log in memory: records appended to arrays, per subject. */
class ArrayStreamLog implements StreamLog {
  readonly records = new Map<string, Uint8Array[]>();
  async ensure(subject: string): Promise<void> {
    if (!this.records.has(subject)) this.records.set(subject, []);
  }
  async append(subject: string, records: Iterable<Uint8Array>): Promise<number> {
    const list = this.records.get(subject) ?? [];
    this.records.set(subject, list);
    for (const r of records) list.push(r);
    return list.length;
  }
  async info(subject: string): Promise<StreamInfo | undefined> {
    const list = this.records.get(subject);
    return list === undefined ? undefined : { firstSeq: list.length > 0 ? 1 : 0, lastSeq: list.length };
  }
  async *read(subject: string, from: number, to: number): AsyncIterable<StreamRecord> {
    const list = this.records.get(subject) ?? [];
    for (let seq = from; seq <= to; seq++) yield { seq, data: list[seq - 1] as Uint8Array };
  }
}

const rec = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array([i % 256]));

function setup(runRound: (segments: readonly StreamSegment[]) => Promise<void>, max?: number) {
  const store = new MemoryStateStore();
  const streams = new ArrayStreamLog();
  const rounds = new StreamRounds({
    store,
    streams,
    jobName: 'j',
    subject: 'logs.web',
    intervalMs: 10,
    runRound,
    ...(max !== undefined ? { maxSegmentRecords: max } : {}),
  });
  return { store, streams, rounds };
}

describe('StreamRounds', () => {
  it('runs each new range of records once, and nothing when nothing is new', async () => {
    const ran: StreamSegment[][] = [];
    const { streams, rounds } = setup(async (s) => void ran.push([...s]));
    await streams.ensure('logs.web');
    await rounds.round();
    await streams.append('logs.web', rec(5));
    await rounds.round();
    await rounds.round();
    await streams.append('logs.web', rec(3));
    await rounds.round();
    expect(ran).toEqual([[{ subject: 'logs.web', from: 1, to: 5 }], [{ subject: 'logs.web', from: 6, to: 8 }]]);
    expect(await rounds.cursor()).toMatchObject({ nextSeq: 9, pending: [], committedRecords: 8 });
  });

  it('runs the same ranges again after a failed round, before any new ones are cut apart', async () => {
    const ran: StreamSegment[][] = [];
    let fail = true;
    const { streams, rounds } = setup(async (s) => {
      ran.push([...s]);
      if (fail) throw new Error('worker lost');
    });
    await streams.append('logs.web', rec(4));
    await expect(rounds.round()).rejects.toThrow('worker lost');
    fail = false;
    await streams.append('logs.web', rec(2));
    await rounds.round();
    expect(ran).toEqual([
      [{ subject: 'logs.web', from: 1, to: 4 }],
      [
        { subject: 'logs.web', from: 1, to: 4 },
        { subject: 'logs.web', from: 5, to: 6 },
      ],
    ]);
    expect(await rounds.cursor()).toMatchObject({ nextSeq: 7, pending: [], committedRecords: 6 });
  });

  it('keeps its cursor in the store: a new driver (a restarted coordinator) resumes it', async () => {
    const { store, streams, rounds } = setup(async () => {
      throw new Error('crash');
    });
    await streams.append('logs.web', rec(3));
    await expect(rounds.round()).rejects.toThrow('crash');
    const ran: StreamSegment[][] = [];
    const again = new StreamRounds({
      store,
      streams,
      jobName: 'j',
      subject: 'logs.web',
      intervalMs: 10,
      runRound: async (s) => void ran.push([...s]),
    });
    await again.round();
    expect(ran).toEqual([[{ subject: 'logs.web', from: 1, to: 3 }]]);
  });

  it('cuts a large backlog into segments of at most maxSegmentRecords', async () => {
    const ran: StreamSegment[][] = [];
    const { streams, rounds } = setup(async (s) => void ran.push([...s]), 4);
    await streams.append('logs.web', rec(10));
    await rounds.round();
    expect(ran[0]?.map((s) => [s.from, s.to])).toEqual([
      [1, 4],
      [5, 8],
      [9, 10],
    ]);
  });

  it('runs rounds until aborted', async () => {
    let n = 0;
    const { streams, rounds } = setup(async () => void n++);
    const stop = new AbortController();
    let progressed = 0;
    const driver = new StreamRounds({
      store: new MemoryStateStore(),
      streams,
      jobName: 'k',
      subject: 'logs.web',
      intervalMs: 5,
      runRound: async () => void n++,
      onProgress: (p) => {
        progressed++;
        if (p.committedSeq === 2) stop.abort();
      },
    });
    void rounds;
    await streams.append('logs.web', rec(2));
    await driver.run(stop.signal);
    expect(n).toBe(1);
    expect(progressed).toBeGreaterThanOrEqual(1);
  });
});
