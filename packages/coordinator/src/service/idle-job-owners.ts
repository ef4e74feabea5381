/**
 * The owners that serve queries of a job between its runs (finished, failed, cancelled or queued).
 * A run moves a lost merge worker's partitions itself (decisions/0015); between runs nothing did,
 * so a finished job whose owner died could not be queried any more. Now the first query that
 * finds an owner dead moves that owner's partitions to the live merge workers — leases taken
 * anew, each new owner restoring them from their copies at the last committed version — and only
 * then stores and answers the new owners (decisions/0037). A query never reads a partition from
 * a worker that has not restored it, and never skips one: with nobody to serve it, it fails.
 */
import {
  ErrorCode,
  encodeMessage,
  expectAck,
  type Logger,
  MrmError,
  type PartitionCopyPlan,
  type RecordStore,
  type Transport,
  WorkerRole,
} from '@mrm/core';
import { replaceLostOwners } from '../partition-assignment.js';
import type { PartitionLeases } from '../partition-leases.js';
import { saveOwners, storedIncarnations, storedOwners } from './partition-owners.js';
import type { WorkerRegistry } from './worker-registry.js';

/** Options of {@link IdleJobOwners}. */
export interface IdleJobOwnersOptions {
  readonly store: RecordStore;
  readonly transport: Transport;
  readonly registry: WorkerRegistry;
  /** Absent: partitions cannot move (no copies), and a dead owner's partitions are an error. */
  readonly leases: PartitionLeases | undefined;
  readonly logger: Logger;
  /** How long a merge worker may take to restore what it is given. */
  readonly restoreTimeoutMs: number;
  /**
   * Resolves once the registry has had time to hear every live worker (a coordinator that just
   * started or took over knows nobody yet: its owners are not dead for that).
   */
  readonly settled: () => Promise<void>;
}

/** What a query needs to know of a job. */
export interface IdleJob {
  readonly name: string;
  /** A job with `merge`: it keeps copies of its partitions, which can move. */
  readonly incremental: boolean;
  /** The job's last committed version (0: none). */
  readonly version: number;
}

/** Moves partitions of idle jobs away from dead owners, one move per job at a time. */
export class IdleJobOwners {
  /** Moves under way, by job name: a second query waits for the first one's. */
  private readonly moving = new Map<string, Promise<string[]>>();

  constructor(private readonly options: IdleJobOwnersOptions) {}

  /**
   * The owners to read `job` from: the stored ones while every one is alive (or while the job
   * runs: its run moves them), else the owners after moving the dead ones' partitions. Throws
   * one line when they cannot move: no merge worker alive, or a job without copies.
   */
  owners(job: IdleJob, running: () => boolean): Promise<string[]> {
    const under = this.moving.get(job.name);
    if (under !== undefined) return under;
    const work = this.serve(job, running).finally(() => this.moving.delete(job.name));
    this.moving.set(job.name, work);
    return work;
  }

  /** Resolves once no move of `name` is under way (a run of the job waits for it before it starts). */
  async settled(name: string): Promise<void> {
    await this.moving.get(name)?.catch(() => {});
  }

  private async serve(job: IdleJob, running: () => boolean): Promise<string[]> {
    const { store, registry, leases, logger } = this.options;
    const owners = await storedOwners(store, job.name);
    const deadNow = () => [...new Set(owners)].filter((w) => !registry.isAlive(w));
    if (deadNow().length > 0) await this.options.settled();
    const dead = deadNow();
    const emptied = emptiedOwners(owners, await storedIncarnations(store, job.name), registry);
    const lost = [...dead, ...emptied];
    // Nothing committed, nothing to read; a running job's run moves its own partitions.
    if (lost.length === 0 || job.version === 0 || running()) return owners;
    const lostParts = owners.flatMap((w, p) => (lost.includes(w) ? [p] : []));
    const where = describeLoss(job.name, owners, dead, emptied);
    if (!job.incremental || leases === undefined) {
      const again =
        emptied.length > 0
          ? 'run the job again'
          : `start ${dead.length > 1 ? 'them' : 'it'} again with the same --id and --state, or run the job again`;
      throw new MrmError(ErrorCode.State, `${where}; a job without merge keeps no copies to restore from: ${again}`);
    }
    const live = registry.alive(WorkerRole.Merge);
    if (live.length === 0) {
      throw new MrmError(ErrorCode.State, `no merge worker is running to serve job '${job.name}' (${where})`);
    }
    // An emptied owner is alive: it may take partitions again (its own, mostly), restoring them.
    const next = replaceLostOwners(
      owners.map((w) => (emptied.includes(w) ? '' : w)),
      live,
    );
    logger.info('moving partitions of an idle job away from lost merge workers', {
      job: job.name,
      lost: dead.join(','),
      emptied: emptied.join(','),
      partitions: lostParts.length,
      version: job.version,
    });
    const runLeases = await leases.prepare(job.name, next, job.version);
    const lostSet = new Set(lostParts);
    await Promise.all(
      [...new Set(lostParts.map((p) => next[p] as string))].map((worker) =>
        this.restore(
          worker,
          job,
          runLeases.plansFor(worker).filter((plan) => lostSet.has(plan.partition)),
        ),
      ),
    );
    // Stored only now: a query reads a partition only from an owner that holds it.
    const moved = next.filter((w, p) => w !== owners[p]).length;
    await saveOwners(store, job.name, { owners: next, moved }, logger, (w) => registry.incarnation(w));
    return next;
  }

  /** Asks `worker` to restore partitions at the job's committed version; resolves on its ack. */
  private async restore(worker: string, job: IdleJob, copies: readonly PartitionCopyPlan[]): Promise<void> {
    const reply = await this.options.transport.request(
      { kind: 'worker', workerId: worker },
      encodeMessage({ type: 'restore-partitions', jobName: job.name, version: job.version, copies }),
      { timeoutMs: this.options.restoreTimeoutMs },
    );
    expectAck(reply, `restoring partitions of job '${job.name}' on merge worker ${worker}`);
  }
}

/**
 * Owners that are alive but report another store than the one they held the job's partitions in
 * (restarted under the same id with an empty `--state`): what they held is gone (decisions/0048).
 * Owners stored without an incarnation (an older coordinator) are trusted, as before.
 */
function emptiedOwners(
  owners: readonly string[],
  stored: Readonly<Record<string, string>>,
  registry: WorkerRegistry,
): string[] {
  return [...new Set(owners)].filter((w) => {
    const then = stored[w];
    const now = registry.incarnation(w);
    return then !== undefined && now !== undefined && now !== then;
  });
}

/** One clause naming the partitions of `job` that are lost, where they were, and why. */
function describeLoss(
  job: string,
  owners: readonly string[],
  dead: readonly string[],
  emptied: readonly string[],
): string {
  const plural = (n: number, one: string, many: string) => (n > 1 ? many : one);
  const clause = (workers: readonly string[], why: (n: number) => string): string => {
    const parts = owners.flatMap((w, p) => (workers.includes(w) ? [p] : []));
    return `${plural(parts.length, 'partition', 'partitions')} ${parts.join(', ')} of job '${job}' ${plural(parts.length, 'was', 'were')} on merge worker${plural(workers.length, '', 's')} ${workers.join(', ')}, which ${why(workers.length)}`;
  };
  return [
    ...(dead.length > 0 ? [clause(dead, (n) => `${plural(n, 'is', 'are')} not running`)] : []),
    ...(emptied.length > 0
      ? [clause(emptied, (n) => `${plural(n, 'has', 'have')} come back with an empty state folder`)]
      : []),
  ].join('; ');
}
