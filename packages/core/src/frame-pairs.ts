/**
 * The pair list of a `frame` message: its `pairs`, or its `packed` bytes decoded (decisions/0051).
 */
import { decode, encode } from './codec.js';
import { ErrorCode, MrmError } from './errors.js';
import { type FrameMessage, PROTOCOL_VERSION } from './protocol.js';

/** A frame's fields besides its pairs. */
export type PackedFrameHeader = Omit<FrameMessage, 'type' | 'v' | 'pairs' | 'packed' | 'count'>;

/**
 * Encodes a `frame` whose flat pair list travels packed, in one buffer of its own: the list is
 * encoded once and copied once, behind the header (whose last field, `packed`, is an empty bin
 * given the list's size). The same standard MessagePack as encoding the message with the
 * encoded list in `packed`, but for the bin's length, always 4 bytes.
 */
export function encodePackedFrame(header: PackedFrameHeader, pairs: readonly unknown[]): Uint8Array {
  const list = encode(pairs);
  const head = encode({
    type: 'frame',
    ...header,
    count: pairs.length / 2,
    v: PROTOCOL_VERSION,
    packed: new Uint8Array(0),
  });
  // The empty bin (0xc4 0x00) is the last thing written; anything else, and the encoder did not
  // lay the map out as assumed: encode the usual way.
  if (head[head.byteLength - 2] !== 0xc4 || head[head.byteLength - 1] !== 0) {
    return encode({ type: 'frame', ...header, count: pairs.length / 2, v: PROTOCOL_VERSION, packed: list });
  }
  const at = head.byteLength - 2;
  const frame = new Uint8Array(at + 5 + list.byteLength);
  frame.set(head.subarray(0, at));
  frame[at] = 0xc6; // bin 32
  new DataView(frame.buffer).setUint32(at + 1, list.byteLength);
  frame.set(list, at + 5);
  return frame;
}

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
