import {
  aggregates,
  EventTimeTally,
  type Key,
  MAX_DEAD_LETTERS_PER_BATCH,
  resolveJob,
  trackEventTimes,
  watermarkOf,
  windowStartOfKey,
} from '@mrm/core';
import { describe, expect, it } from 'vitest';

const MIN = 60_000;
const at = (iso: string) => Date.parse(iso);
const key = (iso: string, k: Key = 'n') => JSON.stringify([new Date(at(iso)).toISOString(), k]);

function lateJob(window: object) {
  return resolveJob(
    {
      name: 'w',
      window: { time: (r: number) => r, size: '10m', ...window },
      map: (_r: number, emit: (k: Key, v: number) => void) => emit('n', 1),
      ...aggregates.count(),
    },
    'jobs/w.ts',
  );
}

describe('the watermark of a window with lateness', () => {
  it('tallies a batch: the latest event time on every marker, records per window end on partition 0', () => {
    const job = lateJob({ lateness: '5m' });
    const tally = new EventTimeTally(true);
    const ctx = { source: 'in.log', line: 0, batchId: 'b' };
    trackEventTimes(ctx, tally);
    const times = [at('2025-01-01T10:12:00Z'), at('2025-01-01T10:02:00Z'), at('2025-01-01T10:03:00Z')];
    for (const [i, t] of times.entries()) {
      ctx.line = i + 1;
      void job.map(t, () => {}, ctx);
    }
    const { all, first } = tally.finish('in.log');
    expect(all).toEqual({ maxMs: at('2025-01-01T10:12:00Z') });
    expect(first).toEqual({
      maxMs: at('2025-01-01T10:12:00Z'),
      ends: [at('2025-01-01T10:10:00Z'), 2, at('2025-01-01T10:20:00Z'), 1],
      lines: [at('2025-01-01T10:10:00Z'), 2, at('2025-01-01T10:10:00Z'), 3, at('2025-01-01T10:20:00Z'), 1],
      source: 'in.log',
    });
  });

  it('keeps the lines of the oldest windows first, at most the dead letters a batch keeps', () => {
    const tally = new EventTimeTally(true);
    for (let i = 0; i < MAX_DEAD_LETTERS_PER_BATCH; i++) tally.add(5 * MIN, 10 * MIN, i + 1);
    tally.add(1, 10 * MIN - 1, 9999);
    const lines = tally.finish('s').first.lines ?? [];
    expect(lines.length / 2).toBe(MAX_DEAD_LETTERS_PER_BATCH);
    expect(lines.slice(0, 2)).toEqual([10 * MIN - 1, 9999]);
  });

  it('moves only forward, from batch maxima minus the lateness, and finds late records against the batch before', () => {
    const job = lateJob({ lateness: '5m', retain: 0 });
    const w = watermarkOf(job.window, undefined);
    if (w === undefined) throw new Error('no watermark');
    expect(w.watermarkMs).toBeUndefined();
    expect(w.isFinal(key('1970-01-01T00:00:00Z'))).toBe(false);
    w.advance({ maxMs: at('2025-01-01T10:20:00Z') });
    expect(w.watermarkMs).toBe(at('2025-01-01T10:15:00Z'));
    w.advance({ maxMs: at('2025-01-01T10:01:00Z') });
    expect(w.watermarkMs).toBe(at('2025-01-01T10:15:00Z'));
    expect(w.isFinal(key('2025-01-01T10:00:00Z'))).toBe(true);
    expect(w.isFinal(key('2025-01-01T10:10:00Z'))).toBe(false);
    expect(w.isFinal(key('2025-01-01T10:00:00Z', ['a', 1]))).toBe(true);
    const late = w.lateIn({
      ends: [at('2025-01-01T10:10:00Z'), 3, at('2025-01-01T10:20:00Z'), 4],
      lines: [at('2025-01-01T10:10:00Z'), 7, at('2025-01-01T10:20:00Z'), 8],
    });
    expect(late).toEqual({ records: 3, lines: [[at('2025-01-01T10:10:00Z'), 7]] });
    // retain 0: a window leaves the state once final (start + size ≤ W).
    expect(w.dropCutoffMs()).toBe(at('2025-01-01T10:05:00Z'));
  });

  it('reads window starts of stored keys, also of years outside 0000–9999', () => {
    expect(windowStartOfKey('["2025-01-01T10:00:00.000Z","n"]')).toBe(at('2025-01-01T10:00:00Z'));
    expect(windowStartOfKey(JSON.stringify([new Date(-1e14).toISOString(), 'n']))).toBe(-1e14);
    expect(windowStartOfKey('"plain"')).toBeUndefined();
    const w = watermarkOf(lateJob({ lateness: 0 }).window, 0);
    expect(w?.isFinal(JSON.stringify([new Date(-1e14).toISOString(), 'n']))).toBe(true);
    expect(w?.isFinal(JSON.stringify([new Date(1e14).toISOString(), 'n']))).toBe(false);
  });

  it('refuses lateness on a plain job and retain without lateness, in one line each', () => {
    expect(() =>
      resolveJob(
        {
          name: 'p',
          window: { time: () => 0, size: '1m', lateness: '1m' },
          map: () => {},
          reduce: () => 0,
        },
        'jobs/p.ts',
      ),
    ).toThrow(/job 'p': window.lateness needs an incremental job/);
    expect(() => lateJob({ retain: '1h' })).toThrow(/window.retain needs window.lateness/);
    expect(() => lateJob({ lateness: '5 minutes' })).toThrow(/window.lateness must be/);
    expect(lateJob({ lateness: '5m', retain: 'all' }).window).toMatchObject({ latenessMs: 5 * MIN });
    expect(lateJob({ lateness: '5m', retain: 'all' }).window).not.toHaveProperty('retainMs');
  });
});
