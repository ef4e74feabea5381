/**
 * One coordinator leads; the others stand by (decisions/0020). The lead is an entry in the
 * {@link LEADER_BUCKET} key/value bucket; the leader renews it with compare-and-set on its revision
 * every quarter of the lease. A standby polls the entry and takes over (compare-and-set on the
 * revision it saw) once the revision has not changed for a whole lease, measured on its own clock
 * — no clocks are compared across machines — or at once when the leader released it on a clean
 * stop. Exactly one of two racing standbys wins.
 *
 * Fencing: a leader whose renewal finds another revision has lost the lead for good
 * ({@link LeaderLease.lost} settles). Before every durable write the coordinator calls
 * {@link LeaderLease.confirm}, which renews first unless the last renewal was sent less than half a
 * lease ago; a standby cannot have taken over within a lease of that renewal.
 *
 * ```ts
 * const lease = await LeaderLease.open({ transport, id: 'host-a:4242', logger });
 * await lease.acquire(signal);           // "standing by" … "leading"
 * const records = await KvRecordStore.open(transport, { guard: () => lease.confirm() });
 * const why = await lease.lost;          // another coordinator took over
 * ```
 */
import {
  type Clock,
  decode,
  ErrorCode,
  encode,
  isKvConflict,
  type KeyValueBucket,
  type Logger,
  MrmError,
  silentLogger,
  systemClock,
  type TimerHandle,
  type Transport,
} from '@mrm/core';
import { DEFAULT_LEADER_LEASE_MS } from '../defaults.js';

/** Key/value bucket of the coordinators' lead. */
export const LEADER_BUCKET = 'leader';
/** The one key of {@link LEADER_BUCKET}. */
const KEY = 'coordinator';
/**
 * How long {@link LeaderLease.confirm} keeps trying to renew while NATS does not answer (a
 * restarted server's JetStream takes a moment): the write it guards waits rather than fails.
 */
const CONFIRM_PATIENCE_MS = 30_000;
/** A standby reads the lease this many times per lease (at most every second). */
const POLLS_PER_LEASE = 8;
const MAX_POLL_MS = 1_000;

/** The value of the lead's entry. */
interface LeaderRecord {
  /** The leading coordinator. */
  readonly id: string;
  /** When it took the lead (its clock; for people reading the bucket). */
  readonly sinceMs: number;
  /** Set by a leader that stopped cleanly: a standby takes over at once. */
  readonly released?: boolean;
}

/**
 * True when a coordinator leads the cluster or may take the lead soon: the lead's entry exists and
 * its holder did not release it (it leads, or died and a standby takes over once the lease has run
 * out). False when no coordinator ever led here, or the last one stopped cleanly. A client whose
 * request to the coordinator found nobody waits for a takeover only in the first case.
 */
export async function coordinatorExpected(transport: Transport): Promise<boolean> {
  const entry = await (await transport.bucket(LEADER_BUCKET)).get(KEY);
  return entry !== undefined && decode<LeaderRecord>(entry.value).released !== true;
}

/** Options of {@link LeaderLease.open}. */
export interface LeaderLeaseOptions {
  readonly transport: Transport;
  /** This coordinator, as logs and the other coordinators name it (unique per process). */
  readonly id: string;
  /** A standby takes over after the lead has not been renewed for this long (default {@link DEFAULT_LEADER_LEASE_MS}). */
  readonly leaseMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** Where this process stands. */
export type LeaderState = 'standing-by' | 'leading' | 'lost' | 'released';

/** This process's side of the coordinators' lead. */
export class LeaderLease {
  private leaderState: LeaderState = 'standing-by';
  /** Revision of the entry this process wrote last (while leading). */
  private revision = 0;
  /** When the last renewal that succeeded was sent (this process's clock). */
  private confirmedAtMs = Number.NEGATIVE_INFINITY;
  /** When this process took the lead. */
  private sinceMs = 0;
  private renewTimer: TimerHandle | undefined;
  private renewing: Promise<void> | undefined;
  private settleLost: (reason: MrmError) => void = () => {};
  /** Settles when this process has lost the lead (another coordinator took over). */
  lost: Promise<MrmError> = new Promise(() => {});

  private constructor(
    private readonly bucket: KeyValueBucket,
    readonly id: string,
    readonly leaseMs: number,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Opens (creating if needed) the bucket of the lead. */
  static async open(options: LeaderLeaseOptions): Promise<LeaderLease> {
    const leaseMs = options.leaseMs ?? DEFAULT_LEADER_LEASE_MS;
    if (!Number.isSafeInteger(leaseMs) || leaseMs < 100) {
      throw new MrmError(ErrorCode.BadOption, `leader-lease must be at least 100 milliseconds, got ${String(leaseMs)}`);
    }
    return new LeaderLease(
      await options.transport.bucket(LEADER_BUCKET),
      options.id,
      leaseMs,
      options.clock ?? systemClock,
      options.logger ?? silentLogger,
    );
  }

  /** Where this process stands. */
  get state(): LeaderState {
    return this.leaderState;
  }

  /**
   * Resolves once this process leads; until then it stands by, watching the lead. Rejects with the
   * signal's reason when aborted.
   */
  async acquire(signal: AbortSignal): Promise<void> {
    if (this.leaderState === 'leading') return;
    this.leaderState = 'standing-by';
    const pollMs = Math.min(MAX_POLL_MS, Math.max(10, Math.floor(this.leaseMs / POLLS_PER_LEASE)));
    /** The revision seen, and since when without a change (reset by a failed read: silence proves nothing). */
    let seen: { revision: number; sinceMs: number } | undefined;
    let announced: string | undefined;
    for (;;) {
      signal.throwIfAborted();
      try {
        const entry = await this.bucket.get(KEY);
        const now = this.clock.nowMs();
        const holder = entry !== undefined ? decode<LeaderRecord>(entry.value) : undefined;
        // Released, or our own entry (a take whose answer was lost): nobody else leads.
        if (entry === undefined || holder?.released === true || holder?.id === this.id) {
          if (await this.take(entry?.revision, holder?.id)) return;
        } else if (seen?.revision !== entry.revision) {
          seen = { revision: entry.revision, sinceMs: now };
          if (announced !== holder?.id) {
            announced = holder?.id;
            this.logger.info('standing by', { coordinator: this.id, leader: holder?.id ?? '?' });
          }
        } else if (now - seen.sinceMs >= this.leaseMs) {
          if (await this.take(entry.revision, holder?.id, now - seen.sinceMs)) return;
          seen = undefined;
        }
      } catch (e) {
        seen = undefined;
        this.logger.warn('cannot read the coordinators lead', { error: String(e) });
      }
      await this.clock.sleep(pollMs, signal);
    }
  }

  /**
   * Resolves when this process still leads and may write; throws `E_FENCED` when it lost the lead.
   * Renews first unless the last renewal was sent less than half a lease ago.
   */
  async confirm(): Promise<void> {
    const startedMs = this.clock.nowMs();
    for (;;) {
      this.assertLeading();
      if (this.clock.nowMs() - this.confirmedAtMs < this.leaseMs / 2) return;
      await this.renew();
      this.assertLeading();
      if (this.clock.nowMs() - this.confirmedAtMs < this.leaseMs / 2) return;
      if (this.clock.nowMs() - startedMs >= CONFIRM_PATIENCE_MS) {
        throw new MrmError(
          ErrorCode.Transport,
          `cannot renew the coordinator lead for ${CONFIRM_PATIENCE_MS / 1000} s (is NATS reachable?)`,
        );
      }
      await this.clock.sleep(Math.max(10, Math.floor(this.leaseMs / 4)));
    }
  }

  /** Gives the lead up at once (a clean stop): a standby takes over without waiting out the lease. */
  async release(): Promise<void> {
    if (this.leaderState !== 'leading') return;
    this.stopRenewing();
    this.leaderState = 'released';
    try {
      await this.bucket.update(KEY, this.record(true), this.revision);
      this.logger.info('released the lead', { coordinator: this.id });
    } catch (e) {
      // Another coordinator leads already, or NATS is gone: either way the lease ends by itself.
      this.logger.warn('could not release the lead', { error: String(e) });
    }
  }

  /** Stops renewing (the process is going away without a clean release). */
  close(): void {
    this.stopRenewing();
  }

  private assertLeading(): void {
    if (this.leaderState !== 'leading') {
      throw new MrmError(ErrorCode.Fenced, `coordinator ${this.id} does not lead (it is ${this.leaderState})`);
    }
  }

  private async take(revision: number | undefined, from: string | undefined, silentMs?: number): Promise<boolean> {
    const sentAtMs = this.clock.nowMs();
    this.sinceMs = sentAtMs;
    try {
      this.revision =
        revision === undefined
          ? await this.bucket.create(KEY, this.record(false))
          : await this.bucket.update(KEY, this.record(false), revision);
    } catch (e) {
      if (!isKvConflict(e)) throw e;
      // Another standby won, or the leader renewed just now; unless an earlier write of ours
      // went through after all.
      if (!(await this.adoptOwnWrite())) return false;
    }
    this.confirmedAtMs = sentAtMs;
    this.sinceMs = sentAtMs;
    this.leaderState = 'leading';
    this.lost = new Promise((resolve) => {
      this.settleLost = resolve;
    });
    const renewMs = Math.max(10, Math.floor(this.leaseMs / 4));
    this.renewTimer = this.clock.every(renewMs, () => void this.renew());
    this.logger.info('leading', {
      coordinator: this.id,
      ...(from !== undefined ? { after: from } : {}),
      ...(silentMs !== undefined ? { silentMs } : {}),
    });
    return true;
  }

  /** One renewal at a time; a caller arriving meanwhile waits for the one in flight. */
  private renew(): Promise<void> {
    this.renewing ??= this.doRenew().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async doRenew(): Promise<void> {
    if (this.leaderState !== 'leading') return;
    const sentAtMs = this.clock.nowMs();
    try {
      this.revision = await this.bucket.update(KEY, this.record(false), this.revision);
      this.confirmedAtMs = sentAtMs;
    } catch (e) {
      if (!isKvConflict(e)) {
        this.logger.warn('cannot renew the coordinators lead', { error: String(e) });
        return;
      }
      if (this.leaderState !== 'leading') return;
      if (await this.adoptOwnWrite().catch(() => false)) {
        this.confirmedAtMs = sentAtMs;
        return;
      }
      this.leaderState = 'lost';
      this.stopRenewing();
      const reason = new MrmError(
        ErrorCode.Fenced,
        `coordinator ${this.id} lost the lead: another coordinator took over while this one was not heard from`,
        { cause: e },
      );
      this.logger.error('lost the lead', { coordinator: this.id });
      this.settleLost(reason);
    }
  }

  /**
   * After a write lost its compare-and-set: true (and the revision taken) when the entry is this
   * process's own, i.e. an earlier write of ours went through although its answer was lost (a
   * timeout while NATS restarted). Ids are unique per process, so nobody else wrote it.
   */
  private async adoptOwnWrite(): Promise<boolean> {
    const entry = await this.bucket.get(KEY);
    if (entry === undefined) return false;
    const holder = decode<LeaderRecord>(entry.value);
    if (holder.id !== this.id || holder.released === true) return false;
    this.revision = entry.revision;
    return true;
  }

  private record(released: boolean): Uint8Array {
    return encode({
      id: this.id,
      sinceMs: this.sinceMs,
      ...(released ? { released: true } : {}),
    } satisfies LeaderRecord);
  }

  private stopRenewing(): void {
    this.renewTimer?.cancel();
    this.renewTimer = undefined;
  }
}
