/**
 * Queries of a job between its runs (decisions/0037): a dead owner's partitions move to the live
 * merge workers, which restore them, before the new owners are stored and answered; nothing moves
 * while every owner lives or while the job runs; no live merge worker, or a job without copies,
 * is one clear error.
 */
import {
  decodeMessage,
  encodeAck,
  encodeNack,
  MrmError,
  type RestorePartitionsMessage,
  silentLogger,
  type Transport,
} from '@mrm/core';
import { MemoryBus, MemoryStateStore } from '@mrm/runtime';
import { FakeClock } from '@mrm/testkit';
import { describe, expect, it } from 'vitest';
import { PartitionLeases } from '../src/partition-leases.js';
import { IdleJobOwners } from '../src/service/idle-job-owners.js';
import { saveOwners, storedOwners } from '../src/service/partition-owners.js';
import { WorkerRegistry } from '../src/service/worker-registry.js';

const JOB = 'wc';

/** Merge workers `live` beating, the job's owners stored, and what each worker was asked to restore. */
async function setup(
  owners: string[],
  live: string[],
  answer: 'ack' | 'nack' = 'ack',
  stores: { readonly then?: Record<string, string>; readonly now?: Record<string, string> } = {},
) {
  const bus = MemoryBus.create();
  const transport: Transport = bus.connect();
  const store = new MemoryStateStore();
  if (stores.then !== undefined)
    await saveOwners(store, JOB, { owners, moved: 0 }, silentLogger, (w) => stores.then?.[w]);
  else await store.putMeta(JOB, 'owners', owners);
  const registry = new WorkerRegistry(
    new FakeClock(),
    60_000,
    () => {},
    () => {},
  );
  for (const w of live)
    registry.heartbeat({
      type: 'heartbeat',
      v: 1,
      workerId: w,
      role: 'merge',
      startedAtMs: 1,
      stats: {},
      ...(stores.now?.[w] !== undefined ? { incarnation: stores.now[w] } : {}),
    });
  const asked: Array<{ worker: string; message: RestorePartitionsMessage }> = [];
  for (const w of live) {
    bus.connect().subscribe({ kind: 'worker', workerId: w }, (payload, reply) => {
      const m = decodeMessage(payload);
      if (m.type !== 'restore-partitions') return;
      asked.push({ worker: w, message: m });
      reply?.(answer === 'ack' ? encodeAck() : encodeNack(new MrmError('E_STATE', 'no copy to restore from')));
    });
  }
  const leases = await PartitionLeases.open(transport);
  const idle = new IdleJobOwners({
    store,
    transport,
    registry,
    leases,
    logger: silentLogger,
    restoreTimeoutMs: 5_000,
    settled: async () => {},
  });
  return { idle, store, asked };
}

describe('IdleJobOwners', () => {
  it("moves a dead owner's partitions to the live workers, restored there, before storing them", async () => {
    const { idle, store, asked } = await setup(['a', 'b', 'c', 'a', 'b', 'c'], ['a', 'c']);
    const owners = await idle.owners({ name: JOB, incremental: true, version: 4 }, () => false);
    expect(owners).toEqual(['a', 'a', 'c', 'a', 'c', 'c']);
    expect(await storedOwners(store, JOB)).toEqual(owners);
    // Each new owner restores only the partitions it got, at the committed version, under a lease.
    const byWorker = Object.fromEntries(
      asked.map(({ worker, message }) => [
        worker,
        { version: message.version, parts: message.copies.map((c) => c.partition) },
      ]),
    );
    expect(byWorker).toEqual({ a: { version: 4, parts: [1] }, c: { version: 4, parts: [4] } });
    for (const { message } of asked) for (const plan of message.copies) expect(plan.token).toBeGreaterThan(0);
  });

  it('restores the partitions of an owner back with an empty store (another incarnation), and trusts one back with its own', async () => {
    const then = { a: 'a-1', b: 'b-1' };
    const emptied = await setup(['a', 'b', 'a', 'b'], ['a', 'b'], 'ack', { then, now: { a: 'a-1', b: 'b-2' } });
    const owners = await emptied.idle.owners({ name: JOB, incremental: true, version: 5 }, () => false);
    // b is alive and takes its share again, restored from the copies; a keeps its own untouched.
    expect(owners).toEqual(['a', 'b', 'a', 'b']);
    expect(
      emptied.asked.map(({ worker, message }) => [worker, message.version, message.copies.map((c) => c.partition)]),
    ).toEqual([['b', 5, [1, 3]]]);
    // Stored with b's new store: the next query trusts it.
    expect(await emptied.idle.owners({ name: JOB, incremental: true, version: 5 }, () => false)).toEqual(owners);
    expect(emptied.asked).toHaveLength(1);

    const same = await setup(['a', 'b'], ['a', 'b'], 'ack', { then, now: then });
    expect(await same.idle.owners({ name: JOB, incremental: true, version: 5 }, () => false)).toEqual(['a', 'b']);
    expect(same.asked).toEqual([]);
    const plain = await setup(['a', 'b'], ['a', 'b'], 'ack', { then, now: { a: 'a-1', b: 'b-2' } });
    await expect(plain.idle.owners({ name: JOB, incremental: false, version: 3 }, () => false)).rejects.toThrow(
      "partition 1 of job 'wc' was on merge worker b, which has come back with an empty state folder; a job without merge keeps no copies to restore from: run the job again",
    );
  });

  it('moves nothing while every owner is alive, while the job runs, or before any version', async () => {
    const alive = await setup(['a', 'b'], ['a', 'b']);
    expect(await alive.idle.owners({ name: JOB, incremental: true, version: 2 }, () => false)).toEqual(['a', 'b']);
    const running = await setup(['a', 'b'], ['a']);
    expect(await running.idle.owners({ name: JOB, incremental: true, version: 2 }, () => true)).toEqual(['a', 'b']);
    const fresh = await setup(['a', 'b'], ['a']);
    expect(await fresh.idle.owners({ name: JOB, incremental: true, version: 0 }, () => false)).toEqual(['a', 'b']);
    expect([...alive.asked, ...running.asked, ...fresh.asked]).toEqual([]);
  });

  it('shares one move between queries that arrive together', async () => {
    const { idle, asked } = await setup(['a', 'b'], ['a']);
    const job = { name: JOB, incremental: true, version: 3 };
    const [one, two] = await Promise.all([idle.owners(job, () => false), idle.owners(job, () => false)]);
    expect(one).toEqual(['a', 'a']);
    expect(two).toEqual(['a', 'a']);
    expect(asked).toHaveLength(1);
  });

  it('fails with one line when no merge worker is alive, or the job keeps no copies', async () => {
    const none = await setup(['a', 'b'], []);
    await expect(none.idle.owners({ name: JOB, incremental: true, version: 3 }, () => false)).rejects.toThrow(
      "no merge worker is running to serve job 'wc' (partitions 0, 1 of job 'wc' were on merge workers a, b, which are not running)",
    );
    const plain = await setup(['a', 'b'], ['a']);
    await expect(plain.idle.owners({ name: JOB, incremental: false, version: 3 }, () => false)).rejects.toThrow(
      /partition 1 of job 'wc' was on merge worker b, which is not running; a job without merge keeps no copies/,
    );
  });

  it('keeps the stored owners when a new owner cannot restore', async () => {
    const { idle, store } = await setup(['a', 'b'], ['a'], 'nack');
    await expect(idle.owners({ name: JOB, incremental: true, version: 3 }, () => false)).rejects.toThrow(
      /no copy to restore from/,
    );
    expect(await storedOwners(store, JOB)).toEqual(['a', 'b']);
  });
});
