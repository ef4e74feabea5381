/**
 * Retention of copies kept as small blobs (decisions/0023, 0031), on a real nats-server: a commit
 * deletes the copies the manifest drops, the sweep at the start of a run deletes copies no
 * manifest lists, `--reset` deletes all of them — and each deletion leaves no message behind in the
 * small-blob stream, whether the copy was a message or an object of an older build.
 */
import { type CheckpointWrittenMessage, checkpointBlobName, checkpointBlobPrefix, PROTOCOL_VERSION } from '@mrm/core';
import { type NatsServerHandle, startNatsServer } from '@mrm/testkit';
import { blobBucketName, DEFAULT_NATS_PREFIX, NatsTransport, smallBlobStreamName } from '@mrm/transport-nats';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartitionLeases } from '../src/partition-leases.js';

const JOB = 'kept';

/** merge-0's checkpoint-written of `version` for partition 0. */
function written(version: number, full: boolean): { version: number; reports: CheckpointWrittenMessage[] } {
  const report: CheckpointWrittenMessage = {
    type: 'checkpoint-written',
    v: PROTOCOL_VERSION,
    jobId: `${JOB}-1`,
    run: 1,
    version,
    throughSeq: version - 1,
    partitions: [0],
    keyCounts: [1],
    digests: [{ keys: 1, bytes: 1, hash: '0'.repeat(32) }],
    deadLetters: 0,
    fulls: [full],
    from: 'merge-0',
  };
  return { version, reports: [report] };
}

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
        (await transport.blobs.list(checkpointBlobPrefix(JOB))).map((b) => b.name).sort((a, b) => a.localeCompare(b));
      const leases = await PartitionLeases.open(transport);
      const run = await leases.prepare(JOB, ['merge-0'], 0);
      const token = run.tokens[0] as number;
      const name = (v: number, t = token) => checkpointBlobName(JOB, 0, v, t);
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
      const next = await leases.prepare(JOB, ['merge-0'], 4);
      expect(next.plansFor('merge-0')[0]?.chain).toEqual([name(3), name(4)]);
      expect(await kept()).toEqual([name(3), name(4)].sort((a, b) => a.localeCompare(b)));
      expect(await messages()).toBe(2);

      // --reset: nothing of the job is left.
      expect(await leases.forget(JOB)).toBe(2);
      expect(await kept()).toEqual([]);
      expect(await messages()).toBe(0);
    } finally {
      await nc.close();
      await transport.close();
    }
  });
});
