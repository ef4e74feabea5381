/**
 * StreamLog on JetStream: one stream per input subject (file storage, limits retention, so a
 * record stays readable by sequence until the stream's limits remove it). Appends are windowed
 * (many publishes in flight, each acknowledged); reads use an ordered consumer that starts at a
 * sequence and is deleted when the read ends.
 */
import {
  ErrorCode,
  errorMessage,
  isMrmError,
  MrmError,
  STREAM_SUBJECT_PATTERN,
  type StreamInfo,
  type StreamLog,
  type StreamRecord,
} from '@mrm/core';
import {
  type Consumer,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { isTimeout, isUnavailable } from './errors.js';
import { type KeepTrying, RETRY_BUDGET_MS, retried } from './retry.js';
import { inputStreamName } from './subjects.js';

/** Publishes awaited together: JetStream takes ~7k/s one by one, ~37k/s with 256 in flight here. */
const APPEND_WINDOW = 256;
/** Records asked for per pull of a read. */
const READ_BATCH = 1000;
/** JetStream API timeout of a read's consumer (creating it, pulling): short, since a failed one is made again. */
const CONSUMER_TIMEOUT_MS = 2_000;
/** Pause before a read makes its consumer again. */
const RETRY_PAUSE_MS = 250;

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

  /**
   * `replicas` gives the JetStream replicas of a stream this log creates (default 1); `keepTrying`
   * whether a read may go on after a failure (the transport is open, on a server with JetStream).
   */
  constructor(
    private readonly nc: NatsConnection,
    private readonly replicas: () => number = () => 1,
    private readonly keepTrying: KeepTrying = () => true,
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
    return this.#held(subject).catch(() => undefined);
  }

  /**
   * The records the stream holds, or undefined when it does not exist. A failure to ask (a
   * stream leader being elected after a node was lost) is retried like every read of this
   * transport, then thrown: it never reads as "no records".
   */
  async #held(subject: string): Promise<StreamInfo | undefined> {
    const jsm = await this.#manager();
    return retried(
      'idempotent',
      async () => {
        try {
          const { state } = await jsm.streams.info(inputStreamName(subject));
          return { firstSeq: state.first_seq, lastSeq: state.last_seq };
        } catch (e) {
          if (e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound) return undefined;
          throw e;
        }
      },
      this.keepTrying,
    );
  }

  async *read(subject: string, from: number, to: number, signal?: AbortSignal): AsyncIterable<StreamRecord> {
    checkSubject(subject);
    if (to < from) return;
    const held = await this.#held(subject).catch((e: unknown) => {
      throw new MrmError(ErrorCode.Transport, `asking what stream '${subject}' holds failed: ${errorMessage(e)}`, {
        cause: e,
      });
    });
    if (held === undefined || from < held.firstSeq || to > held.lastSeq) {
      const have = held === undefined || held.lastSeq === 0 ? 'none' : `${held.firstSeq}..${held.lastSeq}`;
      throw new MrmError(
        ErrorCode.InputMissing,
        `stream '${subject}' does not hold records ${from}..${to} (it holds ${have}; were they removed by the stream's limits?)`,
      );
    }
    // A short API timeout: a consumer placed on a dead peer fails fast and is made again (below).
    const js = jetstream(this.nc, { timeout: CONSUMER_TIMEOUT_MS });
    let next = from;
    // Time left to get past a failure; renewed by every record read.
    let deadline = Date.now() + RETRY_BUDGET_MS;
    while (next <= to) {
      let consumer: Consumer | undefined;
      try {
        consumer = await js.consumers.get(inputStreamName(subject), {
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: next,
        });
        while (next <= to) {
          if (signal?.aborted) throw signal.reason;
          const messages = await consumer.fetch({ max_messages: Math.min(READ_BATCH, to - next + 1), expires: 5000 });
          let got = 0;
          for await (const m of messages) {
            got++;
            if (m.seq < next) continue;
            if (m.seq > to) break;
            next = m.seq + 1;
            deadline = Date.now() + RETRY_BUDGET_MS;
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
      } catch (e) {
        // On a NATS cluster that lost a node, the consumer is often placed on the dead peer (its
        // requests time out) or the stream has no leader yet: read on from `next` with a new one.
        const again = isTimeout(e) || isUnavailable(e);
        if (!again || Date.now() >= deadline || !this.keepTrying()) {
          if (isMrmError(e) || signal?.aborted) throw e;
          throw new MrmError(ErrorCode.Transport, `reading stream '${subject}' failed: ${errorMessage(e)}`, {
            cause: e,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
      } finally {
        await consumer?.delete().catch(() => {});
      }
    }
  }
}
