/**
 * Workers announce themselves to the coordinator with a heartbeat every interval, and answer its
 * liveness probe on the same connection (decisions/0024).
 */
import { encodeApi, type WorkerResources, type WorkerRole } from './api.js';
import type { Clock, TimerHandle } from './ports/clock.js';
import type { Subscription, Transport } from './ports/transport.js';

/** Options of {@link startHeartbeat}. */
export interface HeartbeatOptions {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly workerId: string;
  readonly role: WorkerRole;
  /** Default 1 s; the coordinator's loss timeout should be several intervals. */
  readonly intervalMs?: number;
  /** Counters sent with every beat. */
  readonly stats: () => Readonly<Record<string, number>>;
  /** CPU and memory of the process, sampled at every beat. */
  readonly resources?: () => WorkerResources;
  /** What the worker is doing now. */
  readonly phase?: () => string;
  /** Where the worker serves its metrics. */
  readonly metricsUrl?: string;
  /** The id of the worker's state store (see HeartbeatMessage.incarnation). */
  readonly incarnation?: string;
  /** Beats are skipped while this says false (a heartbeat thread whose main thread hung). */
  readonly alive?: () => boolean;
}

/** What a worker answers to the coordinator's liveness probe (any reply means "here"). */
const HERE = new Uint8Array(0);

/**
 * Answers the coordinator's liveness probe on `transport` until unsubscribed. While the process
 * lives, the subscription exists; when it dies, the server drops it with the connection, and a
 * probe gets "no responders" at once: a positive sign of death, where silence proves nothing.
 */
function answerLiveness(transport: Transport, workerId: string): Subscription {
  return transport.subscribe({ kind: 'liveness', workerId }, (_payload, reply) => reply?.(HERE));
}

/**
 * Sends a heartbeat now and every interval, and answers the liveness probe on the same
 * connection ({@link answerLiveness}), until the returned handle is cancelled.
 */
export function startHeartbeat(options: HeartbeatOptions): TimerHandle {
  const startedAtMs = options.clock.nowMs();
  const liveness = answerLiveness(options.transport, options.workerId);
  const beat = () => {
    if (options.transport.state === 'closed' || options.alive?.() === false) return;
    try {
      options.transport.publish(
        { kind: 'heartbeats' },
        encodeApi({
          type: 'heartbeat',
          workerId: options.workerId,
          role: options.role,
          startedAtMs,
          stats: options.stats(),
          ...(options.resources !== undefined ? { resources: options.resources() } : {}),
          ...(options.phase !== undefined ? { phase: options.phase() } : {}),
          ...(options.metricsUrl !== undefined ? { metricsUrl: options.metricsUrl } : {}),
          ...(options.incarnation !== undefined ? { incarnation: options.incarnation } : {}),
        }),
      );
    } catch {
      // A beat lost while reconnecting is replaced by the next one.
    }
  };
  beat();
  const timer = options.clock.every(options.intervalMs ?? 1000, beat);
  return {
    cancel() {
      timer.cancel();
      liveness.unsubscribe();
    },
  };
}
