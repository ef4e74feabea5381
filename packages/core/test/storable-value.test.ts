import { describe, expect, it } from 'vitest';
import { unstorableReason } from '../src/storable-value.js';

class Point {
  constructor(readonly x: number) {}
}

describe('unstorableReason', () => {
  it('accepts plain data that MessagePack and JSON carry', () => {
    for (const value of [
      null,
      true,
      0,
      -1.5,
      'text',
      [1, 'a', [null]],
      { a: 1, b: { c: [true] }, gone: undefined },
      Object.assign(Object.create(null), { a: 1 }),
      new Date(0),
      Uint8Array.of(1, 2),
      Buffer.from('x'),
    ]) {
      expect(unstorableReason(value)).toBeUndefined();
    }
  });

  it.each([
    [undefined, 'undefined'],
    [Number.NaN, 'NaN is not a finite number'],
    [Number.NEGATIVE_INFINITY, '-Infinity is not a finite number'],
    [10n, 'BigInt 10n'],
    [() => 1, 'a function'],
    [Symbol('s'), 'a symbol'],
    [new Map(), 'a Map'],
    [new Set([1]), 'a Set'],
    [new Point(1), 'a Point'],
    [[1, [2, Number.NaN]], 'NaN is not a finite number at [1][1]'],
    [{ a: { b: [undefined] } }, 'undefined at a.b[0]'],
  ])('refuses %s, saying where', (value, reason) => {
    expect(unstorableReason(value)).toContain(reason);
  });

  it('refuses a cycle instead of overflowing the stack', () => {
    const a: unknown[] = [];
    a.push(a);
    expect(unstorableReason(a)).toMatch(/nested more than 256 levels deep/);
  });
});
