import { canonicalKey, compareCanonicalKeys, keyOf, MAX_CANONICAL_KEY_LENGTH, parseKeyArgument } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { seeded } from './support/random.js';
import { byCodePoints } from './support/values.js';

const badKey = expect.objectContaining({ name: 'MrmError', code: 'E_BAD_KEY' });

describe('canonicalKey', () => {
  it('is the JSON text of strings, numbers and arrays, nested', () => {
    expect(canonicalKey('a')).toBe('"a"');
    expect(canonicalKey('')).toBe('""');
    expect(canonicalKey('say "hi"\n')).toBe('"say \\"hi\\"\\n"');
    expect(canonicalKey(42)).toBe('42');
    expect(canonicalKey(-1.5)).toBe('-1.5');
    expect(canonicalKey(1e21)).toBe('1e+21');
    expect(canonicalKey(['a', 1, ['b', [2]]])).toBe('["a",1,["b",[2]]]');
    expect(canonicalKey([])).toBe('[]');
  });

  it('keeps non-ASCII characters as they are (one key, one text)', () => {
    expect(canonicalKey('é中😀')).toBe('"é中😀"');
  });

  it('makes 1 and 1.0 one key, and -0 the same key as 0', () => {
    expect(canonicalKey(1.0)).toBe(canonicalKey(1));
    expect(canonicalKey(-0)).toBe('0');
  });

  it('rejects objects, null, undefined, booleans, NaN and infinities with E_BAD_KEY', () => {
    const bad: unknown[] = [
      { a: 1 },
      null,
      undefined,
      true,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      10n,
      Symbol('s'),
      () => 1,
      new Date(0),
      ['a', { b: 1 }],
      [Number.NaN],
      [undefined],
      // A hole reads as undefined.
      // biome-ignore lint/suspicious/noSparseArray: the hole is the point
      [1, , 2],
    ];
    for (const key of bad) expect(() => canonicalKey(key), String(key)).toThrow(badKey);
  });

  it('accepts arrays nested 8 deep and rejects deeper ones', () => {
    const nest = (depth: number): unknown => (depth === 0 ? 'x' : [nest(depth - 1)]);
    expect(canonicalKey(nest(8))).toBe(`${'['.repeat(8)}"x"${']'.repeat(8)}`);
    expect(() => canonicalKey(nest(9))).toThrow(badKey);
  });

  it(`rejects keys longer than ${MAX_CANONICAL_KEY_LENGTH} bytes of UTF-8 JSON`, () => {
    expect(canonicalKey('a'.repeat(MAX_CANONICAL_KEY_LENGTH - 2))).toHaveLength(MAX_CANONICAL_KEY_LENGTH);
    expect(() => canonicalKey('a'.repeat(MAX_CANONICAL_KEY_LENGTH - 1))).toThrow(badKey);
    // 3 bytes per CJK character: 400 characters are 1202 bytes, although only 402 code units.
    expect(() => canonicalKey('中'.repeat(400))).toThrow(badKey);
    expect(canonicalKey('中'.repeat(340))).toHaveLength(342);
    // 4 bytes per astral character (2 code units).
    expect(() => canonicalKey('😀'.repeat(256))).toThrow(badKey);
    expect(canonicalKey('😀'.repeat(255))).toHaveLength(512);
  });

  it('says what is wrong in one short line', () => {
    const messageOf = (key: unknown): string => {
      try {
        canonicalKey(key);
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    for (const key of [() => 'a\nb', [{ a: 1 }, 'x'.repeat(5000)], 'y'.repeat(5000), Number.NaN]) {
      const message = messageOf(key);
      expect(message).not.toContain('\n');
      expect(message.length).toBeLessThan(200);
    }
    expect(messageOf(Number.NaN)).toContain('NaN');
  });
});

describe('keyOf', () => {
  it('turns a canonical form back into its key', () => {
    for (const key of ['a', 7, ['x', [1, 'y']], '😀']) expect(keyOf(canonicalKey(key))).toEqual(key);
  });
});

describe('compareCanonicalKeys', () => {
  it('orders by code point, astral characters after U+E000…U+FFFF', () => {
    const keys = ['"b"', '"a"', '"ab"', '"\uFFFF"', '"😀"', '"\uE000"', '"é"', '"A"', '"a"'];
    expect(keys.slice().sort(compareCanonicalKeys)).toEqual([
      '"A"',
      '"a"',
      '"a"',
      '"ab"',
      '"b"',
      '"é"',
      '"\uE000"',
      '"\uFFFF"',
      '"😀"',
    ]);
  });

  it('puts a prefix first and says 0 only for equal texts', () => {
    expect(compareCanonicalKeys('"a', '"ab')).toBeLessThan(0);
    expect(compareCanonicalKeys('"ab', '"a')).toBeGreaterThan(0);
    expect(compareCanonicalKeys('"😀"', '"😀"')).toBe(0);
    expect(compareCanonicalKeys('"😀a"', '"😀b"')).toBeLessThan(0);
  });

  it('agrees with the byte order of UTF-8 (the order LMDB keeps) on random texts', () => {
    const rnd = seeded(11);
    const chars = ['a', 'b', '~', 'é', 'ÿ', '中', '\uE000', '\uFFFF', '😀', '𝄞', '🀄'];
    const text = () => Array.from({ length: rnd.int(5) }, () => rnd.pick(chars)).join('');
    const disagreements: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const a = text();
      const b = text();
      const bytes = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
      if (Math.sign(compareCanonicalKeys(a, b)) !== bytes) disagreements.push(`${a} vs ${b}`);
      // The tests' own reference order must agree too, or the aggregate tests would prove nothing.
      if (Math.sign(byCodePoints(a, b)) !== bytes) disagreements.push(`reference: ${a} vs ${b}`);
    }
    expect(disagreements).toEqual([]);
  });
});

describe('parseKeyArgument', () => {
  it('reads JSON keys', () => {
    expect(parseKeyArgument('"a"')).toBe('a');
    expect(parseKeyArgument('42')).toBe(42);
    expect(parseKeyArgument('-1.5')).toBe(-1.5);
    expect(parseKeyArgument('["a",1]')).toEqual(['a', 1]);
    expect(parseKeyArgument('"42"')).toBe('42');
  });

  it('takes anything else as the literal string', () => {
    for (const text of ['abc', 'example.org', '', '{"a":1}', 'true', 'null', '1e999', '[1,', 'NaN', '[{"a":1}]']) {
      expect(parseKeyArgument(text)).toBe(text);
    }
  });
});
