import { aggregates, durationMs, eventTimeMs, type Key, resolveJob, windowStartsOf } from '@mrm/core';
import { describe, expect, it } from 'vitest';

const MIN = 60_000;
const at = (iso: string) => Date.parse(iso);

/** Runs a resolved job's map over records and collects what it emits. */
function emitted(spec: object, records: unknown[]): Array<[Key, unknown]> {
  const job = resolveJob(spec, 'jobs/w.ts');
  const out: Array<[Key, unknown]> = [];
  for (const [i, r] of records.entries()) {
    void job.map(r, (k, v) => out.push([k, v]), { source: 's', line: i + 1, batchId: 'b' });
  }
  return out;
}

describe('event-time windows', () => {
  it('puts a record in the one tumbling window that holds its time, keyed by the ISO start', () => {
    const out = emitted(
      {
        name: 'w',
        window: { time: (r: { t: string }) => r.t, size: '10m' },
        map: (r: { ip: string }, emit: (k: Key, v: unknown) => void) => emit('ips', r.ip),
        ...aggregates.distinct(),
      },
      [
        { t: '2025-12-23T02:09:59.999Z', ip: 'a' },
        { t: '2025-12-23T02:10:00.000Z', ip: 'b' },
      ],
    );
    expect(out).toEqual([
      [['2025-12-23T02:00:00.000Z', 'ips'], 'a'],
      [['2025-12-23T02:10:00.000Z', 'ips'], 'b'],
    ]);
  });

  it('puts a record in size ÷ slide sliding windows, each with its own copy of an object value', () => {
    const out = emitted(
      {
        name: 'w',
        window: { time: (r: number) => r, size: '10m', slide: '5m' },
        map: (_r: number, emit: (k: Key, v: unknown) => void) => emit('k', { n: 1 }),
        reduce: (_k: Key, v: unknown[]) => v.length,
      },
      [at('2025-01-01T00:07:00Z')],
    );
    expect(out.map(([k]) => k)).toEqual([
      ['2025-01-01T00:00:00.000Z', 'k'],
      ['2025-01-01T00:05:00.000Z', 'k'],
    ]);
    expect(out[0]?.[1]).toEqual(out[1]?.[1]);
    expect(out[0]?.[1]).not.toBe(out[1]?.[1]);
  });

  it('computes window starts on an offset grid and before the epoch', () => {
    const w = { time: () => 0, sizeMs: 10 * MIN, slideMs: 10 * MIN, offsetMs: 3 * MIN };
    expect(windowStartsOf(at('2025-01-01T00:02:00Z'), w)).toEqual([at('2024-12-31T23:53:00Z')]);
    const neg = { time: () => 0, sizeMs: 10, slideMs: 5, offsetMs: 0 };
    expect(windowStartsOf(-1, neg)).toEqual([-10, -5]);
  });

  it('reads durations and event times', () => {
    expect(durationMs('10m', 'x')).toBe(600_000);
    expect(durationMs('1.5s', 'x')).toBe(1500);
    expect(durationMs(250, 'x')).toBe(250);
    expect(() => durationMs('10 minutes', 'size')).toThrow(/size must be/);
    expect(eventTimeMs(new Date(5))).toBe(5);
    expect(eventTimeMs('17/May/2015:10:05:03 +0000')).toBeUndefined();
    expect(eventTimeMs('2015-05-17T10:05:03Z')).toBe(at('2015-05-17T10:05:03Z'));
  });

  it('rejects a bad window spec with one line naming the job file', () => {
    const base = { name: 'w', map: () => {}, reduce: () => 0 };
    for (const [window, pattern] of [
      [{ size: '1m' }, /window.time must be a function/],
      [{ time: () => 0, size: '1m', slide: '2m' }, /must not exceed window.size/],
      [{ time: () => 0, size: 0 }, /above zero/],
      [{ time: () => 0, size: '1m', allowedLateness: 3 }, /unknown window field 'allowedLateness'/],
      [{ time: () => 0, size: '1m', lateness: 3 }, /window.lateness needs an incremental job/],
    ] as const) {
      expect(() => resolveJob({ ...base, window }, 'jobs/w.ts')).toThrow(pattern);
      expect(() => resolveJob({ ...base, window }, 'jobs/w.ts')).toThrow(/^jobs\/w.ts: job 'w': /);
    }
  });

  it('fails a record whose event time is not a time', () => {
    const job = resolveJob({
      name: 'w',
      window: { time: () => 'nonsense', size: '1m' },
      map: () => {},
      reduce: () => 0,
    });
    expect(() => job.map('x', () => {}, { source: 's', line: 1, batchId: 'b' })).toThrow(
      /window.time returned nonsense/,
    );
  });
});
