/**
 * Loss detection by a positive sign of death (decisions/0024). Heartbeat silence is slow proof
 * (beats are a second apart and a loaded machine delays them, so the timeout must be several of
 * them), and it cannot tell a killed process from a busy one. NATS can: when a process dies, its
 * TCP connections close and nats-server drops their subscriptions at once, so a request to a
 * subject only that process subscribed is answered "no responders" right away.
 *
 * Every `everyMs` the coordinator asks each live worker on its `liveness` channel, which the
 * worker's heartbeat connection answers (a thread the main thread cannot block). What counts:
 * - a reply, or a timeout: nothing — a busy or slow worker; its heartbeats judge it as before;
 * - "no responders": the heartbeat connection is gone. Confirmed on the worker's main connection
 *   (its `stats` channel: no responders too), and both again {@link CONFIRM_AFTER_MS} later (a
 *   connection moving to another node of a NATS cluster is back by then), the worker is lost now.
 *
 * A false verdict costs a partition move, never correctness: leases fence the old owner.
 */
import { type Channel, type Clock, isMrmError, type Logger, type TimerHandle, type Transport } from '@mrm/core';
import type { WorkerRegistry } from './worker-registry.js';

/** How long a probe waits for a reply before it counts for nothing (a busy worker). */
export const PROBE_TIMEOUT_MS = 1_000;
/** Both connections found gone are looked at again this much later before the worker is lost. */
export const CONFIRM_AFTER_MS = 250;

/** Options of {@link LivenessProbe}. */
export interface LivenessProbeOptions {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly registry: WorkerRegistry;
  readonly logger: Logger;
  /** Every live worker is probed this often. */
  readonly everyMs: number;
  /** False while verdicts cannot be trusted (our own connection is away or just came back). */
  readonly canJudge: () => boolean;
  /** Tests shorten it. */
  readonly timeoutMs?: number;
}

/** What one look at a worker found. */
type Look = 'gone' | 'here';

/** Probes live workers and tells the registry of those whose connections are gone. */
export class LivenessProbe {
  private timer: TimerHandle | undefined;
  /** Workers with a probe under way (one at a time each). */
  private readonly probing = new Set<string>();
  private readonly stopped = new AbortController();

  constructor(private readonly options: LivenessProbeOptions) {}

  /** Starts probing every `everyMs`. */
  start(): void {
    this.timer = this.options.clock.every(this.options.everyMs, () => this.round());
  }

  /** Stops probing; probes under way give up. */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.stopped.abort();
  }

  private round(): void {
    if (!this.options.canJudge()) return;
    for (const w of this.options.registry.list()) {
      if (!w.alive || this.probing.has(w.workerId)) continue;
      this.probing.add(w.workerId);
      void this.probe(w.workerId, w.startedAtMs).finally(() => this.probing.delete(w.workerId));
    }
  }

  /** Looks, and looks again after {@link CONFIRM_AFTER_MS}; loses the worker when both found it gone. */
  private async probe(workerId: string, startedAtMs: number): Promise<void> {
    const { clock, registry, logger } = this.options;
    if ((await this.look(workerId)) !== 'gone') return;
    try {
      await clock.sleep(CONFIRM_AFTER_MS, this.stopped.signal);
    } catch {
      return; // stopped
    }
    if ((await this.look(workerId)) !== 'gone' || !this.options.canJudge()) return;
    if (registry.declareLost(workerId, startedAtMs, 'its connections to NATS are gone (liveness probe)')) {
      logger.debug('liveness probe: no responders on the heartbeat and main connections, twice', {
        worker: workerId,
      });
    }
  }

  /** Gone only when neither the heartbeat connection nor the main one holds its subscription. */
  private async look(workerId: string): Promise<Look> {
    if (!(await this.noResponders({ kind: 'liveness', workerId }))) return 'here';
    return (await this.noResponders({ kind: 'stats', workerId })) ? 'gone' : 'here';
  }

  private async noResponders(channel: Channel): Promise<boolean> {
    if (this.stopped.signal.aborted) return false;
    try {
      await this.options.transport.request(channel, new Uint8Array(0), {
        timeoutMs: this.options.timeoutMs ?? PROBE_TIMEOUT_MS,
        signal: this.stopped.signal,
      });
      return false;
    } catch (e) {
      return isMrmError(e) && e.details?.noResponders === true;
    }
  }
}
