/**
 * The durable half of the in-memory transport: blobs and key/value buckets. The state lives on the
 * {@link MemoryBus}, so it outlives any one connected transport, as JetStream data outlives a
 * client. Every value is copied in and out: a caller never shares bytes with the store.
 */
import type { BlobInfo, BlobStore, Clock, KeyValueBucket, KeyValueEntry } from '@mrm/core';
import { ErrorCode, MrmError } from '@mrm/core';

/** Checks done before every operation: "is the transport still open?". */
export type AssertOpen = (operation: string) => void;

/** Blobs of one bus, keyed by name. */
export class MemoryBlobState {
  readonly blobs = new Map<string, Uint8Array>();
}

/** A {@link BlobStore} view of a {@link MemoryBlobState} for one transport. */
export class MemoryBlobStore implements BlobStore {
  readonly #state: MemoryBlobState;
  readonly #assertOpen: AssertOpen;

  constructor(state: MemoryBlobState, assertOpen: AssertOpen) {
    this.#state = state;
    this.#assertOpen = assertOpen;
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    this.#assertOpen('blobs.put');
    this.#state.blobs.set(checkName('blob name', name), data.slice());
  }

  async get(name: string): Promise<Uint8Array | undefined> {
    this.#assertOpen('blobs.get');
    return this.#state.blobs.get(checkName('blob name', name))?.slice();
  }

  async has(name: string): Promise<boolean> {
    this.#assertOpen('blobs.has');
    return this.#state.blobs.has(checkName('blob name', name));
  }

  async delete(name: string): Promise<void> {
    this.#assertOpen('blobs.delete');
    this.#state.blobs.delete(checkName('blob name', name));
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    this.#assertOpen('blobs.list');
    const found: BlobInfo[] = [];
    for (const [name, data] of this.#state.blobs) if (name.startsWith(prefix)) found.push({ name, bytes: data.length });
    return found;
  }

  async names(prefix: string): Promise<string[]> {
    this.#assertOpen('blobs.names');
    return [...this.#state.blobs.keys()].filter((name) => name.startsWith(prefix));
  }
}

interface StoredEntry {
  readonly value: Uint8Array;
  readonly revision: number;
  readonly writtenAtMs: number;
}

/** One key/value bucket of a bus: entries plus the bucket-wide revision counter (like a stream sequence). */
export class MemoryBucketState {
  readonly entries = new Map<string, StoredEntry>();
  lastRevision = 0;
  constructor(
    readonly name: string,
    /** 0: entries never expire. Fixed when the bucket is first created, as with a JetStream stream. */
    readonly ttlMs: number,
  ) {}
}

/** Where a bucket handle gets its time and limits. */
export interface MemoryBucketContext {
  readonly clock: Clock;
  readonly maxValueBytes: number;
  readonly assertOpen: AssertOpen;
}

/** A {@link KeyValueBucket} view of a {@link MemoryBucketState} for one transport. */
export class MemoryKeyValueBucket implements KeyValueBucket {
  readonly #state: MemoryBucketState;
  readonly #context: MemoryBucketContext;

  constructor(state: MemoryBucketState, context: MemoryBucketContext) {
    this.#state = state;
    this.#context = context;
  }

  async get(key: string): Promise<KeyValueEntry | undefined> {
    this.#context.assertOpen('kv.get');
    const entry = this.#live(checkName('kv key', key));
    return entry && { key, value: entry.value.slice(), revision: entry.revision };
  }

  async put(key: string, value: Uint8Array): Promise<number> {
    this.#context.assertOpen('kv.put');
    return this.#write(checkName('kv key', key), value);
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    this.#context.assertOpen('kv.create');
    if (this.#live(checkName('kv key', key)) !== undefined) {
      throw conflict(`kv key '${key}' already exists in bucket '${this.#state.name}'`, this.#state.name, key);
    }
    return this.#write(key, value);
  }

  async update(key: string, value: Uint8Array, revision: number): Promise<number> {
    this.#context.assertOpen('kv.update');
    const current = this.#live(checkName('kv key', key))?.revision;
    if (current !== revision) {
      const found = current === undefined ? 'it does not exist' : `it is at revision ${current}`;
      throw conflict(
        `kv key '${key}' in bucket '${this.#state.name}' is not at revision ${revision}: ${found}`,
        this.#state.name,
        key,
      );
    }
    return this.#write(key, value);
  }

  async delete(key: string): Promise<void> {
    this.#context.assertOpen('kv.delete');
    if (this.#state.entries.delete(checkName('kv key', key))) this.#state.lastRevision++;
  }

  async keys(prefix = ''): Promise<string[]> {
    this.#context.assertOpen('kv.keys');
    return [...this.#state.entries.keys()].filter((key) => key.startsWith(prefix) && this.#live(key) !== undefined);
  }

  /** The entry unless absent or expired (expiry is lazy: an expired entry is dropped when seen). */
  #live(key: string): StoredEntry | undefined {
    const entry = this.#state.entries.get(key);
    if (entry === undefined) return undefined;
    const { ttlMs } = this.#state;
    if (ttlMs > 0 && this.#context.clock.nowMs() - entry.writtenAtMs >= ttlMs) {
      this.#state.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #write(key: string, value: Uint8Array): number {
    if (value.byteLength > this.#context.maxValueBytes) {
      throw new MrmError(
        ErrorCode.Transport,
        `kv value for '${key}' in bucket '${this.#state.name}' is ${value.byteLength} bytes, over the ${this.#context.maxValueBytes}-byte limit`,
      );
    }
    const revision = ++this.#state.lastRevision;
    this.#state.entries.set(key, { value: value.slice(), revision, writtenAtMs: this.#context.clock.nowMs() });
    return revision;
  }
}

function conflict(message: string, bucket: string, key: string): MrmError {
  return new MrmError(ErrorCode.Transport, message, { details: { bucket, key, conflict: true } });
}

/** Names and keys must be non-empty strings in every adapter (NATS cannot address an empty token). */
export function checkName(what: string, name: string): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new MrmError(ErrorCode.Transport, `${what} must be a non-empty string, got ${JSON.stringify(name)}`);
  }
  return name;
}
