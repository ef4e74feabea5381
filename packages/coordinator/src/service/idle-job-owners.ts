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
import { saveOwners, storedOwners } from './partition-owners.js';
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
    // Nothing committed, nothing to read; a running job's run moves its own partitions.
    if (dead.length === 0 || job.version === 0 || running()) return owners;
    const lostParts = owners.flatMap((w, p) => (dead.includes(w) ? [p] : []));
    const where = `partition${lostParts.length > 1 ? 's' : ''} ${lostParts.join(', ')} of job '${job.name}' ${lostParts.length > 1 ? 'were' : 'was'} on merge worker${dead.length > 1 ? 's' : ''} ${dead.join(', ')}, which ${dead.length > 1 ? 'are' : 'is'} not running`;
    if (!job.incremental || leases === undefined) {
      throw new MrmError(
        ErrorCode.State,
        `${where}; a job without merge keeps no copies to restore ${lostParts.length > 1 ? 'them' : 'it'} from: start ${dead.length > 1 ? 'them' : 'it'} again with the same --id and --state, or run the job again`,
      );
    }
    const live = registry.alive(WorkerRole.Merge);
    if (live.length === 0) {
      throw new MrmError(ErrorCode.State, `no merge worker is running to serve job '${job.name}' (${where})`);
    }
    const next = replaceLostOwners(owners, live);
    logger.info('moving partitions of an idle job away from lost merge workers', {
      job: job.name,
      lost: dead.join(','),
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
    await saveOwners(store, job.name, { owners: next, moved: lostParts.length }, logger);
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
