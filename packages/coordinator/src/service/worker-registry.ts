/**
 * Workers known to the coordinator, from their heartbeats. A worker whose heartbeats stop for
 * `timeoutMs` is lost: the registry says so once (and again only if it comes back and is lost
 * again). So is a worker whose id comes back from a new process (another `startedAtMs`) before
 * the timeout, and one the liveness probe found gone ({@link WorkerRegistry.declareLost}).
 */
import type { Clock, HeartbeatMessage, TimerHandle, WorkerRole, WorkerStatus } from '@mrm/core';

interface Entry {
  readonly role: WorkerRole;
  startedAtMs: number;
  lastSeenMs: number;
  alive: boolean;
  /** The last heartbeat. */
  beat: HeartbeatMessage;
}

/** Heartbeat bookkeeping. */
export class WorkerRegistry {
  private readonly workers = new Map<string, Entry>();
  /** When each worker was last found lost. */
  private readonly lostAtMs = new Map<string, number>();
  private timer: TimerHandle | undefined;
  /** When the last check ran; a check much later than its interval means this process was busy. */
  private lastCheckMs: number | undefined;
  private readonly joinListeners = new Set<() => void>();
  private readonly lostListeners = new Set<(workerId: string) => void>();

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    private readonly onLost: (workerId: string, role: WorkerRole, why: string) => void,
    private readonly onJoined: (workerId: string, role: WorkerRole) => void = () => {},
  ) {}

  /** Starts checking for lost workers. */
  start(): void {
    this.timer = this.clock.every(this.checkEveryMs, () => this.check());
  }

  private get checkEveryMs(): number {
    return Math.max(50, Math.floor(this.timeoutMs / 4));
  }

  /** Stops checking. */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Takes a heartbeat. */
  heartbeat(h: HeartbeatMessage): void {
    const now = this.clock.nowMs();
    const entry = this.workers.get(h.workerId);
    // The same id from a new process (a restarted container keeps its name): the old process is
    // gone, and with it everything it held in memory (open runs, credits). It is lost first, then
    // joins again; without the loss a run would wait forever for the old process's reports.
    if (entry?.alive === true && entry.startedAtMs !== h.startedAtMs) {
      this.lose(h.workerId, entry, 'it came back as a new process');
    }
    if (entry === undefined || !entry.alive || entry.startedAtMs !== h.startedAtMs) {
      this.workers.set(h.workerId, {
        role: h.role,
        startedAtMs: h.startedAtMs,
        lastSeenMs: now,
        alive: true,
        beat: h,
      });
      this.onJoined(h.workerId, h.role);
      for (const listener of [...this.joinListeners]) listener();
      return;
    }
    entry.lastSeenMs = now;
    entry.beat = h;
  }

  private check(): void {
    const now = this.clock.nowMs();
    const late = this.lastCheckMs !== undefined && now - this.lastCheckMs > 2 * this.checkEveryMs;
    this.lastCheckMs = now;
    // Our own event loop was blocked: the heartbeats that arrived meanwhile are still queued
    // behind this timer. Judge nobody until they have been read.
    if (late) return;
    for (const [id, entry] of this.workers) {
      if (entry.alive && now - entry.lastSeenMs > this.timeoutMs) {
        this.lose(id, entry, `no heartbeat for ${this.timeoutMs} ms`);
      }
    }
  }

  /**
   * Loses the worker now, if it is alive and still the process that started at `startedAtMs` (a
   * verdict about a process says nothing of the one that replaced it). True when it was lost.
   */
  declareLost(workerId: string, startedAtMs: number, why: string): boolean {
    const entry = this.workers.get(workerId);
    if (entry?.alive !== true || entry.startedAtMs !== startedAtMs) return false;
    this.lose(workerId, entry, why);
    return true;
  }

  private lose(id: string, entry: Entry, why: string): void {
    entry.alive = false;
    this.lostAtMs.set(id, this.clock.nowMs());
    this.onLost(id, entry.role, why);
    for (const listener of [...this.lostListeners]) listener(id);
  }

  /** Calls `listener` whenever a worker joins (or comes back); returns the unsubscribe. */
  onJoin(listener: () => void): () => void {
    this.joinListeners.add(listener);
    return () => this.joinListeners.delete(listener);
  }

  /** Calls `listener` whenever a worker is found lost; returns the unsubscribe. */
  onLoss(listener: (workerId: string) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /** Ids of the live workers of a role, sorted. */
  alive(role: WorkerRole): string[] {
    return [...this.workers]
      .filter(([, e]) => e.alive && e.role === role)
      .map(([id]) => id)
      .sort();
  }

  /** True when every live worker has sent a heartbeat at or after `sinceMs`. */
  allHeardSince(sinceMs: number): boolean {
    for (const e of this.workers.values()) if (e.alive && e.lastSeenMs < sinceMs) return false;
    return true;
  }

  /** True when the worker was found lost at or after `sinceMs` (it may be back since). */
  lostSince(workerId: string, sinceMs: number): boolean {
    return (this.lostAtMs.get(workerId) ?? Number.NEGATIVE_INFINITY) >= sinceMs;
  }

  /** True when the worker is alive. */
  isAlive(workerId: string): boolean {
    return this.workers.get(workerId)?.alive === true;
  }

  /** The store incarnation a live merge worker last reported (see HeartbeatMessage.incarnation). */
  incarnation(workerId: string): string | undefined {
    const e = this.workers.get(workerId);
    return e?.alive === true ? e.beat.incarnation : undefined;
  }

  /** What a live worker last said it was doing. */
  phase(workerId: string): string | undefined {
    const e = this.workers.get(workerId);
    return e?.alive === true ? e.beat.phase : undefined;
  }

  /** Every worker ever seen, for status. */
  list(): WorkerStatus[] {
    return [...this.workers].map(([workerId, e]) => ({
      workerId,
      role: e.role,
      alive: e.alive,
      lastSeenMs: e.lastSeenMs,
      startedAtMs: e.startedAtMs,
      stats: e.beat.stats,
      ...(e.beat.resources !== undefined ? { resources: e.beat.resources } : {}),
      ...(e.beat.phase !== undefined ? { phase: e.beat.phase } : {}),
      ...(e.beat.metricsUrl !== undefined ? { metricsUrl: e.beat.metricsUrl } : {}),
    }));
  }
}
