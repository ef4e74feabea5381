/**
 * A map thread's table of the string keys it has seen, kept from batch to batch: each distinct key
 * gets a small integer id once, with its canonical form and partition hash worked out once, and a
 * batch's running values live in an array by id. So emitting a key the thread saw before costs one
 * lookup in a long-lived `Map` (the plain loop's cost), and a batch leaves almost no garbage behind:
 * no per-batch `Map` of tens of thousands of keys that survives just long enough to be promoted to
 * the old generation and collected there (see docs/decisions/0012-map-side-key-table.md).
 *
 * Memory is bounded: past {@link KEY_TABLE_LIMITS} the table forgets everything at the start of the
 * next batch. Keys are stored as copies, never as slices of a batch's text (which would keep every
 * batch's text alive).
 */
import { hashKey, MAX_CANONICAL_KEY_LENGTH } from '@mrm/core';

/** When a table starts afresh: after this many keys, or this many UTF-16 code units of keys. */
export const KEY_TABLE_LIMITS = Object.freeze({ keys: 1 << 18, chars: 16 * 1024 * 1024 });

/** Marks an id that has no value in the current batch. */
export const NO_VALUE: unique symbol = Symbol('no value');

/** Distinct string keys of one thread with their canonical forms, and one batch's values by id. */
export class KeyTable {
  readonly ids = new Map<string, number>();
  /** Canonical form by id. */
  readonly canonical: string[] = [];
  /** The key by id (a copy made from the canonical form). */
  readonly keys: string[] = [];
  /** The current batch's value (or list of values) by id, {@link NO_VALUE} when untouched. */
  readonly values: unknown[] = [];
  /** Ids touched in the current batch, in first-emit order. */
  touched: number[] = [];
  /** Partition hash by id, valid for {@link hashSalt}. */
  private hashes: number[] = [];
  private hashSalt = 0;
  private chars = 0;
  /** True while a batch collects into this table. */
  busy = false;

  constructor(private readonly limits: { readonly keys: number; readonly chars: number } = KEY_TABLE_LIMITS) {}

  /** Distinct keys remembered. */
  get size(): number {
    return this.canonical.length;
  }

  /**
   * The id of string key `key`, adding it when new; `-1` for a key whose canonical form may be too
   * long (the caller keeps it apart, so the length check happens where it always did).
   */
  idOf(key: string): number {
    const id = this.ids.get(key);
    if (id !== undefined) return id;
    // At most 3 UTF-8 bytes per code unit: longer keys go the checked way.
    if ((key.length + 2) * 3 > MAX_CANONICAL_KEY_LENGTH) return -1;
    const canonical = JSON.stringify(key);
    // A fresh string either way, so the table never holds a slice of a batch's text.
    // Without escapes the canonical form is the key in quotes.
    const own = canonical.length === key.length + 2 ? canonical.slice(1, -1) : (JSON.parse(canonical) as string);
    const next = this.canonical.length;
    this.ids.set(own, next);
    this.canonical.push(canonical);
    this.keys.push(own);
    this.values.push(NO_VALUE);
    this.chars += canonical.length;
    return next;
  }

  /** The partition hash of key `id` under `salt`. */
  hashOf(id: number, salt: number): number {
    if (salt !== this.hashSalt) {
      this.hashes = [];
      this.hashSalt = salt;
    }
    let h = this.hashes[id];
    if (h === undefined) {
      h = hashKey(this.canonical[id] as string, salt);
      this.hashes[id] = h;
    }
    return h;
  }

  /** Takes the table for one batch; forgets every key first when the table is over its limits. */
  acquire(): void {
    this.busy = true;
    if (this.canonical.length > this.limits.keys || this.chars > this.limits.chars) this.clear();
  }

  /**
   * Ends the batch: every touched id back to no value. Once per {@link acquire}: a second call
   * would wipe the values of whichever batch took the table since (BatchCollector.release guards).
   */
  release(): void {
    for (const id of this.touched) this.values[id] = NO_VALUE;
    this.touched = [];
    this.busy = false;
  }

  private clear(): void {
    this.ids.clear();
    this.canonical.length = 0;
    this.keys.length = 0;
    this.values.length = 0;
    this.touched = [];
    this.hashes = [];
    this.chars = 0;
  }
}

const tables = new WeakMap<object, KeyTable>();

/**
 * The key table of `owner` (a job) in this thread for one batch, or a fresh one when the thread's
 * table is in use by another batch (inline executors may run tasks side by side). Release it after.
 */
export function acquireKeyTable(owner: object): KeyTable {
  let table = tables.get(owner);
  if (table === undefined) {
    table = new KeyTable();
    tables.set(owner, table);
  } else if (table.busy) table = new KeyTable();
  table.acquire();
  return table;
}
