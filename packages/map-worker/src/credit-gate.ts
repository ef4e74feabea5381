/**
 * Credit-based flow control on the push path. Each merge worker grants a map worker a window of
 * bytes; the map worker spends credit for every payload it pushes and waits when it has none, so
 * a slow merge worker slows its producers down instead of buffering without bound.
 */
import { ErrorCode, MrmError } from '@mrm/core';

interface Account {
  available: number;
  readonly waiters: Array<{ bytes: number; resolve: () => void; reject: (e: unknown) => void }>;
}

/** Counters exposed as metrics. */
export interface CreditStats {
  /** Times a push had to wait for credit. */
  readonly waits: number;
  /** Total milliseconds spent waiting. */
  readonly waitMs: number;
}

/** Credits per merge worker. */
export class CreditGate {
  private readonly accounts = new Map<string, Account>();
  private waits = 0;
  private waitMs = 0;

  /** `windowBytes`: the credit a producer starts with towards each merge worker. */
  constructor(readonly windowBytes: number) {}

  private account(to: string): Account {
    let a = this.accounts.get(to);
    if (a === undefined) {
      a = { available: this.windowBytes, waiters: [] };
      this.accounts.set(to, a);
    }
    return a;
  }

  /**
   * Spends `bytes` of credit towards `to`, waiting for grants when there is not enough. A payload
   * larger than the whole window waits for the full window and then overdraws it. Rejects when
   * `signal` is (or becomes) aborted.
   */
  acquire(to: string, bytes: number, signal?: AbortSignal): Promise<void> | undefined {
    // An abort listener never fires for a signal aborted already: such a push would wait for
    // good when `to` is gone and grants nothing back.
    if (signal?.aborted) return Promise.reject(signal.reason ?? new MrmError(ErrorCode.Aborted, 'push aborted'));
    const a = this.account(to);
    const need = Math.min(bytes, this.windowBytes);
    if (a.waiters.length === 0 && a.available >= need) {
      a.available -= bytes;
      return undefined;
    }
    this.waits++;
    const started = performance.now();
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        bytes,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          this.waitMs += performance.now() - started;
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        const i = a.waiters.indexOf(waiter);
        if (i >= 0) a.waiters.splice(i, 1);
        reject(signal?.reason ?? new MrmError(ErrorCode.Aborted, 'push aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      a.waiters.push(waiter);
    });
  }

  /** Credit granted back by `to`. */
  grant(to: string, bytes: number): void {
    const a = this.account(to);
    // Never above the window: after a reset, credit for frames sent before it may still come back.
    a.available = Math.min(this.windowBytes, a.available + bytes);
    while (a.waiters.length > 0) {
      const w = a.waiters[0];
      if (w === undefined || a.available < Math.min(w.bytes, this.windowBytes)) break;
      a.waiters.shift();
      a.available -= w.bytes;
      w.resolve();
    }
  }

  /**
   * Refills every merge worker's window: after a reconnect, frames and credits in flight may be
   * lost, and credit for a lost frame never comes back (the window would shrink for good).
   */
  resetAll(): void {
    for (const to of this.accounts.keys()) this.reset(to); // also wakes the pushes that were waiting
  }

  /** Refills the window towards `to` (its process restarted: what it owed is lost with it). */
  reset(to: string): void {
    const a = this.accounts.get(to);
    if (a === undefined) return;
    a.available = this.windowBytes;
    this.grant(to, 0);
  }

  /** Merge workers that pushes are waiting for credit from now. */
  waitingFor(): string[] {
    return [...this.accounts].filter(([, a]) => a.waiters.length > 0).map(([to]) => to);
  }

  /** Wait counters. */
  stats(): CreditStats {
    return { waits: this.waits, waitMs: this.waitMs };
  }
}
