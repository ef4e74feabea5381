/** Small tools the Transport conformance tests share: collecting messages, bytes, unique names. */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Channel, MessageHandler, Reply, Transport } from '@mrm/core';
import { isMrmError } from '@mrm/core';
import { expect } from 'vitest';

/** What a conformance test gets: a way to open transports that the suite closes after the test. */
export interface ConformanceContext {
  /** A new connected transport (another "process"); closed after the test. */
  connect(): Promise<Transport>;
}

/** Collects the messages of a subscription and lets a test wait for a count (no sleeps). */
export class Inbox {
  readonly payloads: Uint8Array[] = [];
  readonly replies: (Reply | undefined)[] = [];
  #waiters: { count: number; resolve: () => void }[] = [];

  /** The handler to subscribe with. */
  readonly handler: MessageHandler = (payload, reply) => {
    this.payloads.push(payload);
    this.replies.push(reply);
    const ready = this.#waiters.filter((w) => this.payloads.length >= w.count);
    this.#waiters = this.#waiters.filter((w) => this.payloads.length < w.count);
    for (const waiter of ready) waiter.resolve();
  };

  /** The payloads decoded as UTF-8 text. */
  get texts(): string[] {
    return this.payloads.map(text);
  }

  /** Resolves once `count` messages arrived; rejects after `guardMs` with what arrived so far. */
  until(count: number, guardMs = 15_000): Promise<Uint8Array[]> {
    if (this.payloads.length >= count) return Promise.resolve(this.payloads);
    return new Promise((resolve, reject) => {
      const guard = setTimeout(
        () => reject(new Error(`expected ${count} messages, got ${this.payloads.length} within ${guardMs} ms`)),
        guardMs,
      );
      this.#waiters.push({
        count,
        resolve: () => {
          clearTimeout(guard);
          resolve(this.payloads);
        },
      });
    });
  }
}

/**
 * Subscribes a new {@link Inbox} to `channel` and flushes, so that the subscription is known to the
 * server before another connection publishes (on NATS a SUB travels like any other message).
 */
export async function listen(transport: Transport, channel: Channel, queue?: string): Promise<Inbox> {
  const inbox = new Inbox();
  transport.subscribe(channel, inbox.handler, queue === undefined ? undefined : { queue });
  await transport.flush();
  return inbox;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of `value`. */
export function bytes(value: string): Uint8Array {
  return encoder.encode(value);
}

/** UTF-8 text of `payload`. */
export function text(payload: Uint8Array): string {
  return decoder.decode(payload);
}

/** `length` random bytes. */
export function randomPayload(length: number): Uint8Array {
  return new Uint8Array(randomBytes(length));
}

/** A name no other test (or earlier run against the same server) uses. */
export function unique(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** Asserts that `action` throws (or rejects with) an MrmError of `code`. */
export async function expectMrmError(action: () => unknown, code: string): Promise<void> {
  let caught: unknown;
  try {
    await action();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected an MrmError ${code}`).toBeDefined();
  expect(isMrmError(caught), `expected an MrmError ${code}, got ${String(caught)}`).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
}

/** Asserts byte equality (fast for megabytes, where a deep `toEqual` takes seconds). */
export function expectSameBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  expect(actual?.byteLength, 'byte length').toBe(expected.byteLength);
  expect(Buffer.compare(Buffer.from(actual ?? []), Buffer.from(expected)), 'bytes differ').toBe(0);
}
