/** Conformance: request/reply, timeouts, no responders and abort signals. */
import type { Channel } from '@mrm/core';
import { ErrorCode } from '@mrm/core';
import { describe, expect, it } from 'vitest';
import { bytes, type ConformanceContext, expectMrmError, Inbox, text, unique } from './helpers.js';

/** Registers the request/reply tests. */
export function requestConformance(ctx: ConformanceContext): void {
  describe('request/reply', () => {
    it('resolves with the reply of the subscriber that answered', async () => {
      const [client, server] = [await ctx.connect(), await ctx.connect()];
      const channel: Channel = { kind: 'query', workerId: unique('merge') };
      server.subscribe(channel, (payload, reply) => reply?.(bytes(`echo:${text(payload)}`)));
      await server.flush();
      const answers = await Promise.all(
        ['a', 'b', 'c'].map((q) => client.request(channel, bytes(q), { timeoutMs: 5000 })),
      );
      expect(answers.map(text)).toEqual(['echo:a', 'echo:b', 'echo:c']);
    });

    it('lets a responder answer later, from another turn of the event loop', async () => {
      const [client, server] = [await ctx.connect(), await ctx.connect()];
      const channel: Channel = { kind: 'api' };
      server.subscribe(channel, (payload, reply) => {
        setTimeout(() => reply?.(payload.slice().reverse()), 5);
      });
      await server.flush();
      const answer = await client.request(channel, bytes('abc'), { timeoutMs: 5000 });
      expect(text(answer)).toBe('cba');
    });

    it('rejects with E_TIMEOUT after timeoutMs when the subscriber never answers', async () => {
      const [client, server] = [await ctx.connect(), await ctx.connect()];
      const channel: Channel = { kind: 'query', workerId: unique('silent') };
      const asked = new Inbox();
      server.subscribe(channel, asked.handler);
      await server.flush();
      const started = performance.now();
      await expectMrmError(() => client.request(channel, bytes('?'), { timeoutMs: 100 }), ErrorCode.Timeout);
      expect(performance.now() - started).toBeGreaterThanOrEqual(90);
      expect(asked.payloads.map(text)).toEqual(['?']);
      expect(asked.replies[0]).toBeTypeOf('function');
    });

    it('rejects with E_TIMEOUT when nobody subscribes to the channel', async () => {
      const client = await ctx.connect();
      const channel: Channel = { kind: 'query', workerId: unique('nobody') };
      await expectMrmError(() => client.request(channel, bytes('?'), { timeoutMs: 2000 }), ErrorCode.Timeout);
    });

    it("rejects with the signal's reason when aborted while waiting", async () => {
      const [client, server] = [await ctx.connect(), await ctx.connect()];
      const channel: Channel = { kind: 'api' };
      const controller = new AbortController();
      const reason = new Error('caller gave up');
      server.subscribe(channel, () => controller.abort(reason));
      await server.flush();
      await expect(client.request(channel, bytes('?'), { timeoutMs: 5000, signal: controller.signal })).rejects.toBe(
        reason,
      );
    });

    it("rejects with the signal's reason without sending when the signal is already aborted", async () => {
      const [client, server] = [await ctx.connect(), await ctx.connect()];
      const channel: Channel = { kind: 'query', workerId: unique('w') };
      const asked = new Inbox();
      server.subscribe(channel, (payload, reply) => {
        asked.handler(payload, reply);
        reply?.(bytes('answer'));
      });
      await server.flush();
      const reason = new Error('already aborted');
      const signal = AbortSignal.abort(reason);
      await expect(client.request(channel, bytes('skipped'), { timeoutMs: 5000, signal })).rejects.toBe(reason);
      // A later request goes through, and is the only one the server saw.
      expect(text(await client.request(channel, bytes('sent'), { timeoutMs: 5000 }))).toBe('answer');
      expect(asked.payloads.map(text)).toEqual(['sent']);
    });

    it('copies the reply: the responder may reuse its buffer', async () => {
      const [client, server] = [await ctx.connect(), await ctx.connect()];
      const channel: Channel = { kind: 'query', workerId: unique('w') };
      server.subscribe(channel, (_payload, reply) => {
        const buffer = bytes('first');
        reply?.(buffer);
        buffer.fill(0x58);
      });
      await server.flush();
      expect(text(await client.request(channel, bytes('?'), { timeoutMs: 5000 }))).toBe('first');
    });
  });
}
