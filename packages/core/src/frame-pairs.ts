/**
 * The pair list of a `frame` message: its `pairs`, or its `packed` bytes decoded (decisions/0051).
 */
import { decode } from './codec.js';
import { ErrorCode, MrmError } from './errors.js';
import type { FrameMessage } from './protocol.js';

/** Decodes a packed pair list; throws `E_PROTOCOL` unless it is a flat list of `count` pairs. */
export function unpackPairs(bytes: Uint8Array, count: number): unknown[] {
  let list: unknown;
  try {
    list = decode(bytes);
  } catch (e) {
    throw new MrmError(ErrorCode.Protocol, `a frame's packed pairs are undecodable: ${String(e)}`, { cause: e });
  }
  if (!Array.isArray(list) || list.length !== count * 2) {
    throw new MrmError(
      ErrorCode.Protocol,
      `a frame's packed pairs hold ${Array.isArray(list) ? list.length / 2 : 'no list of'} pairs, its header says ${count}`,
    );
  }
  return list;
}

/** Whether `count` is a pair count a frame may carry. */
export function isPairCount(count: unknown): count is number {
  return typeof count === 'number' && Number.isInteger(count) && count >= 0;
}

/** The flat `[key, value, …]` list of a frame, packed or not; throws `E_PROTOCOL` when it has none. */
export function framePairs(frame: FrameMessage): unknown[] {
  if (frame.packed !== undefined && isPairCount(frame.count)) return unpackPairs(frame.packed, frame.count);
  if (Array.isArray(frame.pairs)) return frame.pairs;
  throw new MrmError(
    ErrorCode.Protocol,
    `frame of batch ${frame.seq} partition ${frame.partition} carries neither pairs nor packed pairs with their count`,
  );
}
