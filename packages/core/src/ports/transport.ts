/**
 * The Transport port: how the coordinator, map workers and merge workers talk. Addresses are
 * semantic {@link Channel}s; an adapter maps them to its own names (the NATS adapter owns every
 * subject). Payloads are bytes encoded with the core codec, so every adapter moves the same bytes.
 *
 * Guarantees every adapter keeps (checked by the conformance suite in @mrm/testkit):
 * - messages from one publisher to one channel arrive in publish order, at most once;
 * - `publish` never blocks; flow control is the roles' business (credits), not the transport's;
 * - a payload larger than {@link Transport.maxPayloadBytes} throws `E_TRANSPORT` at publish;
 * - `request` rejects with `E_TIMEOUT` after `timeoutMs`, or with the signal's reason;
 * - blobs and kv entries survive the process that wrote them (in the in-memory adapter: the adapter).
 */

import { isMrmError } from '../errors.js';

/** Where a message goes. */
export type Channel =
  /** Run reports to the coordinator (task results, merged batches, written checkpoints; protocol encoding). */
  | { readonly kind: 'coordinator' }
  /** Worker heartbeats to the coordinator (API encoding). */
  | { readonly kind: 'heartbeats' }
  /** Requests to the coordinator's API (submit, status, query routing). */
  | { readonly kind: 'api' }
  /** Control messages to one worker (tasks, partition assignments, run start/seal). */
  | { readonly kind: 'worker'; readonly workerId: string }
  /** Map output frames pushed to one merge worker. */
  | { readonly kind: 'frames'; readonly workerId: string }
  /** Flow-control credits granted to one map worker. */
  | { readonly kind: 'credits'; readonly workerId: string }
  /** Queries answered by one merge worker. */
  | { readonly kind: 'query'; readonly workerId: string }
  /** Fresh counters asked of one worker's process (API encoding; heartbeats carry them too, later). */
  | { readonly kind: 'stats'; readonly workerId: string }
  /**
   * Is one worker's process there? Answered (any payload) from the connection its heartbeats go
   * out on, which the worker's main thread cannot block; "no responders" means that connection's
   * subscriptions are gone (the coordinator's liveness probe: decisions/0024).
   */
  | { readonly kind: 'liveness'; readonly workerId: string }
  /** Broadcast to every worker. */
  | { readonly kind: 'broadcast' }
  /** Progress events of one job (anyone may listen). */
  | { readonly kind: 'events'; readonly jobId: string };

/** Replies to a request. */
export type Reply = (payload: Uint8Array) => void;

/** Receives one message; `reply` is set when the sender used `request`. */
export type MessageHandler = (payload: Uint8Array, reply: Reply | undefined) => void;

/** An active subscription. */
export interface Subscription {
  unsubscribe(): void;
}

/** Options of {@link Transport.subscribe}. */
export interface SubscribeOptions {
  /** Subscribers sharing a queue group each get a message once between them. */
  readonly queue?: string;
  /**
   * The handler reads the payload only during its call and keeps nothing of it (no reference, no
   * view): the transport may hand it a view into its own read buffer instead of a copy. The push
   * path's receiver, whose decoding copies what it keeps.
   */
  readonly transient?: boolean;
}

/** Options of {@link Transport.publish}. */
export interface PublishOptions {
  /**
   * The caller never touches the payload again: the transport may send it without copying it
   * first. The push path's sender, whose frames are each a buffer of their own.
   */
  readonly handOver?: boolean;
}

/** Options of {@link Transport.request}. */
export interface RequestOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** One stored blob, as {@link BlobStore.list} names it. */
export interface BlobInfo {
  readonly name: string;
  /** Size of the blob's data in bytes. */
  readonly bytes: number;
}

/** Durable, content-addressed (or named) blobs: job bundles, large values, uploaded input. */
export interface BlobStore {
  put(name: string, data: Uint8Array): Promise<void>;
  get(name: string): Promise<Uint8Array | undefined>;
  has(name: string): Promise<boolean>;
  delete(name: string): Promise<void>;
  /** The blobs whose name starts with `prefix` (deleted ones excluded), in no particular order. */
  list(prefix: string): Promise<BlobInfo[]>;
  /** The names {@link BlobStore.list} gives, without their sizes (which may cost a read of each). */
  names(prefix: string): Promise<string[]>;
}

/** One entry of a {@link KeyValueBucket}. */
export interface KeyValueEntry {
  readonly key: string;
  readonly value: Uint8Array;
  /** Increases with every write to the bucket; used for compare-and-set. */
  readonly revision: number;
}

/** Durable small records with compare-and-set: leases, heartbeats, job records. */
export interface KeyValueBucket {
  get(key: string): Promise<KeyValueEntry | undefined>;
  /** Writes unconditionally; returns the new revision. */
  put(key: string, value: Uint8Array): Promise<number>;
  /** Writes only when the key does not exist; rejects with `E_TRANSPORT` otherwise. */
  create(key: string, value: Uint8Array): Promise<number>;
  /** Writes only when the key's revision is `revision`; rejects with `E_TRANSPORT` otherwise. */
  update(key: string, value: Uint8Array, revision: number): Promise<number>;
  delete(key: string): Promise<void>;
  /** Keys that start with `prefix` (all when omitted). */
  keys(prefix?: string): Promise<string[]>;
}

/**
 * True when `error` is a {@link KeyValueBucket.create} or {@link KeyValueBucket.update} that lost
 * its compare-and-set (the key exists, or is at another revision): another writer got there first.
 * Adapters mark it with `details.conflict`.
 */
export function isKvConflict(error: unknown): boolean {
  return isMrmError(error) && error.details?.conflict === true;
}

/** Options of a key/value bucket. */
export interface BucketOptions {
  /** Entries older than this are removed (leases). 0 or absent: kept. */
  readonly ttlMs?: number;
}

/** Lifecycle of a transport connection. */
export type TransportState = 'connected' | 'reconnecting' | 'closed';

/** Moves bytes between roles. */
export interface Transport {
  readonly state: TransportState;
  /** Largest payload `publish` and `request` accept. */
  readonly maxPayloadBytes: number;
  publish(channel: Channel, payload: Uint8Array, options?: PublishOptions): void;
  subscribe(channel: Channel, handler: MessageHandler, options?: SubscribeOptions): Subscription;
  request(channel: Channel, payload: Uint8Array, options: RequestOptions): Promise<Uint8Array>;
  /** Resolves when everything published so far has left this process. */
  flush(): Promise<void>;
  readonly blobs: BlobStore;
  /** Opens (creating if needed) a key/value bucket. */
  bucket(name: string, options?: BucketOptions): Promise<KeyValueBucket>;
  /**
   * Calls `listener` on every change of {@link Transport.state} (e.g. `reconnecting` then
   * `connected` after a server restart, when messages in flight may have been lost). Returns the
   * function that removes the listener.
   */
  onStateChange(listener: (state: TransportState) => void): () => void;
  /** Drains subscriptions and closes. */
  close(): Promise<void>;
}
