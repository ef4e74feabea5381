/**
 * A {@link KeyValueBucket} on a JetStream KV bucket (history 1, file storage). Revisions are the
 * stream sequence, so they grow with every write to the bucket; create and update are JetStream's
 * expected-last-sequence checks, so exactly one of two racing writers wins. Every operation is
 * tried again while JetStream is briefly unavailable (retry.ts); reads and idempotent writes also
 * after a timeout, compare-and-set writes only when surely not applied.
 */
import type { KeyValueBucket, KeyValueEntry } from '@mrm/core';
import { ErrorCode, MrmError } from '@mrm/core';
import type { KV } from '@nats-io/kv';
import { isWrongLastSequence, transportError } from './errors.js';
import { type KeepTrying, type RetryWhen, retried } from './retry.js';
import { decodeKvKey, encodeKvKey } from './subjects.js';

/** Checks done before every operation: "is the transport still open?". */
export type AssertOpen = (operation: string) => void;

/** Lists the encoded keys of the bucket that hold a value. */
export type ListKeys = () => Promise<string[]>;

/** One bucket, as the port sees it. */
export class NatsKeyValueBucket implements KeyValueBucket {
  readonly #kv: KV;
  readonly #name: string;
  readonly #assertOpen: AssertOpen;
  readonly #keepTrying: KeepTrying;
  readonly #listKeys: ListKeys;

  /**
   * Wraps an opened bucket; `name` is the port's name (for messages), not the NATS one;
   * `keepTrying` tells whether an operation may be tried again ({@link retried}); `listKeys` lists
   * the bucket's encoded keys (stream-listing.ts: the library's `keys()` needs a consumer).
   */
  constructor(kv: KV, name: string, assertOpen: AssertOpen, keepTrying: KeepTrying, listKeys: ListKeys) {
    this.#kv = kv;
    this.#listKeys = listKeys;
    this.#name = name;
    this.#assertOpen = assertOpen;
    this.#keepTrying = keepTrying;
  }

  async get(key: string): Promise<KeyValueEntry | undefined> {
    this.#assertOpen('kv.get');
    const encoded = encodeKvKey(key);
    try {
      const entry = await this.#retried('idempotent', () => this.#kv.get(encoded));
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
      return await this.#retried('idempotent', () => this.#kv.put(encoded, value.slice()));
    } catch (error) {
      throw transportError(`cannot put kv key '${key}' in bucket '${this.#name}'`, error);
    }
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    this.#assertOpen('kv.create');
    const encoded = encodeKvKey(key);
    try {
      return await this.#retried('unapplied', () => this.#kv.create(encoded, value.slice()));
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
      return await this.#retried('unapplied', () => this.#kv.update(encoded, value.slice(), revision));
    } catch (error) {
      if (isWrongLastSequence(error)) throw this.#conflict(stale, key, error);
      throw transportError(`cannot update kv key '${key}' in bucket '${this.#name}'`, error);
    }
  }

  async delete(key: string): Promise<void> {
    this.#assertOpen('kv.delete');
    const encoded = encodeKvKey(key);
    try {
      await this.#retried('idempotent', () => this.#kv.delete(encoded));
    } catch (error) {
      throw transportError(`cannot delete kv key '${key}' from bucket '${this.#name}'`, error);
    }
  }

  async keys(prefix = ''): Promise<string[]> {
    this.#assertOpen('kv.keys');
    try {
      // Encoded keys are single tokens, so a subject filter cannot express "starts with": filter here.
      return await this.#retried('idempotent', async () => {
        const keys: string[] = [];
        for (const encoded of await this.#listKeys()) {
          const key = decodeKvKey(encoded);
          if (key.startsWith(prefix)) keys.push(key);
        }
        return keys;
      });
    } catch (error) {
      throw transportError(`cannot list the keys of bucket '${this.#name}'`, error);
    }
  }

  /** Runs `op` with {@link retried} while JetStream is briefly unavailable. */
  #retried<T>(when: RetryWhen, op: () => Promise<T>): Promise<T> {
    return retried(when, op, this.#keepTrying);
  }

  #conflict(message: string, key: string, cause?: unknown): MrmError {
    return new MrmError(ErrorCode.Transport, message, { cause, details: { bucket: this.#name, key, conflict: true } });
  }
}
