/**
 * Watches a running cluster from outside, without any change to the engine: NATS lets any
 * client subscribe to any subject, so a connection of our own listens to the coordinator's and
 * workers' control subjects (subject names from @mrm/transport-nats), decodes every message with
 * the core codec and stamps it with the time it arrived here. Replies to requests travel on
 * `_INBOX.>` subjects, which are listened to as well, so the moment a merge worker acknowledges a
 * commit can be matched to the request by its reply subject.
 *
 * All times come from one clock (this process's `performance.now()`), so differences between
 * them are exact up to the delivery delay of loopback NATS, which is alike for every subject.
 */
import { type Channel, decodeMessage } from '@mrm/core';
import { channelSubject, DEFAULT_NATS_PREFIX } from '@mrm/transport-nats';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';

/** One message seen. */
export interface SeenMessage {
  /** Milliseconds (performance.now()) when it arrived here. */
  readonly atMs: number;
  readonly subject: string;
  /** The reply subject, when the sender used a request. */
  readonly reply: string | undefined;
  /** The decoded message: a protocol or API message (both are `{ type, v, … }`); undefined if undecodable. */
  readonly message: ({ readonly type: string } & Record<string, unknown>) | undefined;
  readonly bytes: number;
}

/**
 * The batches a `merged-through` report tells about for the first time (`fromSeq`..`throughSeq`;
 * a resend may repeat some); none for any other message.
 */
export function mergedSeqs(message: SeenMessage['message']): number[] {
  if (message?.type !== 'merged-through') return [];
  const from = Number(message.fromSeq);
  return Array.from({ length: Number(message.throughSeq) - from + 1 }, (_, i) => from + i);
}

/** Options of {@link ClusterSniffer.start}. */
export interface SnifferOptions {
  readonly url: string;
  /** Channels to listen to (their subjects under the default prefix). */
  readonly channels: readonly Channel[];
  /** Also listen to request replies (`_INBOX.>`); their bodies are kept undecoded. */
  readonly replies?: boolean;
}

/** A connection that records every message on the chosen subjects. */
export class ClusterSniffer {
  readonly seen: SeenMessage[] = [];
  private readonly replies = new Map<string, SeenMessage>();
  private readonly waiters = new Set<(seen: SeenMessage) => void>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly subscriptions: Subscription[],
  ) {}

  /** Connects, subscribes, and resolves once the server has the subscriptions (nothing after is missed). */
  static async start(options: SnifferOptions): Promise<ClusterSniffer> {
    const nc = await connect({ servers: options.url, name: 'mrm-bench-sniffer' });
    const subscriptions: Subscription[] = [];
    const sniffer = new ClusterSniffer(nc, subscriptions);
    const subjects = options.channels.map((c) => channelSubject(DEFAULT_NATS_PREFIX, c));
    for (const subject of subjects) {
      subscriptions.push(
        nc.subscribe(subject, {
          callback: (error, msg) => {
            if (error !== null) return;
            const seen: SeenMessage = {
              atMs: performance.now(),
              subject: msg.subject,
              reply: msg.reply,
              message: decoded(msg.data),
              bytes: msg.data.byteLength,
            };
            sniffer.seen.push(seen);
            for (const waiter of sniffer.waiters) waiter(seen);
          },
        }),
      );
    }
    if (options.replies === true) {
      subscriptions.push(
        nc.subscribe('_INBOX.>', {
          callback: (error, msg) => {
            if (error !== null || sniffer.replies.has(msg.subject)) return;
            sniffer.replies.set(msg.subject, {
              atMs: performance.now(),
              subject: msg.subject,
              reply: undefined,
              message: undefined,
              bytes: msg.data.byteLength,
            });
          },
        }),
      );
    }
    await nc.flush();
    return sniffer;
  }

  /** Messages of one `type`, in arrival order. */
  ofType(type: string): SeenMessage[] {
    return this.seen.filter((s) => s.message?.type === type);
  }

  /**
   * The next message (from now on) that `matches`; rejects after `timeoutMs` saying it waited
   * for `what`.
   */
  next(matches: (seen: SeenMessage) => boolean, timeoutMs: number, what: string): Promise<SeenMessage> {
    return new Promise((resolve, reject) => {
      const waiter = (seen: SeenMessage) => {
        if (!matches(seen)) return;
        this.waiters.delete(waiter);
        clearTimeout(timer);
        resolve(seen);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** The first reply seen on `subject` (the reply inbox of a request). */
  replyOn(subject: string): SeenMessage | undefined {
    return this.replies.get(subject);
  }

  /**
   * Resolves once every message the server routed to this connection before now has been
   * recorded (a ping round trip: the server answers after what it queued for us).
   */
  async flush(): Promise<void> {
    await this.nc.flush();
  }

  /** Sends `payload` as a request on `channel` over this connection; resolves with the reply's body. */
  async request(channel: Channel, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const reply = await this.nc.request(channelSubject(DEFAULT_NATS_PREFIX, channel), payload, { timeout: timeoutMs });
    return reply.data;
  }

  /** Unsubscribes and closes the connection. */
  async close(): Promise<void> {
    for (const s of this.subscriptions) s.unsubscribe();
    await this.nc.close();
  }
}

function decoded(bytes: Uint8Array): SeenMessage['message'] {
  try {
    // Protocol and API messages share the envelope ({ type, v }) and version: one decoder reads both.
    return decodeMessage(bytes) as unknown as SeenMessage['message'];
  } catch {
    return undefined;
  }
}
