/**
 * Batches merged per second over the last minutes, for the dashboard's chart: the coordinator's
 * `mrm_batches_merged_total` increments are counted into one-second slots of a ring.
 */
import type { Metrics } from '@mrm/core';

/** Default span kept: ten minutes. */
export const DEFAULT_RATE_WINDOW_MS = 10 * 60_000;
const SLOT_MS = 1000;

/** What the dashboard draws. */
export interface RateSeries {
  /** Epoch ms of the first slot. */
  readonly startMs: number;
  readonly slotMs: number;
  /** Batches merged in each slot, oldest first; the last slot is the current one. */
  readonly counts: readonly number[];
}

/** A ring of per-second counts. */
export class MergeRate {
  private readonly slots: number[];
  private currentSlot: number;

  constructor(
    private readonly now: () => number = Date.now,
    windowMs = DEFAULT_RATE_WINDOW_MS,
  ) {
    this.slots = new Array<number>(Math.max(1, Math.ceil(windowMs / SLOT_MS))).fill(0);
    this.currentSlot = Math.floor(now() / SLOT_MS);
  }

  private advance(): void {
    const slot = Math.floor(this.now() / SLOT_MS);
    const steps = Math.min(slot - this.currentSlot, this.slots.length);
    for (let i = 0; i < steps; i++) {
      this.slots.shift();
      this.slots.push(0);
    }
    if (slot > this.currentSlot) this.currentSlot = slot;
  }

  /** Counts `n` batches merged now. */
  count(n: number): void {
    this.advance();
    this.slots[this.slots.length - 1] = (this.slots.at(-1) ?? 0) + n;
  }

  /** The series, ending with the current second. */
  series(): RateSeries {
    this.advance();
    return {
      startMs: (this.currentSlot - this.slots.length + 1) * SLOT_MS,
      slotMs: SLOT_MS,
      counts: [...this.slots],
    };
  }

  /** Metrics that count merged batches here and pass everything on to `inner`. */
  observing(inner: Metrics): Metrics {
    return {
      add: (name, value, labels) => {
        if (name === 'mrm_batches_merged_total') this.count(value);
        inner.add(name, value, labels);
      },
      set: (name, value, labels) => inner.set(name, value, labels),
      observe: (name, seconds, labels) => inner.observe(name, seconds, labels),
    };
  }
}
