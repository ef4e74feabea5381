/**
 * The copy manifest a group commit records (decisions/0029): one write for the group's versions,
 * and the chain of the version committed before the group stays whole until a later one commits.
 * Leases: a new token every run, a tenure that stays while the owner does (decisions/0025).
 * Retention of copies kept as small blobs on a real nats-server (decisions/0023, 0031): a commit
 * deletes the copies the manifest drops, the sweep at the start of a run deletes copies no
 * manifest lists, `--reset` deletes all of them — each deletion leaving no message behind in the
 * small-blob stream, whether the copy was a message or an object of an older build.
 */
import {
  CHECKPOINTS_BUCKET,
  type CheckpointWrittenMessage,
  type CopyManifest,
  checkpointBlobName,
  checkpointBlobPrefix,
  decode,
  PROTOCOL_VERSION,
} from '@mrm/core';
import { MemoryBus } from '@mrm/runtime';
import { type NatsServerHandle, startNatsServer } from '@mrm/testkit';
import { blobBucketName, DEFAULT_NATS_PREFIX, NatsTransport, smallBlobStreamName } from '@mrm/transport-nats';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartitionLeases } from '../src/partition-leases.js';

/** merge-0's checkpoint-written of `version` for partition 0, its copy full or a delta. */
function written(
  version: number,
  full: boolean,
  copyBytes?: number,
): { version: number; reports: CheckpointWrittenMessage[] } {
  const report: CheckpointWrittenMessage = {
    type: 'checkpoint-written',
    v: PROTOCOL_VERSION,
    jobId: 'wc-1',
    run: 1,
    version,
    throughSeq: version - 1,
    partitions: [0],
    keyCounts: [1],
    digests: [{ keys: 1, bytes: 1, hash: '0'.repeat(32) }],
    deadLetters: 0,
    fulls: [full],
    ...(copyBytes !== undefined ? { copyBytes: [copyBytes] } : {}),
    from: 'merge-0',
  };
  return { version, reports: [report] };
}

describe('RunLeases.record', () => {
  it('records a group in one manifest write and keeps the chain of the version before the group', async () => {
    const transport = MemoryBus.create().connect();
    const leases = await PartitionLeases.open(transport);
    const run = await leases.prepare('wc', ['merge-0'], 0);
    const manifests = await transport.bucket(CHECKPOINTS_BUCKET);
    const versionsListed = async () => {
      const entry = await manifests.get('wc');
      return decode<CopyManifest>(entry?.value as Uint8Array).partitions[0]?.map((e) => e.version);
    };
    await run.record([written(1, true)]);
    const revision = (await manifests.get('wc'))?.revision ?? 0;
    // Versions 2–4 in one group, a full snapshot at 3: version 1 (committed) keeps its chain, 4
    // gets its own, and 2 can never start a restore.
    await run.record([written(2, false), written(3, true), written(4, false)]);
    expect((await manifests.get('wc'))?.revision).toBe(revision + 1);
    expect(await versionsListed()).toEqual([1, 3, 4]);
    // Once 5 commits after the group, the chain from the full snapshot at 3 is enough.
    await run.record([written(5, false)]);
    expect(await versionsListed()).toEqual([3, 4, 5]);
  });

  it("keeps chains whose full snapshots fall on any version, and hands the next run its deltas' bytes", async () => {
    const transport = MemoryBus.create().connect();
    const leases = await PartitionLeases.open(transport);
    const run = await leases.prepare('wc', ['merge-0'], 0);
    // Full snapshots where the bytes put them (decisions/0047): 1 and 13, not 10.
    await run.record([written(1, true, 5000)]);
    for (let v = 2; v <= 12; v++) await run.record([written(v, false, 100 * v)]);
    // No full snapshot since 1: the whole chain stays.
    const manifests = await transport.bucket(CHECKPOINTS_BUCKET);
    const listed = decode<CopyManifest>((await manifests.get('wc'))?.value as Uint8Array).partitions[0];
    expect(listed?.map((e) => e.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(listed?.[9]).toMatchObject({ full: false, bytes: 1000 });
    await run.record([written(13, true, 6000), written(14, false, 300)]);
    await run.record([written(15, false, 400)]);
    const next = await leases.prepare('wc', ['merge-0'], 15);
    const [plan] = next.plansFor('merge-0');
    expect(plan?.chain).toEqual([13, 14, 15].map((v) => checkpointBlobName('wc', 0, v, run.tokens[0] as number)));
    expect(plan?.deltaBytes).toBe(700);
    expect(plan?.shipFull).toBe(false);
  });
});

/** Token and tenure of every partition in `worker`'s copy plans of a run. */
function plans(run: Awaited<ReturnType<PartitionLeases['prepare']>>, owners: readonly string[]) {
  return [...new Set(owners)]
    .flatMap((w) => run.plansFor(w))
    .sort((a, b) => a.partition - b.partition)
    .map(({ token, tenure }) => ({ token, tenure: tenure as number }));
}

describe('PartitionLeases', () => {
  it('gives every run new tokens, and keeps a tenure while its owner stays', async () => {
    const leases = await PartitionLeases.open(MemoryBus.create().connect());
    const first = plans(await leases.prepare('job', ['a', 'b'], 0), ['a', 'b']);
    // The run that gives a partition its owner starts the tenure.
    for (const p of first) expect(p.tenure).toBe(p.token);

    const second = plans(await leases.prepare('job', ['a', 'b'], 1), ['a', 'b']);
    second.forEach((p, i) => {
      expect(p.token).toBeGreaterThan(first[i]?.token ?? Infinity);
      expect(p.tenure).toBe(first[i]?.tenure);
    });

    // Partition 0 moves to b and back: each move starts a new tenure; partition 1 keeps its own.
    const moved = plans(await leases.prepare('job', ['b', 'b'], 2), ['b']);
    expect(moved[0]?.tenure).toBe(moved[0]?.token);
    expect(moved[1]?.tenure).toBe(first[1]?.tenure);
    const back = plans(await leases.prepare('job', ['a', 'b'], 3), ['a', 'b']);
    expect(back[0]?.tenure).toBe(back[0]?.token);
    expect(back[0]?.tenure).not.toBe(first[0]?.tenure);
    expect(back[1]?.tenure).toBe(first[1]?.tenure);

    // --reset forgets the leases: the same owners start new tenures.
    await leases.forget('job');
    const reset = plans(await leases.prepare('job', ['a', 'b'], 0), ['a', 'b']);
    reset.forEach((p, i) => {
      expect(p.tenure).toBe(p.token);
      expect(p.tenure).not.toBe(back[i]?.tenure);
    });
  });
});

describe('copy retention with small blobs', () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(() => server.stop());

  it('deletes dropped, unlisted and reset copies, messages and old objects alike', async () => {
    const transport = await NatsTransport.connect({ servers: server.url });
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      const messages = async () => (await jsm.streams.info(smallBlobStreamName(DEFAULT_NATS_PREFIX))).state.messages;
      const kept = async () =>
        (await transport.blobs.list(checkpointBlobPrefix('kept')))
          .map((b) => b.name)
          .sort((a, b) => a.localeCompare(b));
      const leases = await PartitionLeases.open(transport);
      const run = await leases.prepare('kept', ['merge-0'], 0);
      const token = run.tokens[0] as number;
      const name = (v: number, t = token) => checkpointBlobName('kept', 0, v, t);
      // Version 1's full snapshot as an object (a build before small blobs), the rest as messages.
      const objects = await new Objm(nc).create(blobBucketName(DEFAULT_NATS_PREFIX));
      await objects.putBlob({ name: name(1) }, new Uint8Array(100));
      for (const v of [2, 3, 4]) await transport.blobs.put(name(v), new Uint8Array(100 + v));

      await run.record([written(1, true)]);
      await run.record([written(2, false)]);
      await run.record([written(3, true)]);
      // 3 is a full snapshot and 2 committed before it: 1–2 go once 4 commits.
      await run.record([written(4, false)]);
      // The deletions go on after the manifest is written; the committer waits for them.
      await run.dropped();
      expect(await kept()).toEqual([name(3), name(4)].sort((a, b) => a.localeCompare(b)));
      expect(await objects.info(name(1))).toBeNull();
      expect(await messages()).toBe(2);

      // A copy of a version that never committed, and one a deposed owner wrote under an old
      // token: the next run's sweep deletes both.
      await transport.blobs.put(name(5), new Uint8Array(10));
      await transport.blobs.put(name(4, token - 1), new Uint8Array(10));
      expect(await messages()).toBe(4);
      const next = await leases.prepare('kept', ['merge-0'], 4);
      expect(next.plansFor('merge-0')[0]?.chain).toEqual([name(3), name(4)]);
      expect(await kept()).toEqual([name(3), name(4)].sort((a, b) => a.localeCompare(b)));
      expect(await messages()).toBe(2);

      // --reset: nothing of the job is left.
      expect(await leases.forget('kept')).toBe(2);
      expect(await kept()).toEqual([]);
      expect(await messages()).toBe(0);
    } finally {
      await nc.close();
      await transport.close();
    }
  });
});
