/**
 * An in-memory {@link Transport} for unit tests: one {@link MemoryBus} stands for the NATS server,
 * and each {@link MemoryBus.connect} returns a transport that behaves like a separate process's
 * connection. It keeps the port's guarantees (checked by the same conformance suite as the NATS
 * adapter): delivery is asynchronous and in publish order, payloads are copied, oversized payloads
 * throw, requests time out, blobs and kv entries live on the bus.
 *
 * ```ts
 * const bus = MemoryBus.create();
 * const coordinator = bus.connect();
 * const worker = bus.connect();
 * coordinator.subscribe({ kind: 'coordinator' }, (payload) => received.push(payload));
 * worker.publish({ kind: 'coordinator' }, encode({ hello: 'w1' }));
 * ```
 */
import type {
  BlobStore,
  BucketOptions,
  Channel,
  Clock,
  KeyValueBucket,
  Logger,
  MessageHandler,
  Reply,
  RequestOptions,
  SubscribeOptions,
  Subscription,
  Transport,
  TransportState,
} from '@mrm/core';
import { ErrorCode, MrmError, silentLogger, systemClock } from '@mrm/core';
import {
  checkName,
  MemoryBlobState,
  MemoryBlobStore,
  type MemoryBucketContext,
  MemoryBucketState,
  MemoryKeyValueBucket,
} from './memory-storage.js';

/** Default payload limit: the same as nats-server's default `max_payload` (1 MiB). */
export const DEFAULT_MEMORY_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** Options of {@link MemoryBus.create} and {@link MemoryTransport.create}. */
export interface MemoryBusOptions {
  /** Largest payload (and kv value) accepted; default {@link DEFAULT_MEMORY_MAX_PAYLOAD_BYTES}. */
  readonly maxPayloadBytes?: number;
  /** Time source of kv bucket expiry (ttlMs); default the system clock. */
  readonly clock?: Clock;
  /** Receives errors thrown by message handlers (they never stop delivery); default silent. */
  readonly logger?: Logger;
}

interface Delivery {
  readonly payload: Uint8Array;
  readonly reply: Reply | undefined;
}

/** One subscription's mailbox: a FIFO drained on a later turn of the event loop, like a socket read. */
class Mailbox implements Subscription {
  #pending: Delivery[] = [];
  #scheduled = false;
  active = true;

  constructor(
    readonly bus: MemoryBus,
    readonly channelKey: string,
    readonly channelName: string,
    readonly queue: string | undefined,
    readonly handler: MessageHandler,
  ) {}

  deliver(delivery: Delivery): void {
    this.#pending.push(delivery);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#drain());
  }

  unsubscribe(): void {
    if (!this.active) return;
    this.active = false;
    this.#pending = [];
    this.bus.remove(this);
  }

  #drain(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    for (const { payload, reply } of batch) {
      if (!this.active) return;
      try {
        this.handler(payload, reply);
      } catch (error) {
        // A throwing handler must not stop delivery to the others, as on a real connection.
        this.bus.logger.error('transport message handler threw', { channel: this.channelName, error });
      }
    }
  }
}

/** The shared "server" of several {@link MemoryTransport}s: subscriptions, blobs and kv buckets. */
export class MemoryBus {
  readonly maxPayloadBytes: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly #channels = new Map<string, Set<Mailbox>>();
  /** Round-robin position per channel and queue group. */
  readonly #groupTurns = new Map<string, number>();
  readonly #blobs = new MemoryBlobState();
  readonly #buckets = new Map<string, MemoryBucketState>();

  private constructor(options: MemoryBusOptions) {
    const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MEMORY_MAX_PAYLOAD_BYTES;
    if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes <= 0) {
      throw new MrmError(ErrorCode.BadOption, `maxPayloadBytes must be a positive integer, got ${maxPayloadBytes}`);
    }
    this.maxPayloadBytes = maxPayloadBytes;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
  }

  /** A new, empty bus. */
  static create(options: MemoryBusOptions = {}): MemoryBus {
    return new MemoryBus(options);
  }

  /** A new transport on this bus: what one process's connection would be. */
  connect(): MemoryTransport {
    return new MemoryTransport(this);
  }

  /** @internal Registers a subscription. */
  add(mailbox: Mailbox): void {
    let set = this.#channels.get(mailbox.channelKey);
    if (set === undefined) {
      set = new Set();
      this.#channels.set(mailbox.channelKey, set);
    }
    set.add(mailbox);
  }

  /** @internal Removes a subscription. */
  remove(mailbox: Mailbox): void {
    const set = this.#channels.get(mailbox.channelKey);
    set?.delete(mailbox);
    if (set?.size === 0) this.#channels.delete(mailbox.channelKey);
  }

  /**
   * @internal Hands a copy of `payload` to every plain subscriber and to one member of each queue
   * group; returns how many received it.
   */
  dispatch(channelKey: string, payload: Uint8Array, reply: Reply | undefined): number {
    const set = this.#channels.get(channelKey);
    if (set === undefined) return 0;
    const groups = new Map<string, Mailbox[]>();
    let receivers = 0;
    for (const mailbox of set) {
      if (mailbox.queue === undefined) {
        mailbox.deliver({ payload: payload.slice(), reply });
        receivers++;
      } else {
        const members = groups.get(mailbox.queue) ?? [];
        members.push(mailbox);
        groups.set(mailbox.queue, members);
      }
    }
    for (const [queue, members] of groups) {
      const turnKey = `${channelKey}\u0000${queue}`;
      const turn = this.#groupTurns.get(turnKey) ?? 0;
      this.#groupTurns.set(turnKey, turn + 1);
      members[turn % members.length]?.deliver({ payload: payload.slice(), reply });
      receivers++;
    }
    return receivers;
  }

  /** @internal The bus's blobs. */
  get blobState(): MemoryBlobState {
    return this.#blobs;
  }

  /** @internal Gets or creates a bucket; the first creator's ttl wins, as with a JetStream stream. */
  bucketState(name: string, ttlMs: number): MemoryBucketState {
    let state = this.#buckets.get(name);
    if (state === undefined) {
      state = new MemoryBucketState(name, ttlMs);
      this.#buckets.set(name, state);
    }
    return state;
  }
}

interface PendingRequest {
  reject(error: unknown): void;
}

/** One connection to a {@link MemoryBus}. */
export class MemoryTransport implements Transport {
  readonly bus: MemoryBus;
  readonly blobs: BlobStore;
  readonly #stateListeners = new Set<(state: TransportState) => void>();
  #state: TransportState = 'connected';
  readonly #mailboxes = new Set<Mailbox>();
  readonly #requests = new Set<PendingRequest>();
  readonly #assertOpen = (operation: string): void => {
    if (this.#state === 'closed') throw new MrmError(ErrorCode.Transport, `cannot ${operation}: transport is closed`);
  };

  /** Use {@link MemoryBus.connect} or {@link MemoryTransport.create}. */
  constructor(bus: MemoryBus) {
    this.bus = bus;
    this.blobs = new MemoryBlobStore(bus.blobState, this.#assertOpen);
  }

  /** A transport on a new private bus (use {@link MemoryBus} to connect several). */
  static create(options: MemoryBusOptions = {}): MemoryTransport {
    return MemoryBus.create(options).connect();
  }

  get state(): TransportState {
    return this.#state;
  }

  /** The in-memory bus never disconnects; listeners hear only `closed`. */
  onStateChange(listener: (state: TransportState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  get maxPayloadBytes(): number {
    return this.bus.maxPayloadBytes;
  }

  publish(channel: Channel, payload: Uint8Array): void {
    this.#assertOpen('publish');
    const name = describeChannel(channel);
    this.#checkSize(payload, `publish to ${name}`);
    this.bus.dispatch(channelKey(channel), payload, undefined);
  }

  subscribe(channel: Channel, handler: MessageHandler, options: SubscribeOptions = {}): Subscription {
    this.#assertOpen('subscribe');
    if (options.queue !== undefined) checkName('queue group', options.queue);
    const mailbox = new Mailbox(this.bus, channelKey(channel), describeChannel(channel), options.queue, handler);
    this.bus.add(mailbox);
    this.#mailboxes.add(mailbox);
    return {
      unsubscribe: () => {
        mailbox.unsubscribe();
        this.#mailboxes.delete(mailbox);
      },
    };
  }

  request(channel: Channel, payload: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#assertOpen('request');
      const { timeoutMs, signal } = options;
      const name = describeChannel(channel);
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
        throw new MrmError(ErrorCode.BadOption, `request timeoutMs must be a positive number, got ${timeoutMs}`);
      }
      if (signal?.aborted) throw signal.reason;
      this.#checkSize(payload, `request to ${name}`);

      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#requests.delete(pending);
        return true;
      };
      const pending: PendingRequest = { reject: (error) => settle() && reject(error) };
      const onAbort = (): void => pending.reject(signal?.reason);
      const timer = setTimeout(
        () => pending.reject(new MrmError(ErrorCode.Timeout, `request to ${name} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#requests.add(pending);

      let replied = false;
      const reply: Reply = (answer) => {
        if (replied) return; // like NATS: the first reply wins
        this.#checkSize(answer, `reply to a request on ${name}`);
        replied = true;
        const copy = answer.slice();
        setImmediate(() => settle() && resolve(copy));
      };
      if (this.bus.dispatch(channelKey(channel), payload, reply) === 0) {
        pending.reject(
          new MrmError(ErrorCode.Timeout, `no responder for a request to ${name}: nobody subscribes to it`, {
            details: { noResponders: true },
          }),
        );
      }
    });
  }

  async flush(): Promise<void> {
    this.#assertOpen('flush');
    // Deliveries already scheduled run before this callback (setImmediate is FIFO).
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  async bucket(name: string, options: BucketOptions = {}): Promise<KeyValueBucket> {
    this.#assertOpen('open a kv bucket');
    checkName('bucket name', name);
    const context: MemoryBucketContext = {
      clock: this.bus.clock,
      maxValueBytes: this.bus.maxPayloadBytes,
      assertOpen: this.#assertOpen,
    };
    return new MemoryKeyValueBucket(this.bus.bucketState(name, options.ttlMs ?? 0), context);
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    for (const listener of this.#stateListeners) listener('closed');
    for (const pending of [...this.#requests]) {
      pending.reject(new MrmError(ErrorCode.Transport, 'transport closed while waiting for a reply'));
    }
    // Drain: messages already handed to our mailboxes are delivered before they go away.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const mailbox of this.#mailboxes) mailbox.unsubscribe();
    this.#mailboxes.clear();
  }

  #checkSize(payload: Uint8Array, what: string): void {
    if (payload.byteLength > this.bus.maxPayloadBytes) {
      throw new MrmError(
        ErrorCode.Transport,
        `cannot ${what}: payload is ${payload.byteLength} bytes, over the ${this.bus.maxPayloadBytes}-byte limit`,
      );
    }
  }
}

/** A unique map key per channel (the id is opaque: any non-empty string). */
function channelKey(channel: Channel): string {
  const id = channelId(channel);
  return id === undefined ? channel.kind : `${channel.kind}\u0000${checkName(`${channel.kind} channel id`, id)}`;
}

function channelId(channel: Channel): string | undefined {
  switch (channel.kind) {
    case 'coordinator':
    case 'heartbeats':
    case 'api':
    case 'broadcast':
      return undefined;
    case 'events':
      return channel.jobId;
    default:
      return channel.workerId;
  }
}

/** A channel as error messages show it: `frames 'w1'`, `coordinator`. */
function describeChannel(channel: Channel): string {
  const id = channelId(channel);
  return id === undefined ? channel.kind : `${channel.kind} '${id}'`;
}
