/**
 * The merge side of salting (docs/decisions/0016-salted-hot-keys.md), for one run:
 *
 * - A partition holding sub-keys of hot keys reduces them as soon as its batch is complete (not
 *   when it is merged: that could wait on partials itself) and forwards each result, as a
 *   `partials` message, to the owner of the key's home partition.
 * - A home partition keeps the partials it receives per batch and attempt; its batch is complete
 *   only when the batch-end marker's `partialsFrom` partitions have all sent theirs. Merging then
 *   folds them into the key's state with the job's `merge`, after the batch's own values.
 *
 * Sub-keys are never merged into any state, so results, queries, versions and hashes never see them.
 */
import {
  type CanonicalKey,
  isSubKey,
  keyOf,
  type MessageBody,
  type PartialsMessage,
  parseSubKey,
  type ResolvedJob,
  unstorableReason,
} from '@mrm/core';
import { BadResult, resultMessage, userCodeError } from './partition-merger.js';
import { ValueBuffer } from './value-buffer.js';

/** Sends a message to a merge worker's `frames` channel. */
export type ForwardPartials = (workerId: string, message: MessageBody) => void;

/** What salting adds to a batch being received on one partition. */
export interface SaltedIncoming {
  attempt: number;
  /** Values of sub-keys held here, by wire key (home partition + canonical key). */
  salted?: ValueBuffer;
  /** Set once the sub-keys were reduced and forwarded. */
  forwarded?: boolean;
}

/** Partials received for one (batch, home partition). */
interface Received {
  readonly attempt: number;
  readonly bySource: Map<number, unknown[]>;
  /** Keys whose sub-key reduce threw on a source partition (`skip`), with the message. */
  readonly failed: Map<CanonicalKey, string>;
}

/** The partials of a batch about to merge on its home partition. */
export interface TakenPartials {
  /** Flat `[key, partial, …]` lists, in source order. */
  readonly lists: unknown[][];
  /** Keys to set aside for this batch (their reduce threw on a source partition). */
  readonly failed: ReadonlyMap<CanonicalKey, string>;
}

/** What goes to one home partition. */
interface Outgoing {
  readonly entries: unknown[];
  readonly failed: unknown[];
}

/** Salting state of one run on one merge worker. */
export class SaltedPartials {
  private readonly received = new Map<string, Received>();

  constructor(
    private readonly job: ResolvedJob,
    private readonly jobId: string,
    private readonly run: number,
    private readonly owners: readonly string[] | undefined,
    private readonly forwardTo: ForwardPartials | undefined,
    /** `skip`: a sub-key whose reduce throws is reported to its home partition, not fatal. */
    private readonly onError: 'fail' | 'skip' = 'fail',
  ) {}

  /** Adds a frame's pairs: keys to `buffer`, sub-keys to the incoming batch's salted buffer. */
  absorb(inc: SaltedIncoming, buffer: ValueBuffer, pairs: readonly unknown[]): void {
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const k = pairs[i] as string;
      if (isSubKey(k)) {
        inc.salted ??= new ValueBuffer(this.job, this.onError);
        inc.salted.add(k, pairs[i + 1]);
      } else buffer.add(k, pairs[i + 1]);
    }
  }

  /**
   * Reduces the complete batch's sub-keys held on `partition` and forwards the results to their
   * home partitions' owners (once per batch and attempt). Returns the values reduced.
   */
  forward(seq: number, partition: number, batchId: string, inc: SaltedIncoming): number {
    if (inc.forwarded === true || inc.salted === undefined) return 0;
    inc.forwarded = true;
    const byHome = new Map<number, Outgoing>();
    let reduced = 0;
    for (const [wire, values] of inc.salted.values) {
      const { home, canonical } = parseSubKey(wire);
      let out = byHome.get(home);
      if (out === undefined) {
        // Even when every sub-key fails: the home partition waits for a message from each source.
        out = { entries: [], failed: [] };
        byHome.set(home, out);
      }
      let partial: unknown;
      try {
        partial = this.job.reduce(keyOf(canonical), values);
        const bad = unstorableReason(partial);
        if (bad !== undefined) throw new BadResult(bad);
      } catch (e) {
        if (this.onError !== 'skip') throw userCodeError('reduce', canonical, batchId, e, this.job.name);
        out.failed.push(canonical, resultMessage('reduce', e));
        continue;
      }
      reduced += values.length;
      out.entries.push(canonical, partial);
    }
    inc.salted = undefined;
    for (const [home, { entries, failed }] of byHome) {
      const owner = this.owners?.[home];
      if (owner === undefined || this.forwardTo === undefined) continue;
      this.forwardTo(owner, {
        type: 'partials',
        jobId: this.jobId,
        run: this.run,
        seq,
        attempt: inc.attempt,
        partition: home,
        source: partition,
        entries,
        ...(failed.length > 0 ? { failed } : {}),
      });
    }
    return reduced;
  }

  /** Keeps partials for a home partition (a newer attempt replaces an older one's). */
  receive(m: PartialsMessage): void {
    const id = `${m.seq}/${m.partition}`;
    let r = this.received.get(id);
    if (r !== undefined && m.attempt < r.attempt) return;
    if (r === undefined || m.attempt > r.attempt) {
      r = { attempt: m.attempt, bySource: new Map(), failed: new Map() };
      this.received.set(id, r);
    }
    r.bySource.set(m.source, m.entries);
    const failed = m.failed ?? [];
    for (let i = 0; i + 1 < failed.length; i += 2) r.failed.set(failed[i] as CanonicalKey, String(failed[i + 1]));
  }

  /** True when every partition the marker names has sent its partials for this attempt. */
  ready(seq: number, partition: number, attempt: number, from: readonly number[] | undefined): boolean {
    if (from === undefined || from.length === 0) return true;
    const r = this.received.get(`${seq}/${partition}`);
    if (r === undefined || r.attempt !== attempt) return false;
    for (const p of from) if (!r.bySource.has(p)) return false;
    return true;
  }

  /** Takes the partials of a batch about to merge, and the keys to set aside. */
  take(seq: number, partition: number, from: readonly number[] | undefined): TakenPartials {
    const id = `${seq}/${partition}`;
    const r = this.received.get(id);
    this.received.delete(id);
    if (r === undefined || from === undefined) return { lists: [], failed: new Map() };
    return { lists: from.map((p) => r.bySource.get(p) ?? []), failed: r.failed };
  }

  /** Forgets everything (the run closes). */
  clear(): void {
    this.received.clear();
  }
}
