import type { Channel, TransportState } from '@mrm/core';
import { ErrorCode } from '@mrm/core';
import { type NatsServerHandle, startNatsServer } from '@mrm/testkit';
import { transportConformance } from '@mrm/testkit/conformance';
import { NatsTransport } from '@mrm/transport-nats';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

transportConformance('NatsTransport', async () => {
  const server = await startNatsServer({ jetstream: true });
  return {
    connect: () => NatsTransport.connect({ servers: server.url, name: 'conformance' }),
    cleanup: () => server.stop(),
  };
});

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Resolves when `transport` reaches `state` (at once if it is there already). */
function reach(transport: NatsTransport, state: TransportState): Promise<void> {
  if (transport.state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = transport.onStateChange((current) => {
      if (current === state) {
        stop();
        resolve();
      }
    });
  });
}

describe('NatsTransport.connect', () => {
  it('rejects with one clear E_TRANSPORT line when no server listens', async () => {
    const attempt = NatsTransport.connect({ servers: 'nats://127.0.0.1:4999', connectTimeoutMs: 2000 });
    await expect(attempt).rejects.toMatchObject({
      code: ErrorCode.Transport,
      message: 'cannot reach NATS at nats://127.0.0.1:4999: connection refused',
    });
  });

  it('rejects bad options with E_BAD_OPTION before connecting', async () => {
    await expect(NatsTransport.connect({ servers: ' ' })).rejects.toMatchObject({ code: ErrorCode.BadOption });
    await expect(NatsTransport.connect({ servers: 'nats://127.0.0.1:4999', prefix: 'a.b' })).rejects.toMatchObject({
      code: ErrorCode.BadOption,
    });
  });
});

describe('NatsTransport across a server restart', () => {
  let server: NatsServerHandle;
  const transports: NatsTransport[] = [];
  const open = async (): Promise<NatsTransport> => {
    const transport = await NatsTransport.connect({ servers: server.url, reconnectWaitMs: 100 });
    transports.push(transport);
    return transport;
  };

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await server.stop();
  });

  it('keeps subscriptions, reports reconnecting, and keeps kv entries and blobs', async () => {
    const [sender, receiver] = [await open(), await open()];
    const channel: Channel = { kind: 'frames', workerId: 'merge-1' };
    const received: string[] = [];
    let arrived: () => void = () => {};
    receiver.subscribe(channel, (payload) => {
      received.push(decoder.decode(payload));
      arrived();
    });
    await receiver.flush();
    const kv = await sender.bucket('jobs');
    const revision = await kv.put('job.1', encoder.encode('done'));
    const blob = new Uint8Array(300_000).map((_, i) => i % 251);
    await sender.blobs.put('bundle/abc', blob);

    const states: TransportState[] = [];
    receiver.onStateChange((state) => states.push(state));
    const dropped = reach(receiver, 'reconnecting');
    const pidBefore = server.pid;
    await server.restart();
    expect(server.pid).not.toBe(pidBefore);
    await dropped;
    await Promise.all([reach(receiver, 'connected'), reach(sender, 'connected')]);
    expect(states).toEqual(['reconnecting', 'connected']);

    await receiver.flush(); // the re-sent subscription is known to the server
    const delivered = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    sender.publish(channel, encoder.encode('after restart'));
    await delivered;
    expect(received).toEqual(['after restart']);

    const entry = await (await receiver.bucket('jobs')).get('job.1');
    expect(entry && [decoder.decode(entry.value), entry.revision]).toEqual(['done', revision]);
    expect(Buffer.from((await receiver.blobs.get('bundle/abc')) ?? []).equals(Buffer.from(blob))).toBe(true);
  });
});

describe('NatsTransport while the server is down', () => {
  it("closes at once from 'reconnecting', rejecting waiting requests with E_TRANSPORT", async () => {
    const server = await startNatsServer();
    try {
      const transport = await NatsTransport.connect({ servers: server.url, reconnectWaitMs: 100 });
      const down = reach(transport, 'reconnecting');
      await server.stop();
      await down;
      const pending = transport.request({ kind: 'api' }, encoder.encode('?'), { timeoutMs: 30_000 });
      const outcome = expect(pending).rejects.toMatchObject({ code: ErrorCode.Transport });
      await transport.close();
      await outcome;
      expect(transport.state).toBe('closed');
    } finally {
      await server.stop();
    }
  });
});

describe('NatsTransport on the push path', () => {
  it('delivers handed-over payloads intact, and a transient handler reads each one whole during its call', async () => {
    const server = await startNatsServer();
    const [sender, receiver] = await Promise.all([
      NatsTransport.connect({ servers: server.url }),
      NatsTransport.connect({ servers: server.url }),
    ]);
    try {
      const channel: Channel = { kind: 'frames', workerId: 'merge-0' };
      const sums: number[] = [];
      receiver.subscribe(
        channel,
        (payload) => {
          // Read in place (a view into the client's buffer): first byte, length and a checksum.
          let sum = payload.byteLength;
          for (let i = 0; i < payload.byteLength; i += 97) sum = (sum * 31 + (payload[i] as number)) >>> 0;
          sums.push(sum);
        },
        { transient: true },
      );
      await receiver.flush();
      const expected: number[] = [];
      // Payloads of 300 KB span several socket reads; each is a buffer of its own, handed over.
      for (let n = 0; n < 12; n++) {
        const payload = new Uint8Array(300_000 + n);
        for (let i = 0; i < payload.byteLength; i++) payload[i] = (i * 7 + n) & 0xff;
        let sum = payload.byteLength;
        for (let i = 0; i < payload.byteLength; i += 97) sum = (sum * 31 + (payload[i] as number)) >>> 0;
        expected.push(sum);
        sender.publish(channel, payload, { handOver: true });
      }
      await sender.flush();
      for (let i = 0; i < 200 && sums.length < expected.length; i++) await new Promise((r) => setTimeout(r, 10));
      expect(sums).toEqual(expected);
    } finally {
      await Promise.all([sender.close(), receiver.close()]);
      await server.stop();
    }
  });
});

describe('NatsTransport on a server without JetStream', () => {
  it('still moves messages, and rejects kv and blobs with E_TRANSPORT naming JetStream', async () => {
    const server = await startNatsServer();
    const transport = await NatsTransport.connect({ servers: server.url });
    try {
      transport.subscribe({ kind: 'api' }, (payload, reply) => reply?.(payload));
      await transport.flush();
      expect(decoder.decode(await transport.request({ kind: 'api' }, encoder.encode('ok'), { timeoutMs: 2000 }))).toBe(
        'ok',
      );
      await expect(transport.bucket('jobs')).rejects.toMatchObject({
        code: ErrorCode.Transport,
        message: expect.stringMatching(/^cannot open kv bucket 'jobs'.*jetstream is not enabled/),
      });
      await expect(transport.blobs.put('bundle', encoder.encode('x'))).rejects.toMatchObject({
        code: ErrorCode.Transport,
        message: "cannot put blob 'bundle': jetstream is not enabled",
      });
    } finally {
      await transport.close();
      await server.stop();
    }
  });
});

describe('NatsTransport buckets', () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(() => server.stop());

  it('removes kv entries once the bucket ttlMs passed', async () => {
    const transport = await NatsTransport.connect({ servers: server.url });
    try {
      const kv = await transport.bucket('leases', { ttlMs: 300 });
      await kv.put('partition.1', encoder.encode('w1'));
      expect(await kv.get('partition.1')).toBeDefined();
      await vi.waitFor(async () => expect(await kv.get('partition.1')).toBeUndefined(), {
        timeout: 5000,
        interval: 50,
      });
      await kv.create('partition.1', encoder.encode('w2')); // an expired lease can be taken again
    } finally {
      await transport.close();
    }
  });

  it('rejects a request nobody answers and one answered too late with E_TIMEOUT, making no stack per request (decisions/0053)', async () => {
    const transport = await NatsTransport.connect({ servers: server.url });
    try {
      transport.subscribe({ kind: 'api' }, () => {});
      await transport.flush();
      const late = await transport.request({ kind: 'api' }, encoder.encode('?'), { timeoutMs: 50 }).catch((e) => e);
      expect(late).toMatchObject({ code: ErrorCode.Timeout, message: 'request to api timed out after 50 ms' });
      const nobody = await transport
        .request({ kind: 'coordinator' }, encoder.encode('?'), { timeoutMs: 2000 })
        .catch((e) => e);
      expect(nobody).toMatchObject({ code: ErrorCode.Timeout, details: { noResponders: true } });
      // The nats.js errors under them were made when the failure came, not at the request (which
      // costs an Error per request): their stacks do not pass through the request call.
      for (const e of [late, nobody])
        expect(String((e as Error).cause && ((e as Error).cause as Error).stack)).not.toMatch(/nats-transport/);
    } finally {
      await transport.close();
    }
  });

  it('keeps installations with different prefixes apart on one server', async () => {
    const [a, b] = await Promise.all([
      NatsTransport.connect({ servers: server.url, prefix: 'alpha' }),
      NatsTransport.connect({ servers: server.url, prefix: 'beta' }),
    ]);
    try {
      await (await a.bucket('jobs')).put('job', encoder.encode('alpha'));
      await a.blobs.put('bundle', encoder.encode('alpha'));
      expect(await (await b.bucket('jobs')).get('job')).toBeUndefined();
      expect(await b.blobs.has('bundle')).toBe(false);
      a.subscribe({ kind: 'api' }, (_payload, reply) => reply?.(encoder.encode('alpha answers')));
      await a.flush();
      expect(decoder.decode(await a.request({ kind: 'api' }, encoder.encode('?'), { timeoutMs: 2000 }))).toBe(
        'alpha answers',
      );
      await expect(b.request({ kind: 'api' }, encoder.encode('?'), { timeoutMs: 2000 })).rejects.toMatchObject({
        code: ErrorCode.Timeout,
        details: { noResponders: true },
      });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
