/** The spill area of the {@link MemoryStateStore}: values grouped by key, read back in key order. */
import { type CanonicalKey, compareCanonicalKeys, decode, type SpillArea } from '@mrm/core';
import { encodeValue } from './encode-value.js';

/** {@link SpillArea} in memory; appended values are kept encoded, like the LMDB store does. */
export class MemorySpillArea implements SpillArea {
  /** namespace → partition → key → encoded value arrays, in append order. */
  readonly #spilled = new Map<string, Map<number, Map<CanonicalKey, Uint8Array[]>>>();
  readonly #bytes = new Map<string, number>();
  readonly #assertOpen: (operation: string) => void;

  /** Built by the store, which says whether it is still open. */
  constructor(assertOpen: (operation: string) => void) {
    this.#assertOpen = assertOpen;
  }

  async append(
    namespace: string,
    partition: number,
    entries: Iterable<readonly [CanonicalKey, readonly unknown[]]>,
  ): Promise<void> {
    this.#assertOpen('spill.append');
    const encoded = [...entries].map(
      ([key, values]) => [key, encodeValue(values, `values spilled for key ${key}`)] as const,
    );
    let partitions = this.#spilled.get(namespace);
    if (partitions === undefined) {
      partitions = new Map();
      this.#spilled.set(namespace, partitions);
    }
    let keys = partitions.get(partition);
    if (keys === undefined) {
      keys = new Map();
      partitions.set(partition, keys);
    }
    let bytes = this.#bytes.get(namespace) ?? 0;
    for (const [key, values] of encoded) {
      const chunks = keys.get(key) ?? [];
      chunks.push(values);
      keys.set(key, chunks);
      bytes += values.length + key.length;
    }
    this.#bytes.set(namespace, bytes);
  }

  async *read(namespace: string, partition: number): AsyncIterable<readonly [CanonicalKey, unknown[]]> {
    this.#assertOpen('spill.read');
    const keys = this.#spilled.get(namespace)?.get(partition);
    if (keys === undefined) return;
    for (const key of [...keys.keys()].sort(compareCanonicalKeys)) {
      const values: unknown[] = [];
      for (const chunk of keys.get(key) ?? []) for (const value of decode<unknown[]>(chunk)) values.push(value);
      yield [key, values];
      this.#assertOpen('spill.read');
    }
  }

  async clear(namespace: string): Promise<void> {
    this.#assertOpen('spill.clear');
    this.#spilled.delete(namespace);
    this.#bytes.delete(namespace);
  }

  bytes(namespace?: string): number {
    this.#assertOpen('spill.bytes');
    if (namespace !== undefined) return this.#bytes.get(namespace) ?? 0;
    let total = 0;
    for (const bytes of this.#bytes.values()) total += bytes;
    return total;
  }
}
