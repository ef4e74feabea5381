/**
 * Per-batch timelines of one cluster run, read off the messages a {@link ClusterSniffer} saw:
 * when each batch was dispatched to a map worker (`map-task`), merged on every merge worker
 * (`merged-through`), written into a checkpoint (`checkpoint-written`), when the coordinator asked
 * the merge workers to commit the version that covers it (`commit-version`) and when the last of
 * them acknowledged (the reply to that request): from then on the version is committed in the
 * merge workers' stores and queryable (the coordinator records it in its own store next).
 */
import { mergedSeqs, type SeenMessage } from '../lib/cluster-sniffer.js';
import { round } from '../lib/stats.js';

/** One batch's timeline, milliseconds after its dispatch (null: that step was not seen). */
export interface BatchTimeline {
  readonly seq: number;
  /** Version whose commit covers the batch. */
  readonly version: number | null;
  readonly mergedMs: number | null;
  readonly checkpointWrittenMs: number | null;
  readonly commitRequestedMs: number | null;
  readonly committedMs: number | null;
}

/** Everything read off one run's messages. */
export interface RunTimeline {
  readonly jobId: string;
  readonly batches: BatchTimeline[];
  /** Map tasks dispatched more than once (lost messages, a lost worker): their first dispatch counts. */
  readonly redispatches: number;
  /** First dispatch to last acknowledged commit, milliseconds. */
  readonly spanMs: number | null;
  /** Versions the run committed. */
  readonly versions: number;
  /** `commit-version` requests the coordinator sent (per merge worker; a group commit of several versions is one). */
  readonly commitRequests: number;
}

interface Field {
  readonly [key: string]: unknown;
}

const num = (m: Field, key: string): number => m[key] as number;

/**
 * The timelines of job `jobId`'s batches from `seen` (every message the sniffer recorded) and
 * `replyAt` (when the first reply on a request's reply subject arrived).
 */
export function runTimeline(
  seen: readonly SeenMessage[],
  jobId: string,
  replyAt: (subject: string) => number | undefined,
): RunTimeline {
  const dispatched = new Map<number, number>();
  const merged = new Map<number, number>();
  const throughSeq = new Map<number, number>();
  const written = new Map<number, number>();
  const requested = new Map<number, number>();
  /** Per version, per merge worker (the request's subject): when it first acknowledged. */
  const acked = new Map<number, Map<string, number | undefined>>();
  let redispatches = 0;
  /** `commit-version` requests seen (one per merge worker and commit; a group commit is one). */
  let commits = 0;
  for (const s of seen) {
    const m = s.message;
    if (m === undefined || m.jobId !== jobId) continue;
    switch (m.type) {
      case 'map-task': {
        if (num(m, 'attempt') > 1) redispatches++;
        const split = m.split as { batches: ReadonlyArray<{ seq: number }> };
        for (const b of split.batches) if (!dispatched.has(b.seq)) dispatched.set(b.seq, s.atMs);
        break;
      }
      case 'merged-through':
        // Cumulative reports of each merge worker: a batch is merged when the last one has it.
        for (const seq of mergedSeqs(m)) merged.set(seq, Math.max(merged.get(seq) ?? 0, s.atMs));
        break;
      case 'checkpoint-written': {
        const v = num(m, 'version');
        throughSeq.set(v, num(m, 'throughSeq'));
        written.set(v, Math.max(written.get(v) ?? 0, s.atMs));
        break;
      }
      case 'commit-version': {
        // The request carries the one VersionInfo of each version it commits (decided once by the
        // coordinator): the highest as `info`, a group commit's others in `earlier`.
        commits++;
        const infos = [...((m.earlier as Field[] | undefined) ?? []), m.info as Field];
        // A request sent again to the same worker (after lost messages) counts by its first reply.
        const ack = s.reply !== undefined ? replyAt(s.reply) : undefined;
        for (const info of infos) {
          const v = num(info, 'version');
          if (!requested.has(v)) requested.set(v, s.atMs);
          const byWorker = acked.get(v) ?? new Map<string, number | undefined>();
          const before = byWorker.get(s.subject);
          byWorker.set(s.subject, before === undefined ? ack : ack === undefined ? before : Math.min(before, ack));
          acked.set(v, byWorker);
        }
        break;
      }
    }
  }
  // Committed when every merge worker acknowledged; null when one never did.
  const committed = new Map<number, number | null>();
  for (const [v, byWorker] of acked) {
    const times = [...byWorker.values()];
    committed.set(v, times.some((t) => t === undefined) ? null : Math.max(...(times as number[])));
  }
  const versions = [...throughSeq.entries()].sort((a, b) => a[0] - b[0]);
  const coveringVersion = (seq: number): number | null => versions.find(([, through]) => through >= seq)?.[0] ?? null;
  const after = (at: number | undefined | null, from: number) =>
    at === undefined || at === null ? null : round(at - from, 2);
  const batches: BatchTimeline[] = [...dispatched.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([seq, at]) => {
      const version = coveringVersion(seq);
      return {
        seq,
        version,
        mergedMs: after(merged.get(seq), at),
        checkpointWrittenMs: version === null ? null : after(written.get(version), at),
        commitRequestedMs: version === null ? null : after(requested.get(version), at),
        committedMs: version === null ? null : after(committed.get(version), at),
      };
    });
  const first = Math.min(...dispatched.values());
  const lastAck = Math.max(...[...committed.values()].map((a) => a ?? Number.NEGATIVE_INFINITY));
  return {
    jobId,
    batches,
    redispatches,
    versions: committed.size,
    commitRequests: commits,
    spanMs: Number.isFinite(first) && Number.isFinite(lastAck) ? round(lastAck - first, 2) : null,
  };
}
