/**
 * The spill area on LMDB: values a merge worker parks beyond its memory budget, keyed
 * [namespace, partition, key, epoch, seq] so a read streams them back grouped by key, in key order,
 * each key's values in append order.
 */
import { type CanonicalKey, ErrorCode, encode, errorMessage, MrmError, type SpillArea } from '@mrm/core';
import { asBinary } from 'lmdb';
import { assertKeyFits, type LmdbKey, spillKey, spillKeyOf, spillNamespace, spillPartition } from './key-layout.js';
import type { StoreLifecycle } from './store-lifecycle.js';
import { removeInBatches, type StoreDatabase } from './transactions.js';

/** {@link SpillArea} of an {@link LmdbStateStore}. Spilled data is scratch: appends are not flushed. */
export class LmdbSpillArea implements SpillArea {
  readonly #db: StoreDatabase;
  readonly #life: StoreLifecycle;
  readonly #epoch: number;
  #seq = 0;
  /** Bytes appended minus bytes cleared, per namespace, since this open. */
  readonly #bytes = new Map<string, number>();

  /** Built by {@link LmdbStateStore.open}; `epoch` is unique per open of the environment. */
  constructor(db: StoreDatabase, life: StoreLifecycle, epoch: number) {
    this.#db = db;
    this.#life = life;
    this.#epoch = epoch;
  }

  async append(
    namespace: string,
    partition: number,
    entries: Iterable<readonly [CanonicalKey, readonly unknown[]]>,
  ): Promise<void> {
    this.#life.assertOpen('spill.append');
    // Encode before the transaction: a value that cannot be encoded then writes nothing.
    const rows: [LmdbKey, Uint8Array][] = [];
    let bytes = 0;
    for (const [key, values] of entries) {
      const lmdbKey = spillKey(namespace, partition, key, this.#epoch, ++this.#seq);
      assertKeyFits(lmdbKey, `spilled key ${key.slice(0, 40)}`);
      const encoded = encodeValues(values, key);
      rows.push([lmdbKey, encoded]);
      bytes += encoded.length + key.length;
    }
    if (rows.length === 0) return;
    await this.#life.track(
      this.#db.transaction(() => {
        for (const [key, encoded] of rows) this.#db.put(key, asBinary(encoded));
      }),
    );
    this.#bytes.set(namespace, (this.#bytes.get(namespace) ?? 0) + bytes);
  }

  async *read(namespace: string, partition: number): AsyncIterable<readonly [CanonicalKey, unknown[]]> {
    this.#life.assertOpen('spill.read');
    let key: CanonicalKey | undefined;
    let values: unknown[] = [];
    for (const entry of this.#db.getRange(spillPartition(namespace, partition))) {
      const entryKey = spillKeyOf(entry.key);
      if (key !== undefined && entryKey !== key) {
        const done: readonly [CanonicalKey, unknown[]] = [key, values];
        values = [];
        yield done;
        // Never step the LMDB cursor again once the environment may be closed.
        this.#life.assertOpen('spill.read');
      }
      key = entryKey;
      for (const value of entry.value as unknown[]) values.push(value);
    }
    if (key !== undefined) yield [key, values];
  }

  async clear(namespace: string): Promise<void> {
    this.#life.assertOpen('spill.clear');
    const range = spillNamespace(namespace);
    await this.#life.track(removeInBatches(this.#db, (limit) => [...this.#db.getKeys({ ...range, limit })]));
    this.#bytes.delete(namespace);
  }

  bytes(namespace?: string): number {
    this.#life.assertOpen('spill.bytes');
    if (namespace !== undefined) return this.#bytes.get(namespace) ?? 0;
    let total = 0;
    for (const bytes of this.#bytes.values()) total += bytes;
    return total;
  }
}

function encodeValues(values: readonly unknown[], key: CanonicalKey): Uint8Array {
  try {
    return encode(values);
  } catch (e) {
    throw new MrmError(
      ErrorCode.BadValue,
      `a value spilled for key ${key.slice(0, 40)} cannot be encoded: ${errorMessage(e)}`,
      { cause: e },
    );
  }
}
