/**
 * A {@link Clock} that stands still until the test moves it: `advance(ms)` runs every timer
 * (`after`, `every`, `sleep`) that falls due, in time order, letting promise chains settle
 * after each, so stall and timeout logic is tested without waiting.
 *
 * ```ts
 * const clock = new FakeClock();
 * const fired: number[] = [];
 * clock.after(100, () => fired.push(clock.nowMs()));
 * await clock.advance(150); // fired: [startMs + 100]
 * ```
 */
import type { Clock, TimerHandle } from '@mrm/core';

interface Timer {
  readonly id: number;
  dueMs: number;
  /** Set for `every` timers. */
  readonly periodMs: number | undefined;
  readonly fn: () => void;
}

/** The time a fake clock starts at unless told otherwise (any fixed value: tests see the same). */
export const FAKE_CLOCK_START_MS = 1_700_000_000_000;

/** Lets promise callbacks and I/O callbacks queued so far run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A clock moved by hand. */
export class FakeClock implements Clock {
  private now: number;
  private nextId = 0;
  private readonly timers = new Map<number, Timer>();

  constructor(startMs = FAKE_CLOCK_START_MS) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  after(ms: number, fn: () => void): TimerHandle {
    return this.add(ms, undefined, fn);
  }

  every(ms: number, fn: () => void): TimerHandle {
    return this.add(ms, Math.max(1, ms), fn);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        timer.cancel();
        reject(signal?.reason);
      };
      const timer = this.after(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Timers not yet fired or cancelled (a closed role leaves none). */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way in order (each at its due
   * time, with pending promise callbacks run after each).
   */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    await settle();
    for (;;) {
      const next = this.nextDue(target);
      if (next === undefined) break;
      this.now = next.dueMs;
      if (next.periodMs === undefined) this.timers.delete(next.id);
      else next.dueMs += next.periodMs;
      next.fn();
      await settle();
    }
    this.now = target;
    await settle();
  }

  private nextDue(limit: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers.values()) {
      if (t.dueMs <= limit && (best === undefined || t.dueMs < best.dueMs)) best = t;
    }
    return best;
  }

  private add(ms: number, periodMs: number | undefined, fn: () => void): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, dueMs: this.now + Math.max(0, ms), periodMs, fn });
    return { cancel: () => this.timers.delete(id) };
  }
}
