/**
 * The {@link Transport} on NATS: core NATS for publish/subscribe/request (subjects from
 * subjects.ts), a JetStream object store for blobs and JetStream KV buckets for key/value state.
 * docs/protocol-transport.md describes the names and limits.
 *
 * ```ts
 * const transport = await NatsTransport.connect({ servers: 'nats://127.0.0.1:4222' });
 * transport.subscribe({ kind: 'coordinator' }, (payload) => handle(decodeMessage(payload)));
 * await transport.close();
 * ```
 */
import type {
  BlobStore,
  BucketOptions,
  Channel,
  KeyValueBucket,
  Logger,
  MessageHandler,
  PublishOptions,
  Reply,
  RequestOptions,
  SubscribeOptions,
  Subscription,
  Transport,
  TransportState,
} from '@mrm/core';
import { ErrorCode, errorMessage, MrmError } from '@mrm/core';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { type ObjectStore, Objm } from '@nats-io/obj';
import { connect, Empty, headers, type Msg, type NatsConnection, nuid } from '@nats-io/transport-node';
import { isNoResponders, isTimeout, transportError } from './errors.js';
import { NatsBlobStore } from './nats-blobs.js';
import { NatsKeyValueBucket } from './nats-kv.js';
import { NatsStreamLog } from './nats-stream-log.js';
import { getObject } from './object-get.js';
import { objectMetaSubject, objectStreamName, putObject } from './object-put.js';
import {
  defaultReplicas,
  type NatsTransportOptions,
  type ResolvedNatsTransportOptions,
  resolveNatsTransportOptions,
} from './options.js';
import { owned } from './owned.js';
import { retried } from './retry.js';
import { connectionSecurity } from './security.js';
import { ensureSmallBlobStream, type SmallBlobsTarget, smallBlobLimit } from './small-blobs.js';
import { listKvKeys, listObjects } from './stream-listing.js';

import { blobBucketName, channelSubject, describeChannel, kvBucketName } from './subjects.js';

/** Listens to {@link NatsTransport.state} changes. */
export type StateListener = (state: TransportState) => void;

interface PendingRequest {
  reject(error: unknown): void;
}

/**
 * A reply larger than max_payload travels through the blob store: the responder stores it under
 * a unique name and answers with an empty message whose header names the blob; the requester
 * fetches and deletes it. (A query reply holding one value of several MB must get through.)
 */
const REPLY_BLOB_HEADER = 'Mrm-Reply-Blob';
/** Set instead when the responder could not store its large reply: the requester rejects with it. */
const REPLY_ERROR_HEADER = 'Mrm-Reply-Error';

/** A connection to NATS, as the roles see it. */
export class NatsTransport implements Transport {
  readonly blobs: BlobStore;
  readonly options: ResolvedNatsTransportOptions;
  readonly #nc: NatsConnection;
  readonly #logger: Logger;
  readonly #initialMaxPayloadBytes: number;
  #state: TransportState = 'connected';
  readonly #stateListeners = new Set<StateListener>();
  readonly #requests = new Set<PendingRequest>();
  #objectStore: Promise<ObjectStore> | undefined;
  #smallBlobs: Promise<SmallBlobsTarget> | undefined;
  #jsm: Promise<JetStreamManager> | undefined;
  #js: JetStreamClient | undefined;
  #kvm: Kvm | undefined;
  readonly #assertOpen = (operation: string): void => {
    if (this.#state === 'closed') throw new MrmError(ErrorCode.Transport, `cannot ${operation}: transport is closed`);
  };

  /** Whether a JetStream operation may be tried again: open, and on a server with JetStream. */
  readonly #keepTrying = (): boolean => this.#state !== 'closed' && this.#nc.info?.jetstream === true;

  private constructor(nc: NatsConnection, options: ResolvedNatsTransportOptions) {
    this.#nc = nc;
    this.options = options;
    this.#logger = options.logger.child({ component: 'nats-transport' });
    this.#initialMaxPayloadBytes = nc.info?.max_payload ?? 1024 * 1024;
    const bucket = blobBucketName(this.options.prefix);
    this.blobs = new NatsBlobStore(
      {
        open: () => this.#openObjectStore(),
        put: async (name, data) =>
          putObject(
            { js: this.#jetstream(), jsm: await this.#manager(), bucket, maxPayloadBytes: this.maxPayloadBytes },
            name,
            data,
          ),
        get: async (name) => getObject({ jsm: await this.#manager(), bucket }, name),
        list: async () => listObjects(await this.#manager(), bucket),
        purgeDeleted: (name) => this.#purgeBlobMeta(name),
      },
      { open: () => this.#openSmallBlobs(), limit: () => smallBlobLimit(this.maxPayloadBytes) },
      this.#assertOpen,
      this.#keepTrying,
    );
    this.#watchStatus().catch((error: unknown) =>
      this.#logger.warn('nats status stream ended', { error: errorMessage(error) }),
    );
  }

  /** Connects; rejects with `E_TRANSPORT` ("cannot reach NATS at …") when no server answers. */
  static async connect(options: NatsTransportOptions): Promise<NatsTransport> {
    const resolved = resolveNatsTransportOptions(options);
    // A security file that cannot be read is a bad option, not an unreachable server.
    const security = await connectionSecurity(resolved.security);
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: [...resolved.servers],
        ...(resolved.name === undefined ? {} : { name: resolved.name }),
        timeout: resolved.connectTimeoutMs,
        reconnect: resolved.reconnect,
        maxReconnectAttempts: -1,
        reconnectTimeWait: resolved.reconnectWaitMs,
        // nats.js otherwise makes an Error per request (and a second for its timer) only for the
        // stack of a failure: 3–7 % of a merge worker's busy time and 14 % of a coordinator's with a
        // version per batch. A failed request still rejects with the same error types and message
        // (decisions/0053).
        noAsyncTraces: true,
        ...security,
      });
    } catch (error) {
      throw new MrmError(
        ErrorCode.Transport,
        `cannot reach NATS at ${resolved.servers.join(',')}: ${errorMessage(error)}`,
        {
          cause: error,
        },
      );
    }
    return new NatsTransport(nc, resolved);
  }

  get state(): TransportState {
    return this.#state;
  }

  #streams: NatsStreamLog | undefined;
  /** Input streams of streaming jobs (JetStream), on this connection. */
  get streams(): NatsStreamLog {
    this.#streams ??= new NatsStreamLog(this.#nc, () => this.replicas, this.#keepTrying);
    return this.#streams;
  }

  /**
   * JetStream replicas of the streams, KV buckets and object store this transport creates: the
   * option, else {@link defaultReplicas} from the server it is connected to now.
   */
  get replicas(): number {
    return this.options.replicas ?? defaultReplicas(this.#nc.info, this.options.servers.length);
  }

  /** The server's max_payload (read again after a reconnect, in case the server changed). */
  get maxPayloadBytes(): number {
    return this.#nc.info?.max_payload ?? this.#initialMaxPayloadBytes;
  }

  /** Calls `listener` on every state change; returns a function that stops it. */
  onStateChange(listener: StateListener): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  publish(channel: Channel, payload: Uint8Array, options: PublishOptions = {}): void {
    this.#assertOpen('publish');
    const subject = channelSubject(this.options.prefix, channel);
    this.#checkSize(payload, `publish to ${describeChannel(channel)}`);
    try {
      // nats.js keeps a reference until its next write: copy, so the caller may reuse its buffer
      // (unless the caller hands the buffer over).
      this.#nc.publish(subject, options.handOver === true ? payload : payload.slice());
    } catch (error) {
      throw transportError(`cannot publish to ${describeChannel(channel)}`, error);
    }
  }

  subscribe(channel: Channel, handler: MessageHandler, options: SubscribeOptions = {}): Subscription {
    this.#assertOpen('subscribe');
    const subject = channelSubject(this.options.prefix, channel);
    const name = describeChannel(channel);
    try {
      const subscription = this.#nc.subscribe(subject, {
        ...(options.queue === undefined ? {} : { queue: options.queue }),
        callback: (error, msg) => {
          if (error !== null) {
            this.#logger.error('subscription failed', { channel: name, error: errorMessage(error) });
            return;
          }
          this.#deliver(name, handler, msg, options.transient === true);
        },
      });
      return { unsubscribe: () => subscription.unsubscribe() };
    } catch (error) {
      throw transportError(`cannot subscribe to ${name}`, error);
    }
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
      const subject = channelSubject(this.options.prefix, channel);

      const settle = (): boolean => {
        if (!this.#requests.delete(pending)) return false;
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const pending: PendingRequest = { reject: (error) => settle() && reject(error) };
      const onAbort = (): void => pending.reject(signal?.reason);
      this.#requests.add(pending);
      signal?.addEventListener('abort', onAbort, { once: true });

      this.#nc.request(subject, payload.slice(), { timeout: timeoutMs }).then(
        (msg) => {
          const blob = msg.headers?.get(REPLY_BLOB_HEADER) ?? '';
          const failed = msg.headers?.get(REPLY_ERROR_HEADER) ?? '';
          if (failed !== '') {
            pending.reject(new MrmError(ErrorCode.Transport, `the reply to a request to ${name} failed: ${failed}`));
          } else if (blob === '') {
            if (settle()) resolve(owned(msg.data));
          } else {
            this.#fetchReply(blob, name).then((data) => settle() && resolve(data), pending.reject);
          }
        },
        (error: unknown) => pending.reject(this.#requestError(name, timeoutMs, error)),
      );
    });
  }

  async flush(): Promise<void> {
    this.#assertOpen('flush');
    try {
      await this.#nc.flush();
    } catch (error) {
      throw transportError('cannot flush the NATS connection', error);
    }
  }

  async bucket(name: string, options: BucketOptions = {}): Promise<KeyValueBucket> {
    this.#assertOpen('open a kv bucket');
    const bucket = kvBucketName(this.options.prefix, name);
    const ttlMs = options.ttlMs ?? 0;
    this.#kvm ??= new Kvm(this.#nc);
    const kvm = this.#kvm;
    const replicas = this.replicas;
    const open = () => kvm.create(bucket, { history: 1, replicas, ...(ttlMs > 0 ? { ttl: ttlMs } : {}) });
    try {
      // Two processes creating the same bucket at once: the loser's "stream exists" is resolved by opening.
      const kv = await retried('idempotent', () => open().catch(open), this.#keepTrying);
      return new NatsKeyValueBucket(kv, name, this.#assertOpen, this.#keepTrying, async () =>
        listKvKeys(await this.#manager(), bucket),
      );
    } catch (error) {
      throw transportError(`cannot open kv bucket '${name}' (JetStream ${bucket})`, error);
    }
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    for (const pending of [...this.#requests]) {
      pending.reject(new MrmError(ErrorCode.Transport, 'transport closed while waiting for a reply'));
    }
    try {
      // Drain delivers what is in flight and flushes what we published; when the server is
      // unreachable there is nothing to drain, and close() drops the reconnect loop.
      if (this.#nc.isClosed()) return;
      if (this.#nc.isDraining()) await this.#nc.closed();
      else await this.#nc.drain();
    } catch (error) {
      this.#logger.warn('drain failed; closing', { error: errorMessage(error) });
      await this.#nc.close();
    }
  }

  #deliver(channelName: string, handler: MessageHandler, msg: Msg, transient: boolean): void {
    const reply: Reply | undefined =
      msg.reply === undefined || msg.reply === ''
        ? undefined
        : (answer) => {
            if (answer.byteLength <= this.maxPayloadBytes) msg.respond(answer.slice());
            else void this.#replyThroughBlob(msg, answer.slice(), channelName);
          };
    try {
      // A transient handler reads the view into the client's read buffer in place, before the
      // client reuses it: no copy of a whole frame.
      handler(transient ? msg.data : owned(msg.data), reply);
    } catch (error) {
      // A throwing handler must not break the connection's read loop (nats.js would rethrow it there).
      this.#logger.error('transport message handler threw', { channel: channelName, error });
    }
  }

  async #replyThroughBlob(msg: Msg, answer: Uint8Array, channelName: string): Promise<void> {
    const name = `reply/${nuid.next()}`;
    const h = headers();
    try {
      await this.blobs.put(name, answer);
      h.set(REPLY_BLOB_HEADER, name);
    } catch (error) {
      this.#logger.error('cannot store a large reply', { channel: channelName, error: errorMessage(error) });
      h.set(REPLY_ERROR_HEADER, `the ${answer.byteLength}-byte reply could not be stored: ${errorMessage(error)}`);
    }
    msg.respond(Empty, { headers: h });
  }

  async #fetchReply(blob: string, channelName: string): Promise<Uint8Array> {
    const data = await this.blobs.get(blob);
    // The requester is the blob's only reader.
    this.blobs.delete(blob).catch(() => {});
    if (data === undefined) {
      throw new MrmError(
        ErrorCode.Transport,
        `the large reply to a request to ${channelName} is gone from the blob store`,
      );
    }
    return data;
  }

  #requestError(channelName: string, timeoutMs: number, error: unknown): MrmError {
    if (isNoResponders(error)) {
      return new MrmError(ErrorCode.Timeout, `no responder for a request to ${channelName}: nobody subscribes to it`, {
        cause: error,
        details: { noResponders: true },
      });
    }
    if (isTimeout(error)) {
      return new MrmError(ErrorCode.Timeout, `request to ${channelName} timed out after ${timeoutMs} ms`, {
        cause: error,
      });
    }
    return transportError(`request to ${channelName} failed`, error);
  }

  /** The JetStream client (made once). */
  #jetstream(): JetStreamClient {
    this.#js ??= jetstream(this.#nc);
    return this.#js;
  }

  /** The JetStream manager (opened once; again after a failed attempt). */
  #manager(): Promise<JetStreamManager> {
    this.#jsm ??= jetstreamManager(this.#nc).catch((e: unknown) => {
      this.#jsm = undefined;
      throw e;
    });
    return this.#jsm;
  }

  /** Purges the metadata subject of blob `name` (after the object store deleted it). */
  async #purgeBlobMeta(name: string): Promise<void> {
    const bucket = blobBucketName(this.options.prefix);
    await (await this.#manager()).streams.purge(objectStreamName(bucket), {
      filter: objectMetaSubject(bucket, name),
    });
  }

  /** The small-blob stream (created on first use; again after a failed attempt). */
  #openSmallBlobs(): Promise<SmallBlobsTarget> {
    if (this.#smallBlobs === undefined) {
      const attempt = (async () => {
        const target: SmallBlobsTarget = {
          js: this.#jetstream(),
          jsm: await this.#manager(),
          prefix: this.options.prefix,
          replicas: this.replicas,
        };
        await retried('idempotent', () => ensureSmallBlobStream(target), this.#keepTrying);
        return target;
      })();
      this.#smallBlobs = attempt;
      attempt.catch(() => {
        if (this.#smallBlobs === attempt) this.#smallBlobs = undefined;
      });
    }
    return this.#smallBlobs;
  }

  #openObjectStore(): Promise<ObjectStore> {
    if (this.#objectStore === undefined) {
      const bucket = blobBucketName(this.options.prefix);
      const objm = new Objm(this.#nc);
      const options = { replicas: this.replicas };
      const attempt = retried(
        'idempotent',
        () => objm.create(bucket, options).catch(() => objm.create(bucket, options)),
        this.#keepTrying,
      );
      this.#objectStore = attempt;
      attempt.catch(() => {
        // Let the next call try again (JetStream may come back, or was still starting).
        if (this.#objectStore === attempt) this.#objectStore = undefined;
      });
    }
    return this.#objectStore;
  }

  #checkSize(payload: Uint8Array, what: string): void {
    const limit = this.maxPayloadBytes;
    if (payload.byteLength > limit) {
      throw new MrmError(
        ErrorCode.Transport,
        `cannot ${what}: payload is ${payload.byteLength} bytes, over the server's ${limit}-byte max_payload`,
      );
    }
  }

  /** Follows the client's status events: disconnect → reconnecting → connected, or closed. */
  async #watchStatus(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (this.#state === 'closed') break;
      // Log only the type: status events hold circular references.
      this.#logger.debug('nats status', { type: status.type });
      if (status.type === 'disconnect' || status.type === 'reconnecting') this.#setState('reconnecting');
      else if (status.type === 'reconnect') this.#setState('connected');
      else if (status.type === 'close') this.#setState('closed');
    }
  }

  #setState(state: TransportState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#logger.info('nats transport state', { state });
    for (const listener of this.#stateListeners) listener(state);
  }
}
