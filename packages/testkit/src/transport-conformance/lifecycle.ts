/** Conformance: connection state, close draining what was published, and use after close. */
import type { Channel } from '@mrm/core';
import { ErrorCode } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { bytes, type ConformanceContext, expectMrmError, listen, text, unique } from './helpers.js';

/** Registers the lifecycle tests. */
export function lifecycleConformance(ctx: ConformanceContext): void {
  describe('lifecycle', () => {
    it("is 'connected' once connected", async () => {
      expect((await ctx.connect()).state).toBe('connected');
    });

    it('delivers everything published before close', async () => {
      const [sender, receiver] = [await ctx.connect(), await ctx.connect()];
      const channel: Channel = { kind: 'frames', workerId: unique('w') };
      const inbox = await listen(receiver, channel);
      for (let i = 0; i < 100; i++) sender.publish(channel, bytes(String(i)));
      await sender.close();
      expect((await inbox.until(100)).map(text)).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    });

    it("is 'closed' after close and rejects every further use with E_TRANSPORT", async () => {
      const transport = await ctx.connect();
      const channel: Channel = { kind: 'worker', workerId: unique('w') };
      const kv = await transport.bucket(unique('jobs'));
      await transport.close();
      await transport.close(); // closing twice is harmless
      expect(transport.state).toBe('closed');
      await expectMrmError(() => transport.publish(channel, bytes('x')), ErrorCode.Transport);
      await expectMrmError(() => transport.subscribe(channel, () => {}), ErrorCode.Transport);
      await expectMrmError(() => transport.request(channel, bytes('x'), { timeoutMs: 1000 }), ErrorCode.Transport);
      await expectMrmError(() => transport.flush(), ErrorCode.Transport);
      await expectMrmError(() => transport.blobs.put(unique('b'), bytes('x')), ErrorCode.Transport);
      await expectMrmError(() => transport.blobs.get(unique('b')), ErrorCode.Transport);
      await expectMrmError(() => transport.bucket(unique('jobs')), ErrorCode.Transport);
      await expectMrmError(() => kv.put('k', bytes('x')), ErrorCode.Transport);
      await expectMrmError(() => kv.get('k'), ErrorCode.Transport);
    });

    it('rejects a request still waiting for its reply with E_TRANSPORT when closed', async () => {
      const [client, server] = [await ctx.connect(), await ctx.connect()];
      const channel: Channel = { kind: 'query', workerId: unique('silent') };
      server.subscribe(channel, () => {});
      await server.flush();
      const pending = client.request(channel, bytes('?'), { timeoutMs: 30_000 });
      const outcome = expectMrmError(() => pending, ErrorCode.Transport);
      await client.flush();
      await client.close();
      await outcome;
    });

    it('stops delivering to the subscriptions of a closed transport', async () => {
      const [sender, receiver, witness] = [await ctx.connect(), await ctx.connect(), await ctx.connect()];
      const channel: Channel = { kind: 'broadcast' };
      const closed = await listen(receiver, channel);
      const open = await listen(witness, channel);
      await receiver.close();
      sender.publish(channel, bytes('after close'));
      expect((await open.until(1)).map(text)).toEqual(['after close']);
      expect(closed.payloads).toEqual([]);
    });
  });
}
