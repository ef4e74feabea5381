/**
 * Failure detection by silence: any report about the run counts as progress; with none for
 * `stallTimeoutMs` the run is told it stalled (messages were probably lost) — on the run's
 * {@link Clock}, so tests move time by hand.
 */
import type { Clock, TimerHandle } from '@mrm/core';

/** Checks at most this often, whatever the stall timeout. */
const MIN_CHECK_EVERY_MS = 100;

/** Calls `onStall` after `stallTimeoutMs` without {@link touch}. */
export class StallDetector {
  private lastProgressMs: number;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly stallTimeoutMs: number,
    private readonly onStall: () => void,
  ) {
    this.lastProgressMs = clock.nowMs();
  }

  /** Starts checking (a quarter of the timeout apart). */
  start(): void {
    this.touch();
    const every = Math.max(MIN_CHECK_EVERY_MS, Math.floor(this.stallTimeoutMs / 4));
    this.timer = this.clock.every(every, () => {
      if (this.clock.nowMs() - this.lastProgressMs >= this.stallTimeoutMs) this.onStall();
    });
  }

  /** Something happened: the silence starts again from now. */
  touch(): void {
    this.lastProgressMs = this.clock.nowMs();
  }

  /** Stops checking. */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
