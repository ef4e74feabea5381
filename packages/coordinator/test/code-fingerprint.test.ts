import { aggregates, type JobSpec, resolveJob } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { codeFingerprint } from '../src/code-fingerprint.js';

const map: JobSpec['map'] = (line: string, emit) => emit(line, line);
const fp = (spec: Omit<JobSpec, 'name' | 'map'> & { map?: JobSpec['map'] }) =>
  codeFingerprint(resolveJob({ name: 'per-status', map, ...spec } as JobSpec));

describe('codeFingerprint', () => {
  it('sees the arguments of a built-in aggregate, which its source text does not show', () => {
    expect(fp({ ...aggregates.topK(3) })).not.toBe(fp({ ...aggregates.topK(5) }));
    expect(fp({ ...aggregates.topK(3) })).toBe(fp({ ...aggregates.topK(3) }));
    expect(fp({ ...aggregates.topK(3, { capacity: 2000 }) })).not.toBe(fp({ ...aggregates.topK(3) }));
    expect(fp({ ...aggregates.approxDistinct({ precision: 12 }) })).not.toBe(
      fp({ ...aggregates.approxDistinct({ precision: 14 }) }),
    );
  });

  it('keeps a label per call when calls with other arguments come between', () => {
    const three = fp({ ...aggregates.topK(3) });
    fp({ ...aggregates.topK(7) });
    expect(fp({ ...aggregates.topK(3) })).toBe(three);
    const a = aggregates.topK(3);
    aggregates.topK(9);
    expect(fp({ ...a })).toBe(three);
  });

  it('tells aggregates apart, and sees edits of state functions but not of map or finalize', () => {
    expect(fp({ ...aggregates.sum() })).not.toBe(fp({ ...aggregates.count() }));
    const sum = aggregates.sum();
    expect(fp({ ...sum })).toBe(fp({ ...sum, map: (line: string, emit) => emit(line.trim(), 1) }));
    expect(fp({ ...sum })).toBe(fp({ ...sum, finalize: (_k, s: number) => s * 2 }));
    expect(fp({ ...sum })).not.toBe(fp({ ...sum, merge: (_k, p: number | undefined, n: number) => (p ?? 0) - n }));
  });

  it('changes with stateVersion, for what a user function captures from its closure', () => {
    const limit = 10;
    const reduce = (_k: unknown, vs: number[]) => Math.min(limit, vs.length);
    expect(fp({ reduce })).toBe(fp({ reduce }));
    expect(fp({ reduce, stateVersion: 2 })).not.toBe(fp({ reduce }));
    expect(fp({ reduce, stateVersion: 2 })).not.toBe(fp({ reduce, stateVersion: '2' }));
    expect(() => resolveJob({ name: 'x', map, reduce, stateVersion: {} })).toThrow(
      /stateVersion .* string or a number/,
    );
  });
});
