/**
 * A {@link KeyValueBucket} on a JetStream KV bucket (history 1, file storage). Revisions are the
 * stream sequence, so they grow with every write to the bucket; create and update are JetStream's
 * expected-last-sequence checks, so exactly one of two racing writers wins.
 */
import type { KeyValueBucket, KeyValueEntry } from '@mrm/core';
import { ErrorCode, MrmError } from '@mrm/core';
import type { KV } from '@nats-io/kv';
import { isNoResponders, isTimeout, isWrongLastSequence, transportError } from './errors.js';
import { decodeKvKey, encodeKvKey } from './subjects.js';

/**
 * Attempts of an operation that may be repeated safely (a read, an unconditional put) when
 * JetStream does not answer: right after a server restart it takes a moment to be ready again.
 */
const RETRY_ATTEMPTS = 5;
const RETRY_FIRST_DELAY_MS = 250;

/** Runs `op`, again after a pause while it times out or finds no responder; bounded. */
async function retried<T>(op: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (error) {
      if (attempt >= RETRY_ATTEMPTS || !(isTimeout(error) || isNoResponders(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, RETRY_FIRST_DELAY_MS * 2 ** (attempt - 1)));
    }
  }
}

/** Checks done before every operation: "is the transport still open?". */
export type AssertOpen = (operation: string) => void;

/** One bucket, as the port sees it. */
export class NatsKeyValueBucket implements KeyValueBucket {
  readonly #kv: KV;
  readonly #name: string;
  readonly #assertOpen: AssertOpen;

  /** Wraps an opened bucket; `name` is the port's name (for messages), not the NATS one. */
  constructor(kv: KV, name: string, assertOpen: AssertOpen) {
    this.#kv = kv;
    this.#name = name;
    this.#assertOpen = assertOpen;
  }

  async get(key: string): Promise<KeyValueEntry | undefined> {
    this.#assertOpen('kv.get');
    const encoded = encodeKvKey(key);
    try {
      const entry = await retried(() => this.#kv.get(encoded));
      // Deletes are markers with an operation, not absences.
      if (entry === null || entry.operation !== 'PUT') return undefined;
      return { key, value: entry.value.slice(), revision: entry.revision };
    } catch (error) {
      throw transportError(`cannot get kv key '${key}' from bucket '${this.#name}'`, error);
    }
  }

  async put(key: string, value: Uint8Array): Promise<number> {
    this.#assertOpen('kv.put');
    const encoded = encodeKvKey(key);
    try {
      return await retried(() => this.#kv.put(encoded, value.slice()));
    } catch (error) {
      throw transportError(`cannot put kv key '${key}' in bucket '${this.#name}'`, error);
    }
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    this.#assertOpen('kv.create');
    const encoded = encodeKvKey(key);
    try {
      return await this.#kv.create(encoded, value.slice());
    } catch (error) {
      if (isWrongLastSequence(error)) {
        throw this.#conflict(`kv key '${key}' already exists in bucket '${this.#name}'`, key, error);
      }
      throw transportError(`cannot create kv key '${key}' in bucket '${this.#name}'`, error);
    }
  }

  async update(key: string, value: Uint8Array, revision: number): Promise<number> {
    this.#assertOpen('kv.update');
    const encoded = encodeKvKey(key);
    const stale = `kv key '${key}' in bucket '${this.#name}' is not at revision ${revision}`;
    // nats.js refuses revision 0 (it means "create"); no entry is ever at a revision below 1.
    if (!Number.isInteger(revision) || revision <= 0) throw this.#conflict(stale, key);
    try {
      return await this.#kv.update(encoded, value.slice(), revision);
    } catch (error) {
      if (isWrongLastSequence(error)) throw this.#conflict(stale, key, error);
      throw transportError(`cannot update kv key '${key}' in bucket '${this.#name}'`, error);
    }
  }

  async delete(key: string): Promise<void> {
    this.#assertOpen('kv.delete');
    const encoded = encodeKvKey(key);
    try {
      await this.#kv.delete(encoded);
    } catch (error) {
      throw transportError(`cannot delete kv key '${key}' from bucket '${this.#name}'`, error);
    }
  }

  async keys(prefix = ''): Promise<string[]> {
    this.#assertOpen('kv.keys');
    try {
      // Encoded keys are single tokens, so a subject filter cannot express "starts with": filter here.
      return await retried(async () => {
        const keys: string[] = [];
        for await (const encoded of await this.#kv.keys()) {
          const key = decodeKvKey(encoded);
          if (key.startsWith(prefix)) keys.push(key);
        }
        return keys;
      });
    } catch (error) {
      throw transportError(`cannot list the keys of bucket '${this.#name}'`, error);
    }
  }

  #conflict(message: string, key: string, cause?: unknown): MrmError {
    return new MrmError(ErrorCode.Transport, message, { cause, details: { bucket: this.#name, key, conflict: true } });
  }
}
