import {
  decodeMessage,
  encode,
  encodeMessage,
  encodePackedFrame,
  type FrameMessage,
  framePairs,
  type MessageBody,
  PROTOCOL_VERSION,
  toWireError,
} from '@mrm/core';
import { describe, expect, it } from 'vitest';

/** Byte arrays as number lists: decoded bins are Buffers, the originals Uint8Arrays. */
function bytesAsArrays(value: unknown): unknown {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(bytesAsArrays);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bytesAsArrays(v)]));
  }
  return value;
}

const protocolError = expect.objectContaining({ name: 'MrmError', code: 'E_PROTOCOL' });

describe('encodeMessage / decodeMessage', () => {
  const messages: MessageBody[] = [
    { type: 'credit', from: 'map-1', bytes: 1 << 20 },
    {
      type: 'frame',
      jobId: 'j1',
      run: 2,
      attempt: 1,
      seq: 7,
      partition: 3,
      from: 'map-1',
      pairs: ['"a"', 1, '["b",2]', { '~mrm': 'count', n: 5 }, '"c"', new Uint8Array([1, 2, 3])],
    },
    {
      type: 'task-failed',
      jobId: 'j1',
      run: 2,
      attempt: 0,
      taskId: 't9',
      error: toWireError(new Error('boom')),
      from: 'map-2',
    },
    {
      type: 'commit-version',
      jobId: 'j1',
      jobName: 'wc',
      run: 1,
      last: true,
      info: {
        version: 2 ** 40,
        createdAtMs: 1_700_000_000_123,
        base: 0,
        batches: 3,
        records: 1000,
        keys: 10,
        label: 'v',
      },
    },
  ];

  for (const message of messages) {
    it(`round-trips a ${message.type} message and stamps the protocol version`, () => {
      const back = decodeMessage(encodeMessage(message));
      expect(back.v).toBe(PROTOCOL_VERSION);
      const { v: _v, ...body } = back;
      expect(bytesAsArrays(body)).toEqual(bytesAsArrays(message));
    });
  }

  it('rejects bytes that are not MessagePack with E_PROTOCOL', () => {
    expect(() => decodeMessage(new Uint8Array([0xc1, 0xc1]))).toThrow(protocolError);
    expect(() => decodeMessage(new Uint8Array([]))).toThrow(protocolError);
    expect(() => decodeMessage(new TextEncoder().encode('{"type":"credit"}'))).toThrow(protocolError);
  });

  it('rejects values that are not messages with E_PROTOCOL', () => {
    for (const value of [42, 'credit', null, [1, 2], { from: 'x' }, { type: 7, v: PROTOCOL_VERSION }]) {
      expect(() => decodeMessage(encode(value)), JSON.stringify(value)).toThrow(protocolError);
    }
  });

  it('rejects another protocol version, or none, with E_PROTOCOL', () => {
    for (const v of [PROTOCOL_VERSION + 1, 0, '1', undefined]) {
      expect(() => decodeMessage(encode({ type: 'credit', v, from: 'x', bytes: 1 }))).toThrow(protocolError);
    }
  });
});

describe('encodePackedFrame', () => {
  it('encodes, in one buffer of its own, the frame encodeMessage makes of the packed list', () => {
    const header = { jobId: 'job.1', run: 2, seq: 3, partition: 1, attempt: 1, from: 'map-0' };
    for (const pairs of [[], ['"a"', 1, '"b"', 'x'.repeat(70_000)], ['"k"', { n: [1, 2] }, '"ü"', null]]) {
      const frame = encodePackedFrame(header, pairs);
      expect([frame.byteOffset, frame.byteLength]).toEqual([0, frame.buffer.byteLength]);
      const m = decodeMessage(frame) as FrameMessage;
      const usual = decodeMessage(
        new Uint8Array(encodeMessage({ type: 'frame', ...header, packed: encode(pairs), count: pairs.length / 2 })),
      );
      expect(m).toEqual(usual);
      expect(framePairs(m)).toEqual(pairs);
    }
  });
});
