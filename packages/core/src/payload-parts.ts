/**
 * Payloads larger than a transport's `maxPayloadBytes` travel as numbered parts and are put back
 * together by the receiver. Parts of one payload are published in order on one channel, so the
 * receiver sees them in order; the assembler still checks.
 */
import { ErrorCode, MrmError } from './errors.js';
import { decodeMessage, encodeMessage, type PartMessage, type ProtocolMessage } from './protocol.js';

/** Room left in a part for its header. */
const PART_HEADER_BYTES = 256;

/**
 * The messages to publish for `payload`: the payload itself when it fits, otherwise parts.
 * `id` must be unique per sender (e.g. `${workerId}:${counter}`).
 */
export function splitPayload(payload: Uint8Array, maxPayloadBytes: number, id: string): Uint8Array[] {
  if (payload.byteLength <= maxPayloadBytes) return [payload];
  const room = maxPayloadBytes - PART_HEADER_BYTES;
  if (room <= 0) throw new MrmError(ErrorCode.Transport, `max payload ${maxPayloadBytes} is too small to carry parts`);
  const total = Math.ceil(payload.byteLength / room);
  const parts: Uint8Array[] = [];
  for (let index = 0; index < total; index++) {
    const bytes = payload.subarray(index * room, Math.min(payload.byteLength, (index + 1) * room));
    parts.push(encodeMessage({ type: 'part', id, index, total, bytes }));
  }
  return parts;
}

/** Reassembles parts; holds at most the parts of payloads still incomplete. */
export class PartAssembler {
  private readonly pending = new Map<string, { chunks: Uint8Array[]; next: number }>();

  /** Takes one part; returns the whole payload when this was its last part. */
  accept(part: PartMessage): Uint8Array | undefined {
    let entry = this.pending.get(part.id);
    if (entry === undefined) {
      entry = { chunks: [], next: 0 };
      this.pending.set(part.id, entry);
    }
    if (part.index !== entry.next) {
      this.pending.delete(part.id);
      throw new MrmError(ErrorCode.Protocol, `part ${part.index} of ${part.id} arrived out of order`);
    }
    entry.chunks.push(part.bytes);
    entry.next++;
    if (entry.next < part.total) return undefined;
    this.pending.delete(part.id);
    const whole = new Uint8Array(entry.chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const c of entry.chunks) {
      whole.set(c, at);
      at += c.byteLength;
    }
    return whole;
  }

  /**
   * Decodes a received payload, reassembling parts: the message and the size of its whole
   * payload, or undefined while a payload is still incomplete.
   */
  receive(payload: Uint8Array): { message: ProtocolMessage; bytes: number } | undefined {
    const m = decodeMessage(payload);
    if (m.type !== 'part') return { message: m, bytes: payload.byteLength };
    const whole = this.accept(m);
    return whole === undefined ? undefined : { message: decodeMessage(whole), bytes: whole.byteLength };
  }
}
