/**
 * A {@link StreamLog} in memory: records appended to an array per subject, sequence numbers from
 * 1. For tests and measurements of streaming jobs without a NATS server (records are kept for
 * as long as the object lives: no limits).
 */
import type { StreamInfo, StreamLog, StreamRecord } from '@mrm/core';

/** Append-only record logs in memory. */
export class MemoryStreamLog implements StreamLog {
  private readonly records = new Map<string, Uint8Array[]>();

  async ensure(subject: string): Promise<void> {
    if (!this.records.has(subject)) this.records.set(subject, []);
  }

  async append(subject: string, records: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<number> {
    const list = this.records.get(subject) ?? [];
    this.records.set(subject, list);
    for await (const r of records) list.push(r);
    return list.length;
  }

  async info(subject: string): Promise<StreamInfo | undefined> {
    const list = this.records.get(subject);
    return list === undefined ? undefined : { firstSeq: list.length > 0 ? 1 : 0, lastSeq: list.length };
  }

  async *read(subject: string, from: number, to: number): AsyncIterable<StreamRecord> {
    const list = this.records.get(subject) ?? [];
    for (let seq = from; seq <= to; seq++) yield { seq, data: list[seq - 1] as Uint8Array };
  }
}
