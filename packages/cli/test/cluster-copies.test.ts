/**
 * The copies of partitions kept in JetStream, on a cluster of real processes: `--keep-versions`
 * keeps their number flat (a restore needs only the newest full snapshot and the deltas after it),
 * a partition restored from what is left gives the exact result, and `--reset` forgets the job's
 * leases, manifest and copies, so nothing of the old state comes back when partitions move.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointBlobPrefix, FULL_COPY_DELTA_RATIO, MAX_COPY_CHAIN } from '@mrm/core';
import { NatsTransport } from '@mrm/transport-nats';
import { afterEach, describe, expect, it } from 'vitest';
import { mrm, writeJob } from './cli-helpers.js';
import { cleanEnv, copyInto, expectSameResult, TestCluster } from './cluster-harness.js';
import { embeddedReference, lastClusterVersion, perPathJob } from './cluster-references.js';
import { DAYS, type VersionLine } from './state-helpers.js';

const PARTITIONS = 4;
const JOB = 'per-path';

/** Requests per path: a few hundred keys, so every partition holds some. */
const PER_PATH = perPathJob(JOB, PARTITIONS);

/** Number and bytes of the job's copies in the cluster's object store. */
async function copiesOf(url: string): Promise<{ count: number; bytes: number; versions: number[] }> {
  const transport = await NatsTransport.connect({ servers: url });
  try {
    const blobs = await transport.blobs.list(checkpointBlobPrefix(JOB));

    const versions = [...new Set(blobs.map((b) => Number(/\/v(\d+)-t/.exec(b.name)?.[1])))].sort((a, b) => a - b);
    return { count: blobs.length, bytes: blobs.reduce((n, b) => n + b.bytes, 0), versions };
  } finally {
    await transport.close();
  }
}

/**
 * At most this many copies: per partition the chain of the last version committed before the last
 * commit (group) and the chain of that group's newest version (0029), each at most
 * {@link MAX_COPY_CHAIN} copies long (decisions/0047). Without pruning: one per version.
 */
const MAX_COPIES = PARTITIONS * 2 * MAX_COPY_CHAIN;

/**
 * At most this many bytes of copies for a state of `stateBytes`: per partition two chains, each a
 * full snapshot and deltas that outweigh the partition by at most {@link FULL_COPY_DELTA_RATIO}
 * plus one delta (0047). A copy's own fields (digest, batch ids) come on top of its keys: 2 KiB
 * per copy is far more than they take here, for the full snapshot and the last delta of a chain.
 */
const maxCopyBytes = (stateBytes: number): number =>
  2 * (1 + FULL_COPY_DELTA_RATIO) * stateBytes + PARTITIONS * 2 * 2 * 2048;

describe('checkpoint copies in JetStream', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  async function submit(c: TestCluster, args: string[]) {
    const s = await c.mrm(['submit', ...args, '--nats', c.url, '--wait']);
    if (s.code !== 0) throw new Error(`mrm submit failed (${s.code}): ${s.stderr}\n${c.logs()}`);
    return s;
  }

  const embedded = (c: TestCluster, job: string, inputs: string[], name: string) =>
    embeddedReference(c, job, JOB, inputs, name);
  const lastVersion = (c: TestCluster) => lastClusterVersion(c, JOB);

  it('keeps the copies flat with --keep-versions, and restores a moved partition from what is left', {
    timeout: 240_000,
  }, async () => {
    const c = await TestCluster.start({ maps: 1, merges: 2, heartbeatTimeoutMs: 1500 });
    cluster = c;
    const days = copyInto(join(c.dir, 'in'), DAYS);
    const job = writeJob(c.dir, 'per-path.ts', PER_PATH);
    // A version per 10-line batch: about 40, 20 and 15 versions.
    const opts = ['--batch-size', '10', '--checkpoint-every', '1', '--keep-versions', '2'];
    await submit(c, [job, '--input', days[0] as string, ...opts]);
    const first = await copiesOf(c.url);
    const firstLast = await lastVersion(c);
    expect(firstLast.version).toBeGreaterThan(30);
    await submit(c, [job, '--input', days[1] as string, ...opts]);
    const second = await copiesOf(c.url);
    const secondLast = await lastVersion(c);
    if (process.env.T_LOG) {
      const { execFileSync } = await import('node:child_process');
      const streams = join(c.nats.storeDir as string, 'jetstream', '$G', 'streams');
      console.error(execFileSync('sh', ['-c', 'du -sb "$0"/*', streams]).toString());
      for (const [copies, last] of [
        [first, firstLast],
        [second, secondLast],
      ] as const) {
        console.error(
          `copies after v${last.version} (state ${last.bytes} bytes): ${copies.count} (${copies.bytes} bytes), versions ${copies.versions}`,
        );
      }
    }
    // Without pruning there would be one copy per partition and version.
    for (const [copies, last] of [
      [first, firstLast],
      [second, secondLast],
    ] as const) {
      expect(copies.count).toBeLessThanOrEqual(MAX_COPIES);
      expect(copies.bytes).toBeLessThanOrEqual(maxCopyBytes(last.bytes));
    }
    expect(second.versions.at(-1)).toBe(secondLast.version);
    // The first submit's chains are gone once the second's versions made newer ones.
    expect(second.versions[0]).toBeGreaterThan(first.versions[0] as number);

    // merge-2 dies: its partitions are restored on merge-1 from the copies that are left.
    await c.process('merge-2').kill();
    await c.until((s) => s.workers.some((w) => w.workerId === 'merge-2' && !w.alive), 'merge-2 lost');
    const out = join(c.dir, 'out.jsonl');
    const r = await c.submitWait(job, [days[2] as string], out, opts);
    expect(r.code, `${r.stderr}\n${c.logs()}`).toBe(0);
    expect(c.process('merge-1').output()).toMatch(/restored a partition from its copies/);
    const reference = await embedded(c, job, days, 'reference');
    expectSameResult(out, reference.out);
    const last = await lastVersion(c);
    expect({ hash: last.hash, keys: last.keys, bytes: last.bytes }).toEqual({
      hash: reference.last.hash,
      keys: reference.last.keys,
      bytes: reference.last.bytes,
    });
    const third = await copiesOf(c.url);
    expect(third.count).toBeLessThanOrEqual(MAX_COPIES);
    expect(third.bytes).toBeLessThanOrEqual(maxCopyBytes(last.bytes));
    if (process.env.T_LOG) console.error(c.logs());
  });

  it('carries dead letters and digests with the copies: a moved partition keeps them', {
    timeout: 240_000,
  }, async () => {
    const c = await TestCluster.start({ maps: 1, merges: 2, heartbeatTimeoutMs: 1500 });
    cluster = c;
    // An async map that rejects on POISON lines; reduce throws on boom0…boom7 (keys on every partition).
    const job = writeJob(
      c.dir,
      'poison.ts',
      `export default {
  name: 'poison-words',
  partitions: ${PARTITIONS},
  async map(line: string, emit: (k: string, v: number) => void) {
    await Promise.resolve();
    if (line.includes('POISON')) throw new Error('poisoned line');
    for (const w of line.split(' ')) emit(w, 1);
  },
  reduce(k: string, vs: number[]) {
    if (k.startsWith('boom')) throw new Error('no ' + k);
    return vs.reduce((a, b) => a + b, 0);
  },
  merge: (_k: string, prev: number | undefined, next: number) => (prev ?? 0) + next,
};
`,
    );
    const lines = (n: number, salt: number) =>
      Array.from({ length: n }, (_, i) =>
        i % 17 === 5 ? 'x POISON y' : `w${(i * salt) % 40} w${i % 13} ${i % 9 === 0 ? `boom${i % 8}` : 'z'}`,
      ).join('\n');
    const inputs = [join(c.dir, 'one.txt'), join(c.dir, 'two.txt')];
    writeFileSync(inputs[0] as string, lines(240, 7));
    writeFileSync(inputs[1] as string, lines(60, 3));
    const opts = ['--batch-size', '10', '--checkpoint-every', '1', '--on-error', 'skip'];
    const letters = async () => {
      const d = await c.mrm(['dead-letters', '--nats', c.url, '--job', 'poison-words']);
      expect(d.code, d.stderr).toBe(0);
      return d.stdout.trim().split('\n').sort();
    };
    await submit(c, [job, '--input', inputs[0] as string, ...opts]);
    const before = await letters();
    const partitions = new Set(before.map((l) => (JSON.parse(l) as { partition: number }).partition));
    expect(partitions.size).toBe(PARTITIONS);
    await c.process('merge-2').kill();
    await c.until((s) => s.workers.some((w) => w.workerId === 'merge-2' && !w.alive), 'merge-2 lost');
    await submit(c, [job, '--input', inputs[1] as string, ...opts]);
    expect(c.process('merge-1').output()).toMatch(/restored a partition from its copies/);
    const after = await letters();
    // Every letter set aside before the move is still listed, once, with its version and partition.
    for (const l of before) expect(after).toContain(l);
    // The embedded run of both inputs sets the same records and keys aside and has the same hash.
    const state = join(c.dir, 'embedded');
    for (const input of inputs) {
      const r = await mrm(['run', job, '--input', input, '--state', state, ...opts, '-q'], { env: cleanEnv() });
      expect(r.code, r.stderr).toBe(0);
    }
    const local = await mrm(['dead-letters', '--state', state, '--job', 'poison-words']);
    const what = (text: string[]) =>
      text
        .map((l) => {
          const { stage, line, key, message } = JSON.parse(l) as Record<string, unknown>;
          return JSON.stringify({ stage, line, key, message });
        })
        .sort();
    expect(what(after)).toEqual(what(local.stdout.trim().split('\n')));
    const v = await mrm(['versions', '--state', state, '--job', 'poison-words', '--json']);
    const embeddedHash = (JSON.parse(v.stdout.trim().split('\n').at(-1) as string) as VersionLine).hash;
    expect((await lastClusterVersion(c, 'poison-words')).hash).toBe(embeddedHash);
  });

  it('forgets leases, manifest and copies on --reset: a partition moved back holds only the new input', {
    timeout: 240_000,
  }, async () => {
    const c = await TestCluster.start({ maps: 1, merges: 2, heartbeatTimeoutMs: 1500 });
    cluster = c;
    const days = copyInto(join(c.dir, 'in'), DAYS);
    const job = writeJob(c.dir, 'per-path.ts', PER_PATH);
    const opts = ['--batch-size', '10', '--checkpoint-every', '1'];
    // Old state: merge-1 and merge-2 hold two partitions each at about version 40.
    await submit(c, [job, '--input', days[0] as string, ...opts]);
    // merge-2 is away while the job starts over from other input: merge-1 takes every partition.
    await c.process('merge-2').kill();
    await c.until((s) => s.workers.some((w) => w.workerId === 'merge-2' && !w.alive), 'merge-2 lost');
    await submit(c, [job, '--input', days[1] as string, '--reset', ...opts]);
    const copies = await copiesOf(c.url);
    const resetVersion = (await lastVersion(c)).version;
    // merge-2 comes back with its old disk and gets two partitions back, one of which it held
    // before the reset at a version above the new state's: it must restore, not trust its disk.
    await c.restartWorker('merge-2');
    await c.waitForWorkers(['merge-2']);
    const out = join(c.dir, 'out.jsonl');
    const r = await c.submitWait(job, [days[2] as string], out, opts);
    expect(r.code, `${r.stderr}\n${c.logs()}`).toBe(0);
    expect(c.process('merge-2').output()).toMatch(/restored a partition from its copies/);
    const reference = await embedded(c, job, days.slice(1), 'reference');
    expectSameResult(out, reference.out);
    expect((await lastVersion(c)).hash).toBe(reference.last.hash);
    // Nothing of the old state is left in JetStream: the copies after the reset were all of the new one.
    expect(copies.versions.at(-1)).toBe(resetVersion);
    expect(c.coordinator.output()).toMatch(/forgot the leases, manifest and copies .*job=per-path/);
  });
});
