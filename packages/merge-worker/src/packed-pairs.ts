/**
 * Pair lists that arrived packed (a frame's `packed` field, decisions/0051): kept as the bytes
 * they came in until their batch is merged, so receiving a frame decodes only its header and its
 * credit goes back at once. They count against the run's buffer budget by their size, as decoded
 * values do.
 */
import { unpackPairs } from '@mrm/core';
import { nextSlice, sliceOver } from './time-slice.js';
import type { ValueBuffer } from './value-buffer.js';

/** One frame's packed list and the pairs its frame says it holds. */
export interface PackedPairs {
  readonly bytes: Uint8Array;
  readonly count: number;
}

/** Decodes `lists` into `buffer` in order, at once (for a spill or a frame that must follow them). */
export function unpackAllInto(buffer: ValueBuffer, lists: PackedPairs[]): void {
  for (const packed of lists) buffer.addPairs(unpackPairs(packed.bytes, packed.count));
  lists.length = 0;
}

/** Decodes `lists` into `buffer` in order, giving the event loop a turn between slices. */
export async function unpackInto(buffer: ValueBuffer, lists: PackedPairs[]): Promise<void> {
  while (lists.length > 0) {
    const packed = lists.shift() as PackedPairs;
    buffer.addPairs(unpackPairs(packed.bytes, packed.count));
    if (lists.length > 0 && sliceOver()) await nextSlice();
  }
}
