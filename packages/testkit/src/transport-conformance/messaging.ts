/** Conformance: publish/subscribe, ordering, isolation, queue groups, payload limits and copies. */
import type { Channel, MessageHandler } from '@mrm/core';
import { ErrorCode } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import {
  bytes,
  type ConformanceContext,
  expectMrmError,
  expectSameBytes,
  Inbox,
  listen,
  randomPayload,
  text,
  unique,
} from './helpers.js';

/** One channel of every kind, with fresh ids so tests never see each other's messages. */
function everyKind(): Channel[] {
  const id = unique('w');
  return [
    { kind: 'coordinator' },
    { kind: 'api' },
    { kind: 'broadcast' },
    { kind: 'worker', workerId: id },
    { kind: 'frames', workerId: id },
    { kind: 'credits', workerId: id },
    { kind: 'query', workerId: id },
    { kind: 'events', jobId: unique('job') },
  ];
}

/** Registers the messaging tests. */
export function messagingConformance(ctx: ConformanceContext): void {
  describe('publish/subscribe', () => {
    it.each(everyKind().map((channel) => [channel.kind, channel] as const))(
      'delivers a payload published to a %s channel to its subscriber, without a reply function',
      async (_kind, channel) => {
        const [sender, receiver] = [await ctx.connect(), await ctx.connect()];
        const inbox = await listen(receiver, channel);
        const payload = randomPayload(1000);
        sender.publish(channel, payload);
        expectSameBytes((await inbox.until(1))[0], payload);
        expect(inbox.replies[0]).toBeUndefined();
      },
    );

    it('delivers to every plain subscriber of a channel, also on the publishing transport', async () => {
      const [a, b] = [await ctx.connect(), await ctx.connect()];
      const channel: Channel = { kind: 'broadcast' };
      const inboxes = [await listen(a, channel), await listen(b, channel), await listen(b, channel)];
      a.publish(channel, bytes('to all'));
      for (const inbox of inboxes) expect((await inbox.until(1)).map(text)).toEqual(['to all']);
    });

    it('delivers 10 000 messages from one publisher in publish order', async () => {
      const [sender, receiver] = [await ctx.connect(), await ctx.connect()];
      const channel: Channel = { kind: 'frames', workerId: unique('merge') };
      const inbox = await listen(receiver, channel);
      const count = 10_000;
      for (let i = 0; i < count; i++) {
        const payload = new Uint8Array(8);
        new DataView(payload.buffer).setUint32(0, i);
        sender.publish(channel, payload);
      }
      await sender.flush();
      const received = await inbox.until(count);
      const order = received.map((p) => new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(0));
      expect(order).toEqual(Array.from({ length: count }, (_, i) => i));
    });

    it('keeps channels apart, including ids that look like wildcards or separators', async () => {
      const [sender, receiver] = [await ctx.connect(), await ctx.connect()];
      const base = unique('w');
      const ids = [base, `${base}.b`, `${base}*`, `${base}>`, `${base} b`, `${base}é`, `${base}/x`, `${base}=2e`];
      const channels: Channel[] = ids.flatMap((workerId) => [
        { kind: 'frames', workerId },
        { kind: 'credits', workerId },
        { kind: 'worker', workerId },
      ]);
      const name = (c: Channel): string => `${c.kind}:${'workerId' in c ? c.workerId : ''}`;
      const inboxes = new Map<string, Inbox>();
      for (const channel of channels) inboxes.set(name(channel), await listen(receiver, channel));
      // Two messages each, the second as an end marker: anything misrouted arrives before it.
      for (const channel of channels) sender.publish(channel, bytes(name(channel)));
      for (const channel of channels) sender.publish(channel, bytes('end'));
      for (const channel of channels) {
        const inbox = inboxes.get(name(channel));
        expect((await inbox?.until(2))?.map(text), name(channel)).toEqual([name(channel), 'end']);
      }
    });

    it('stops delivering to a subscription once it is unsubscribed, and only to that one', async () => {
      const [sender, receiver] = [await ctx.connect(), await ctx.connect()];
      const channel: Channel = { kind: 'worker', workerId: unique('w') };
      const dropped = new Inbox();
      const subscription = receiver.subscribe(channel, dropped.handler);
      const kept = await listen(receiver, channel);
      subscription.unsubscribe();
      await receiver.flush();
      for (let i = 0; i < 5; i++) sender.publish(channel, bytes(`m${i}`));
      expect((await kept.until(5)).map(text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      expect(dropped.payloads).toEqual([]);
    });

    it('keeps delivering after a handler throws', async () => {
      const [sender, receiver] = [await ctx.connect(), await ctx.connect()];
      const channel: Channel = { kind: 'coordinator' };
      const inbox = new Inbox();
      receiver.subscribe(channel, (payload, reply) => {
        inbox.handler(payload, reply);
        if (text(payload) === 'boom') throw new Error('handler failure (expected by the test)');
      });
      await receiver.flush();
      sender.publish(channel, bytes('boom'));
      sender.publish(channel, bytes('after'));
      expect((await inbox.until(2)).map(text)).toEqual(['boom', 'after']);
    });
  });

  describe('queue groups', () => {
    it('gives each message to exactly one member of a group, and to every group and plain subscriber', async () => {
      const sender = await ctx.connect();
      const channel: Channel = { kind: 'api' };
      const group = unique('g');
      // Each member records its own share and counts into `all`, which the test waits on.
      const all = new Inbox();
      const members: Inbox[] = [];
      for (let i = 0; i < 3; i++) {
        const member = new Inbox();
        const transport = await ctx.connect();
        const both: MessageHandler = (payload, reply) => {
          member.handler(payload, reply);
          all.handler(payload, reply);
        };
        transport.subscribe(channel, both, { queue: group });
        await transport.flush();
        members.push(member);
      }
      const otherGroup = await listen(await ctx.connect(), channel, unique('other'));
      const plain = await listen(await ctx.connect(), channel);
      const count = 60;
      for (let i = 0; i < count; i++) sender.publish(channel, bytes(String(i)));
      const expected = Array.from({ length: count }, (_, i) => String(i));
      expect((await plain.until(count)).map(text)).toEqual(expected);
      expect((await otherGroup.until(count)).map(text)).toEqual(expected);
      await all.until(count);
      const union = members.flatMap((m) => m.texts).sort((x, y) => Number(x) - Number(y));
      expect(union).toEqual(expected);
    });
  });

  describe('payload limits and copies', () => {
    it('reports a positive integer maxPayloadBytes', async () => {
      const transport = await ctx.connect();
      expect(Number.isInteger(transport.maxPayloadBytes)).toBe(true);
      expect(transport.maxPayloadBytes).toBeGreaterThan(64 * 1024);
    });

    it('delivers a payload of exactly maxPayloadBytes', async () => {
      const [sender, receiver] = [await ctx.connect(), await ctx.connect()];
      const channel: Channel = { kind: 'frames', workerId: unique('w') };
      const inbox = await listen(receiver, channel);
      const payload = randomPayload(sender.maxPayloadBytes);
      sender.publish(channel, payload);
      expectSameBytes((await inbox.until(1))[0], payload);
    });

    it('throws E_TRANSPORT at publish and request when a payload exceeds maxPayloadBytes', async () => {
      const transport = await ctx.connect();
      const channel: Channel = { kind: 'frames', workerId: unique('w') };
      const oversized = new Uint8Array(transport.maxPayloadBytes + 1);
      expect(() => transport.publish(channel, oversized)).toThrow(
        expect.objectContaining({ code: ErrorCode.Transport }),
      );
      await expectMrmError(() => transport.request(channel, oversized, { timeoutMs: 1000 }), ErrorCode.Transport);
      // The connection is still usable afterwards.
      const inbox = await listen(transport, channel);
      transport.publish(channel, bytes('fine'));
      expect((await inbox.until(1)).map(text)).toEqual(['fine']);
    });

    it('delivers the bytes as they were at publish, whatever the publisher does afterwards', async () => {
      const [sender, receiver] = [await ctx.connect(), await ctx.connect()];
      const channel: Channel = { kind: 'frames', workerId: unique('w') };
      const inbox = await listen(receiver, channel);
      const payload = bytes('original');
      sender.publish(channel, payload);
      payload.fill(0x58); // 'X'
      expect((await inbox.until(1)).map(text)).toEqual(['original']);
    });

    it('gives each subscriber its own bytes', async () => {
      const [sender, receiver] = [await ctx.connect(), await ctx.connect()];
      const channel: Channel = { kind: 'broadcast' };
      const seen: string[] = [];
      const done = new Inbox();
      receiver.subscribe(channel, (payload) => {
        seen.push(text(payload));
        payload.fill(0x58);
        done.handler(payload, undefined);
      });
      receiver.subscribe(channel, (payload) => {
        seen.push(text(payload));
        payload.fill(0x59);
        done.handler(payload, undefined);
      });
      await receiver.flush();
      sender.publish(channel, bytes('shared'));
      await done.until(2);
      expect(seen).toEqual(['shared', 'shared']);
    });
  });
}
