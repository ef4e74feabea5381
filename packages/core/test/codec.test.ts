import { decode, encode, MSGPACK_OPTIONS } from '@mrm/core';
import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Maps (what a default reader makes of MessagePack maps) as plain objects, bins as Uint8Array. */
function plain(value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, plain(v)]));
  if (value instanceof Uint8Array) return Uint8Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

const samples: Record<string, unknown> = {
  null: null,
  booleans: [true, false],
  'small integers': [0, 1, -1, 127, 128, -32, -33, 255, 65535, 2 ** 32 - 1],
  'integers beyond 2^32': [2 ** 32, 2 ** 40 + 7, 2 ** 53 - 1, -(2 ** 40), -(2 ** 53 - 1)],
  floats: [0.1, -1.5, 1e300, -2.5e-300, Number.MIN_VALUE, Number.MAX_VALUE, Math.PI],
  strings: ['', 'a', 'é中😀', 'x'.repeat(70_000)],
  'nested objects and arrays': { a: [1, { b: ['c', [null, 2.5]] }], 'key with space': {}, empty: [] },
  bytes: new Uint8Array([0, 1, 2, 255]),
  'bytes in an object': { registers: new Uint8Array(300).fill(7), n: 3 },
};

describe('encode / decode', () => {
  for (const [name, value] of Object.entries(samples)) {
    it(`round-trips ${name}`, () => {
      expect(plain(decode(encode(value)))).toEqual(plain(value));
    });
  }

  it('gives back byte arrays as Uint8Array', () => {
    expect(decode(encode(new Uint8Array([1, 2])))).toBeInstanceOf(Uint8Array);
  });

  it('copies decoded byte arrays, so reusing the input buffer cannot change them', () => {
    const input = Uint8Array.from(encode({ sketch: new Uint8Array([9, 9, 9]) }));
    const decoded = decode<{ sketch: Uint8Array }>(input);
    input.fill(0);
    expect([...decoded.sketch]).toEqual([9, 9, 9]);
  });

  it('keeps earlier results intact when it encodes more', () => {
    const first = encode({ hello: 'world' });
    const before = hex(first);
    for (let i = 0; i < 5000; i++) encode({ filler: 'x'.repeat(i % 200) });
    expect(hex(first)).toBe(before);
  });

  it('writes standard MessagePack that a fresh reader with default options reads', () => {
    const reader = new Unpackr();
    for (const value of Object.values(samples)) expect(plain(reader.unpack(encode(value)))).toEqual(plain(value));
  });

  it('writes maps as MessagePack maps and bytes as bin, with no extension types', () => {
    // msgpackr writes object headers as map 16 (size reserved before the fields are counted).
    expect(['81a16101', 'de0001a16101']).toContain(hex(encode({ a: 1 })));
    expect(hex(encode(null))).toBe('c0');
    expect(hex(encode(new Uint8Array([1, 2, 3])))).toBe('c403010203');
    expect(hex(encode([1, 'a']))).toBe('9201a161');
    // An integer beyond 32 bits travels as a standard number type (uint 64 or float 64).
    expect(['cf', 'cb']).toContain(hex(encode(2 ** 40)).slice(0, 2));
  });

  it('rejects truncated data and trailing bytes', () => {
    expect(() => decode(new Uint8Array([0x92, 0x01]))).toThrow();
    expect(() => decode(new Uint8Array([0xc4, 0x05, 1]))).toThrow();
    expect(() => decode(new Uint8Array([0x01, 0x02]))).toThrow();
  });
});

describe('MSGPACK_OPTIONS', () => {
  it('makes another msgpackr instance encode exactly like the codec', () => {
    const packr = new Packr({ ...MSGPACK_OPTIONS });
    for (const value of Object.values(samples)) expect(hex(packr.pack(value))).toBe(hex(encode(value)));
  });
});
