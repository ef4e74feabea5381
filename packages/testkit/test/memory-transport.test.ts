import type { Clock, LogFields, Logger } from '@mrm/core';
import { ErrorCode, systemClock } from '@mrm/core';
import { MemoryBus, MemoryTransport } from '@mrm/runtime';
import { transportConformance } from '@mrm/testkit/conformance';
import { describe, expect, it } from 'vitest';

transportConformance('MemoryTransport', async () => {
  const bus = MemoryBus.create();
  return { connect: async () => bus.connect(), cleanup: async () => {} };
});

const encoder = new TextEncoder();

/** A clock the test moves by hand. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 1_000_000;
  return {
    ...systemClock,
    nowMs: () => now,
    advance: (ms) => {
      now += ms;
    },
  };
}

describe('MemoryTransport', () => {
  it('uses maxPayloadBytes from its options', async () => {
    const transport = MemoryTransport.create({ maxPayloadBytes: 16 });
    expect(transport.maxPayloadBytes).toBe(16);
    transport.publish({ kind: 'broadcast' }, new Uint8Array(16));
    expect(() => transport.publish({ kind: 'broadcast' }, new Uint8Array(17))).toThrow(/17 bytes, over the 16-byte/);
    const kv = await transport.bucket('jobs');
    await expect(kv.put('k', new Uint8Array(17))).rejects.toMatchObject({ code: ErrorCode.Transport });
    await transport.close();
  });

  it('rejects a maxPayloadBytes that is not a positive integer', () => {
    expect(() => MemoryBus.create({ maxPayloadBytes: 0 })).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    expect(() => MemoryBus.create({ maxPayloadBytes: 1.5 })).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
  });

  it('keeps separate buses apart', async () => {
    const [a, b] = [MemoryTransport.create(), MemoryTransport.create()];
    await a.blobs.put('bundle', encoder.encode('x'));
    expect(await b.blobs.has('bundle')).toBe(false);
    await Promise.all([a.close(), b.close()]);
  });

  it('expires kv entries of a bucket with ttlMs once the clock passed it', async () => {
    const clock = manualClock();
    const bus = MemoryBus.create({ clock });
    const kv = await bus.connect().bucket('leases', { ttlMs: 1000 });
    await kv.put('partition.1', encoder.encode('w1'));
    clock.advance(600);
    await kv.put('partition.2', encoder.encode('w2'));
    clock.advance(399);
    expect((await kv.keys()).sort()).toEqual(['partition.1', 'partition.2']);
    clock.advance(1);
    expect(await kv.get('partition.1')).toBeUndefined();
    expect(await kv.keys()).toEqual(['partition.2']);
    await kv.create('partition.1', encoder.encode('w3')); // an expired lease can be taken again
  });

  it('keeps the ttl of the first opener of a bucket', async () => {
    const clock = manualClock();
    const bus = MemoryBus.create({ clock });
    await bus.connect().bucket('leases', { ttlMs: 1000 });
    const kv = await bus.connect().bucket('leases');
    await kv.put('k', encoder.encode('v'));
    clock.advance(1000);
    expect(await kv.get('k')).toBeUndefined();
  });

  it('reports an error thrown by a handler to the logger', async () => {
    const errors: { message: string; fields?: LogFields }[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: (message, fields) => errors.push({ message, fields }),
      child: () => logger,
    };
    const transport = MemoryTransport.create({ logger });
    const failure = new Error('handler failure');
    const delivered = new Promise<void>((resolve) => {
      transport.subscribe({ kind: 'worker', workerId: 'w1' }, () => {
        resolve();
        throw failure;
      });
    });
    transport.publish({ kind: 'worker', workerId: 'w1' }, encoder.encode('x'));
    await delivered;
    await transport.flush();
    expect(errors).toEqual([
      { message: 'transport message handler threw', fields: { channel: "worker 'w1'", error: failure } },
    ]);
    await transport.close();
  });

  it('delivers asynchronously: never inside publish', async () => {
    const transport = MemoryTransport.create();
    const seen: string[] = [];
    transport.subscribe({ kind: 'coordinator' }, () => seen.push('delivered'));
    transport.publish({ kind: 'coordinator' }, encoder.encode('x'));
    seen.push('published');
    await transport.flush();
    expect(seen).toEqual(['published', 'delivered']);
    await transport.close();
  });

  it('rejects an empty channel id with E_TRANSPORT', () => {
    const transport = MemoryTransport.create();
    expect(() => transport.publish({ kind: 'frames', workerId: '' }, new Uint8Array(1))).toThrow(
      expect.objectContaining({ code: ErrorCode.Transport }),
    );
  });
});
