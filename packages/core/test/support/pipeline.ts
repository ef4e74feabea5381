/**
 * Runs an aggregate the way the cluster may: values cut into batches at random, each batch's
 * values spread over map tasks, combined on the map side in random patterns (the map worker's
 * "fold every n values" and nested combines of combined values), the outputs shuffled and
 * reduced, batch results merged into the state in order or as a tree. Every value that would
 * cross the wire or go to the store makes a MessagePack round trip, as it does for real.
 */
import { type AggregateParts, decode, encode, type Key } from '@mrm/core';
import type { Random } from './random.js';

/** Any aggregate's parts (the tests feed them values of the right kind). */
export type AnyParts = AggregateParts<any, any, any, any>;

/** A value after a trip through the codec. */
export function viaWire<T>(value: T): T {
  return decode<T>(encode(value));
}

/** Combines like the map worker's collector: the running partial folded with every few new values. */
function combineAsCollector(parts: AnyParts, key: Key, values: unknown[], rnd: Random): unknown[] {
  const combine = parts.combine as NonNullable<AnyParts['combine']>;
  const every = 2 + rnd.int(40);
  let list: unknown[] = [];
  for (const v of values) {
    list.push(v);
    if (list.length >= every) list = [combine(key, list)];
  }
  return list.length > 1 ? [viaWire(combine(key, list))] : list.map(viaWire);
}

/** Combines random sub-lists, nested: combined values are combined again with raw ones. */
function combineAsTree(parts: AnyParts, key: Key, values: unknown[], rnd: Random, depth: number): unknown[] {
  const combine = parts.combine as NonNullable<AnyParts['combine']>;
  const out: unknown[] = [];
  for (const chunk of rnd.split(values)) {
    const inner =
      depth < 3 && chunk.length > 1 && rnd.chance(0.5) ? combineAsTree(parts, key, chunk, rnd, depth + 1) : chunk;
    if (rnd.chance(0.7)) out.push(viaWire(combine(key, rnd.shuffle(inner))));
    else out.push(...inner);
  }
  return out;
}

/** What one map task sends for the key: raw values, combined values, or a mix. */
function mapSide(parts: AnyParts, key: Key, values: unknown[], rnd: Random): unknown[] {
  if (parts.combine === undefined || values.length === 0) return values;
  switch (rnd.int(3)) {
    case 0:
      return values;
    case 1:
      return combineAsCollector(parts, key, values, rnd);
    default:
      return combineAsTree(parts, key, values, rnd, 0);
  }
}

/** The state after reducing and merging `values` in a random grouping (values non-empty). */
export function stateViaPipeline(parts: AnyParts, key: Key, values: readonly unknown[], rnd: Random): unknown {
  const merge = parts.merge as NonNullable<AnyParts['merge']>;
  const results: unknown[] = [];
  for (const batch of rnd.split(rnd.shuffle(values))) {
    const sent = rnd.split(batch).flatMap((task) => mapSide(parts, key, task, rnd));
    results.push(viaWire(parts.reduce(key, rnd.shuffle(sent))));
  }
  if (rnd.chance(0.7)) {
    // Batch after batch, as the merge worker does.
    let state: unknown;
    for (const r of results) state = viaWire(merge(key, state, r));
    return state;
  }
  // As a tree of states merged pairwise (salted parts of a hot key): merge must be associative
  // and commutative on states.
  let level = results.map((r) => viaWire(merge(key, undefined, r)));
  while (level.length > 1) {
    level = rnd.shuffle(level);
    const a = level.pop();
    const b = level.pop();
    level.push(viaWire(merge(key, a, b)));
  }
  return level[0];
}

/** What a query returns for the state. */
export function finalized(parts: AnyParts, key: Key, state: unknown): unknown {
  return parts.finalize === undefined ? state : parts.finalize(key, state);
}

/** Finalized result of {@link stateViaPipeline}. */
export function resultViaPipeline(parts: AnyParts, key: Key, values: readonly unknown[], rnd: Random): unknown {
  return finalized(parts, key, stateViaPipeline(parts, key, values, rnd));
}
