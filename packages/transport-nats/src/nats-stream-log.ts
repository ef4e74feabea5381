/**
 * StreamLog on JetStream: one stream per input subject (file storage, limits retention, so a
 * record stays readable by sequence until the stream's limits remove it). Appends are windowed
 * (many publishes in flight, each acknowledged); reads use an ordered consumer that starts at a
 * sequence and is deleted when the read ends.
 */
import {
  ErrorCode,
  errorMessage,
  MrmError,
  STREAM_SUBJECT_PATTERN,
  type StreamInfo,
  type StreamLog,
  type StreamRecord,
} from '@mrm/core';
import { DeliverPolicy, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { inputStreamName } from './subjects.js';

/** Publishes awaited together: JetStream takes ~7k/s one by one, ~37k/s with 256 in flight here. */
const APPEND_WINDOW = 256;
/** Records asked for per pull of a read. */
const READ_BATCH = 1000;

function checkSubject(subject: string): void {
  if (!STREAM_SUBJECT_PATTERN.test(subject) || subject.startsWith('mrm.') || subject.length > 200) {
    throw new MrmError(
      ErrorCode.BadOption,
      `stream subject '${subject}' must be dot-separated tokens of letters, digits, '_' and '-' (not under 'mrm.')`,
    );
  }
}

/** A {@link StreamLog} on a NATS connection with JetStream. */
export class NatsStreamLog implements StreamLog {
  #jsm: Promise<JetStreamManager> | undefined;

  /** `replicas` gives the JetStream replicas of a stream this log creates (default 1). */
  constructor(
    private readonly nc: NatsConnection,
    private readonly replicas: () => number = () => 1,
  ) {}

  #manager(): Promise<JetStreamManager> {
    this.#jsm ??= jetstreamManager(this.nc).catch((e: unknown) => {
      this.#jsm = undefined;
      throw new MrmError(ErrorCode.Transport, `JetStream is not available: ${errorMessage(e)}`, { cause: e });
    });
    return this.#jsm;
  }

  async ensure(subject: string): Promise<void> {
    checkSubject(subject);
    const jsm = await this.#manager();
    const name = inputStreamName(subject);
    try {
      await jsm.streams.info(name);
    } catch {
      await jsm.streams.add({ name, subjects: [subject], num_replicas: this.replicas() }).catch(async (e: unknown) => {
        // Created meanwhile by another process: fine.
        if ((await jsm.streams.info(name).catch(() => undefined)) === undefined) throw e;
      });
    }
  }

  async append(subject: string, records: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<number> {
    checkSubject(subject);
    const js = jetstream(this.nc);
    const inFlight: Array<Promise<{ seq: number }>> = [];
    let last = 0;
    const settle = async (n: number) => {
      while (inFlight.length > n) last = Math.max(last, (await inFlight.shift())?.seq ?? 0);
    };
    try {
      for await (const data of records) {
        inFlight.push(js.publish(subject, data));
        if (inFlight.length >= APPEND_WINDOW) await settle(APPEND_WINDOW / 2);
      }
      await settle(0);
    } catch (e) {
      await Promise.allSettled(inFlight);
      throw new MrmError(ErrorCode.Transport, `publishing to '${subject}' failed: ${errorMessage(e)}`, { cause: e });
    }
    return last;
  }

  async info(subject: string): Promise<StreamInfo | undefined> {
    checkSubject(subject);
    const jsm = await this.#manager();
    try {
      const { state } = await jsm.streams.info(inputStreamName(subject));
      return { firstSeq: state.first_seq, lastSeq: state.last_seq };
    } catch {
      return undefined;
    }
  }

  async *read(subject: string, from: number, to: number, signal?: AbortSignal): AsyncIterable<StreamRecord> {
    checkSubject(subject);
    if (to < from) return;
    const held = await this.info(subject);
    if (held === undefined || from < held.firstSeq || to > held.lastSeq) {
      const have = held === undefined || held.lastSeq === 0 ? 'none' : `${held.firstSeq}..${held.lastSeq}`;
      throw new MrmError(
        ErrorCode.InputMissing,
        `stream '${subject}' does not hold records ${from}..${to} (it holds ${have}; were they removed by the stream's limits?)`,
      );
    }
    const js = jetstream(this.nc);
    const consumer = await js.consumers.get(inputStreamName(subject), {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
    });
    let next = from;
    try {
      while (next <= to) {
        if (signal?.aborted) throw signal.reason;
        const messages = await consumer.fetch({ max_messages: Math.min(READ_BATCH, to - next + 1), expires: 5000 });
        let got = 0;
        for await (const m of messages) {
          got++;
          if (m.seq < next) continue;
          if (m.seq > to) break;
          next = m.seq + 1;
          yield { seq: m.seq, data: m.data };
          if (next > to) break;
        }
        if (got === 0) {
          throw new MrmError(
            ErrorCode.InputMissing,
            `stream '${subject}' has no record ${next} (asked for ${from}..${to}); was it removed meanwhile?`,
          );
        }
      }
    } finally {
      await consumer.delete().catch(() => {});
    }
  }
}
