import { ErrorCode } from '@mrm/core';
import { type NatsServerHandle, startNatsServer } from '@mrm/testkit';
import { NatsTransport } from '@mrm/transport-nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

describe('NatsStreamLog', () => {
  let server: NatsServerHandle;
  let transport: NatsTransport;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
    transport = await NatsTransport.connect({ servers: server.url });
  });
  afterAll(async () => {
    await transport?.close();
    await server?.stop();
  });

  it('appends records in order and reads any sequence range back', async () => {
    const log = transport.streams;
    await log.ensure('logs.web');
    await log.ensure('logs.web'); // idempotent
    expect(await log.info('logs.web')).toEqual({ firstSeq: 0, lastSeq: 0 });
    const lines = Array.from({ length: 2500 }, (_, i) => `line ${i + 1}`);
    expect(
      await log.append(
        'logs.web',
        lines.map((l) => encoder.encode(l)),
      ),
    ).toBe(2500);
    expect(await log.info('logs.web')).toEqual({ firstSeq: 1, lastSeq: 2500 });
    const read = async (from: number, to: number) => {
      const out: string[] = [];
      for await (const r of log.read('logs.web', from, to)) out.push(`${r.seq}:${decoder.decode(r.data)}`);
      return out;
    };
    expect(await read(1, 3)).toEqual(['1:line 1', '2:line 2', '3:line 3']);
    const middle = await read(999, 2201);
    expect(middle).toHaveLength(1203);
    expect(middle[0]).toBe('999:line 999');
    expect(middle.at(-1)).toBe('2201:line 2201');
    expect(await read(5, 4)).toEqual([]);
  });

  it('says which record is missing when a range reaches past the end', async () => {
    const log = transport.streams;
    await log.ensure('short');
    await log.append('short', [encoder.encode('a')]);
    const records: number[] = [];
    await expect(
      (async () => {
        for await (const r of log.read('short', 1, 2)) records.push(r.seq);
      })(),
    ).rejects.toThrow("stream 'short' does not hold records 1..2 (it holds 1..1;");
    expect(records).toEqual([]);
  });

  it('rejects a subject that is not a plain dotted name, and keeps different subjects apart', async () => {
    await expect(transport.streams.ensure('a b')).rejects.toMatchObject({ code: ErrorCode.BadOption });
    await expect(transport.streams.ensure('mrm.x')).rejects.toMatchObject({ code: ErrorCode.BadOption });
    await transport.streams.ensure('a.b');
    await transport.streams.ensure('a_b');
    await transport.streams.append('a.b', [encoder.encode('x')]);
    expect((await transport.streams.info('a_b'))?.lastSeq).toBe(0);
    expect((await transport.streams.info('a.b'))?.lastSeq).toBe(1);
    expect(await transport.streams.info('never.made')).toBeUndefined();
  });
});
