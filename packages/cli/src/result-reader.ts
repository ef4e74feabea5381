/**
 * Reading a job's result from its state: every key of every partition as of one version, in
 * result order (canonical key text by code point), or one key. What `--out` and `mrm query` show.
 *
 * ```ts
 * for await (const { key, value } of readResult(store, 'wordcount', { version: 3, partitions: 16 })) …
 * ```
 */
import type { CanonicalKey, Key, StateStore } from '@mrm/core';

/** What reading a result needs of a store: a local StateStore, or merge workers over the network. */
export type ResultSource = Pick<StateStore, 'scan' | 'get' | 'listVersions' | 'latestVersion'>;

import { canonicalKey, compareCanonicalKeys, ErrorCode, errorMessage, keyOf, MrmError, partitionOf } from '@mrm/core';
import { BinaryHeap } from './binary-heap.js';

/** One line of a result: a key (canonical text) and the value queries show for it. */
export interface ResultEntry {
  readonly key: CanonicalKey;
  readonly value: unknown;
}

/** Which result to read. */
export interface ReadResultOptions {
  /** The committed version to read as of (the caller checks it exists). */
  readonly version: number;
  /** The job's number of partitions. */
  readonly partitions: number;
  /** The job's `finalize`: turns stored state into the value shown. Absent: the state itself. */
  readonly finalize?: (key: Key, state: unknown) => unknown;
}

/** The value to show for a stored state: `finalize` applied, its throws named as user code. */
function shownValue(job: string, key: CanonicalKey, state: unknown, options: ReadResultOptions): unknown {
  if (options.finalize === undefined) return state;
  try {
    return options.finalize(keyOf(key), state);
  } catch (error) {
    throw new MrmError(ErrorCode.UserCode, `finalize of job '${job}' threw for key ${key}: ${errorMessage(error)}`, {
      cause: error,
      details: { job, key },
    });
  }
}

/** The next pending entry of one partition's scan. */
interface Head {
  readonly partition: number;
  readonly key: CanonicalKey;
  readonly state: unknown;
  readonly rest: AsyncIterator<readonly [CanonicalKey, unknown]>;
}

/** Result order; a key lives in one partition, the partition only makes ties deterministic. */
function compareHeads(a: Head, b: Head): number {
  return compareCanonicalKeys(a.key, b.key) || a.partition - b.partition;
}

async function advance(partition: number, rest: Head['rest']): Promise<Head | undefined> {
  const next = await rest.next();
  if (next.done === true) return undefined;
  const [key, state] = next.value;
  return { partition, key, state, rest };
}

/**
 * Every entry of a job's result as of a version, in {@link compareCanonicalKeys} order: a k-way
 * merge of the partitions' scans (each already in key order). Memory stays bounded: one pending
 * entry per partition. Stopping early (`break`) closes every scan.
 */
export async function* readResult(
  store: ResultSource,
  job: string,
  options: ReadResultOptions,
): AsyncGenerator<ResultEntry, void, undefined> {
  const heap = new BinaryHeap<Head>(compareHeads);
  const open = new Set<Head['rest']>();
  try {
    const firsts = await Promise.all(
      Array.from({ length: options.partitions }, (_, partition) => {
        const rest = store.scan(job, partition, { asOf: options.version })[Symbol.asyncIterator]();
        open.add(rest);
        return advance(partition, rest);
      }),
    );
    for (const head of firsts) if (head !== undefined) heap.push(head);
    for (let head = heap.pop(); head !== undefined; head = heap.pop()) {
      yield { key: head.key, value: shownValue(job, head.key, head.state, options) };
      const next = await advance(head.partition, head.rest);
      if (next === undefined) open.delete(head.rest);
      else heap.push(next);
    }
  } finally {
    // Scans left open (an early stop or an error) are closed so the store can release them.
    await Promise.allSettled([...open].map((rest) => rest.return?.()));
  }
}

/**
 * The entry of one key as of a version, or undefined when the key is not in the result. The key
 * is looked up in the partition that owns it (unsalted, as the state stores it).
 */
export async function readKey(
  store: ResultSource,
  job: string,
  key: Key,
  options: ReadResultOptions,
): Promise<ResultEntry | undefined> {
  const canonical = canonicalKey(key);
  const state = await store.get(job, partitionOf(canonical, options.partitions), canonical, options.version);
  if (state === undefined) return undefined;
  return { key: canonical, value: shownValue(job, canonical, state, options) };
}
