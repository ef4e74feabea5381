/**
 * The merge worker on the in-memory transport and store, fed frames by the test: batches merge
 * strictly in order whatever order they complete in, a newer attempt replaces what an older one
 * delivered, buffers beyond the byte budget spill and still merge right, the version committed
 * is exactly the coordinator's, and drain/close settle the worker's runs.
 */
import {
  aggregates,
  canonicalKey,
  decodeMessage,
  encode,
  encodeMessage,
  LEASES_BUCKET,
  leaseKey,
  type MessageBody,
  type ProtocolMessage,
  type RunStartMessage,
  resolveJob,
  type VersionInfo,
} from '@mrm/core';
import { MemoryBus, MemoryStateStore } from '@mrm/runtime';
import { settle } from '@mrm/testkit';
import { describe, expect, it } from 'vitest';
import { MergeWorker } from '../src/merge-worker.js';

const job = resolveJob({
  name: 'wc',
  partitions: 1,
  map(line: string, emit: (k: string, v: number) => void) {
    emit(line, 1);
  },
  ...aggregates.sum(),
});

/** A `run-start` of job wc (one partition, owned by merge-0) for `run`. */
function runStart(run: number, overrides: Partial<Omit<RunStartMessage, 'type' | 'v'>> = {}): MessageBody {
  const totalBatches = overrides.totalBatches ?? 1;
  return {
    type: 'run-start',
    jobId: 'wc-1',
    run,
    job: { name: 'wc', bundleHash: 'h' },
    jobName: 'wc',
    incremental: true,
    partitions: 1,
    owned: [0],
    totalBatches,
    batchIds: Array.from({ length: totalBatches }, (_, i) => `b${i}`),
    firstVersion: 1,
    checkpointEveryBatches: 10,
    maxBufferBytes: 256 * 1024 * 1024,
    owners: ['merge-0'],
    ...overrides,
  };
}

async function setup(
  overrides: Partial<Omit<RunStartMessage, 'type' | 'v'>> = {},
  loadJob: () => Promise<typeof job> = async () => job,
  /** Runs before the worker starts; what it returns joins the run-start (copies under a lease). */
  prepare?: (bus: MemoryBus, store: MemoryStateStore) => Promise<Partial<Omit<RunStartMessage, 'type' | 'v'>>>,
) {
  const bus = MemoryBus.create();
  const store = new MemoryStateStore();
  const prepared = (await prepare?.(bus, store)) ?? {};
  const worker = new MergeWorker({ id: 'merge-0', transport: bus.connect(), store, loadJob });
  worker.start();
  const coordinator = bus.connect();
  const reports: ProtocolMessage[] = [];
  coordinator.subscribe({ kind: 'coordinator' }, (payload) => reports.push(decodeMessage(payload)));
  const request = async (body: MessageBody) => {
    const reply = decodeMessage(
      await coordinator.request({ kind: 'worker', workerId: 'merge-0' }, encodeMessage(body), { timeoutMs: 5_000 }),
    );
    if (reply.type !== 'ack' || !reply.ok) throw new Error(`nack: ${JSON.stringify(reply)}`);
  };
  await request(runStart(1, { totalBatches: 3, ...overrides, ...prepared }));
  /**
   * Pushes one (batch, partition): a frame of `words` counted once each (its pairs listed, or
   * packed as map workers send them), then its marker.
   */
  const push = (seq: number, words: string[], attempt = 1, marker = true, packed = false) => {
    const pairs = words.flatMap((w) => [canonicalKey(w), 1]);
    const frames = { kind: 'frames' as const, workerId: 'merge-0' };
    const base = { jobId: 'wc-1', run: 1, seq, partition: 0, attempt, from: 'map-0' };
    const body = packed ? { packed: encode(pairs), count: words.length } : { pairs };
    coordinator.publish(frames, encodeMessage({ type: 'frame', ...base, ...body }));
    if (!marker) return;
    coordinator.publish(
      frames,
      encodeMessage({
        type: 'batch-end',
        ...base,
        batchId: `b${seq}`,
        frames: 1,
        pairs: words.length,
        records: words.length,
      }),
    );
  };
  const until = async (what: string, done: () => boolean) => {
    for (let i = 0; i < 500 && !done(); i++) await settle();
    if (!done()) throw new Error(`never happened: ${what}`);
  };
  return { bus, store, worker, reports, request, push, until };
}

function ofType<T extends ProtocolMessage['type']>(messages: readonly ProtocolMessage[], type: T) {
  return messages.filter((m): m is Extract<ProtocolMessage, { type: T }> => m.type === type);
}

/** The seqs the `merged-through` reports carry, in the order they were reported. */
function mergedSeqs(messages: readonly ProtocolMessage[]): number[] {
  return ofType(messages, 'merged-through').flatMap((m) =>
    Array.from({ length: m.throughSeq - m.fromSeq + 1 }, (_, i) => m.fromSeq + i),
  );
}

/** Job wc with a merge of 1 ms per key (busy-waiting), counting its merges in `merges.count`. */
function slowJob(merges: { count: number }) {
  return resolveJob({
    name: 'wc',
    partitions: 1,
    map(line: string, emit: (k: string, v: number) => void) {
      emit(line, 1);
    },
    reduce: (_key: unknown, values: number[]) => values.reduce((a, b) => a + b, 0),
    merge(_key: unknown, before: number | undefined, reduced: number) {
      merges.count++;
      const until = performance.now() + 1;
      while (performance.now() < until) {}
      return (before ?? 0) + reduced;
    },
  });
}

describe('MergeWorker', () => {
  it('merges batches strictly in order whatever order they complete in', async () => {
    const h = await setup();
    h.push(2, ['c']);
    h.push(1, ['b', 'a']);
    for (let i = 0; i < 20; i++) await settle();
    expect(ofType(h.reports, 'merged-through')).toEqual([]);
    h.push(0, ['a']);
    await h.until('three batches merged', () => mergedSeqs(h.reports).length === 3);
    // Cumulative reports, each batch in exactly one of them, in order.
    expect(mergedSeqs(h.reports)).toEqual([0, 1, 2]);
    await h.until('the checkpoint', () => ofType(h.reports, 'checkpoint-written').length === 1);
    // The merges a checkpoint covers are reported before it.
    const lastMerged = h.reports.findLastIndex((m) => m.type === 'merged-through');
    expect(lastMerged).toBeLessThan(h.reports.findIndex((m) => m.type === 'checkpoint-written'));
    const written = ofType(h.reports, 'checkpoint-written')[0];
    expect([written?.version, written?.throughSeq, written?.keyCounts]).toEqual([1, 2, [3]]);
    await h.worker.close();
  });

  it('replaces what an older attempt delivered with the newer attempt, and drops a late older one', async () => {
    const h = await setup({ totalBatches: 1 });
    // Attempt 1 delivers a frame, then its worker is lost before the marker.
    h.push(0, ['old', 'old'], 1, false);
    h.push(0, ['new'], 2);
    h.push(0, ['late'], 1);
    await h.until('the checkpoint', () => ofType(h.reports, 'checkpoint-written').length === 1);
    const info: VersionInfo = { version: 1, createdAtMs: 42, base: 0, batches: 1, records: 1, keys: 1, label: 'v1' };
    await h.request({ type: 'commit-version', jobId: 'wc-1', jobName: 'wc', run: 1, last: true, info });
    expect(await h.store.get('wc', 0, canonicalKey('new'), 1)).toBe(1);
    expect(await h.store.get('wc', 0, canonicalKey('old'), 1)).toBeUndefined();
    expect(await h.store.get('wc', 0, canonicalKey('late'), 1)).toBeUndefined();
    await h.worker.close();
  });

  it('stores exactly the VersionInfo the coordinator sent, once, however often it is sent', async () => {
    const h = await setup({ totalBatches: 1 });
    h.push(0, ['a']);
    await h.until('the checkpoint', () => ofType(h.reports, 'checkpoint-written').length === 1);
    const info: VersionInfo = {
      version: 1,
      createdAtMs: 1_234,
      base: 0,
      batches: 1,
      records: 1,
      keys: 1,
      label: 'one',
    };
    const commit: MessageBody = { type: 'commit-version', jobId: 'wc-1', jobName: 'wc', run: 1, last: false, info };
    await h.request(commit);
    await h.request(commit);
    expect(await h.store.listVersions('wc')).toEqual([info]);
    await h.worker.close();
  });

  it('acks both deliveries of one commit that race each other, committing the version once', async () => {
    const h = await setup({ totalBatches: 1 });
    h.push(0, ['a']);
    await h.until('the checkpoint', () => ofType(h.reports, 'checkpoint-written').length === 1);
    // A store that takes a while to say what is committed (a busy disk): the coordinator's resend
    // (it does after a reconnect) arrives while the first delivery is still being applied.
    const latestVersion = h.store.latestVersion.bind(h.store);
    h.store.latestVersion = async (job) => {
      const latest = await latestVersion(job);
      await new Promise((r) => setTimeout(r, 20));
      return latest;
    };
    const info: VersionInfo = { version: 1, createdAtMs: 5, base: 0, batches: 1, records: 1, keys: 1, label: 'v1' };
    const commit: MessageBody = { type: 'commit-version', jobId: 'wc-1', jobName: 'wc', run: 1, last: true, info };
    await Promise.all([h.request(commit), h.request(commit)]);
    expect(await h.store.listVersions('wc')).toEqual([info]);
    expect(await h.store.get('wc', 0, canonicalKey('a'), 1)).toBe(1);
    await h.worker.close();
  });

  it('opens runs of a job one after the other: a newer run-start closes an older run still opening', async () => {
    // Run 2 opens slowly (its job code, or a restore, takes a while); run 3 replaces it meanwhile.
    let release = (): void => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let loads = 0;
    const h = await setup({ totalBatches: 1 }, async () => {
      if (++loads === 2) await gate;
      return job;
    });
    const second = h.request(runStart(2));
    await h.until('run 2 opening', () => loads === 2);
    const third = h.request(runStart(3));
    for (let i = 0; i < 20; i++) await settle();
    release();
    await Promise.all([second, third]);
    // Only run 3 is open: frames of run 2 are dropped, those of run 3 merge.
    const frames = { kind: 'frames' as const, workerId: 'merge-0' };
    const publisher = h.bus.connect();
    for (const run of [2, 3]) {
      const base = { jobId: 'wc-1', run, seq: 0, partition: 0, attempt: 1, from: 'map-0' };
      publisher.publish(frames, encodeMessage({ type: 'frame', ...base, pairs: [canonicalKey(`r${run}`), 1] }));
      publisher.publish(
        frames,
        encodeMessage({ type: 'batch-end', ...base, batchId: 'b0', frames: 1, pairs: 1, records: 1 }),
      );
    }
    await h.until('run 3 checkpoint', () => ofType(h.reports, 'checkpoint-written').some((m) => m.run === 3));
    for (let i = 0; i < 20; i++) await settle();
    expect(ofType(h.reports, 'checkpoint-written').map((m) => m.run)).toEqual([3]);
    expect(loads).toBe(3);
    await h.worker.close();
  });

  it('commits a group commit-version (earlier versions with the highest) in one store write, each version listed', async () => {
    const h = await setup({ totalBatches: 3, checkpointEveryBatches: 1 });
    h.push(0, ['a']);
    h.push(1, ['a', 'b']);
    h.push(2, ['c']);
    await h.until('three checkpoints', () => ofType(h.reports, 'checkpoint-written').length === 3);
    const writes: number[][] = [];
    const commitVersions = h.store.commitVersions.bind(h.store);
    h.store.commitVersions = (job, infos) => {
      writes.push(infos.map((i) => i.version));
      return commitVersions(job, infos);
    };
    const info = (version: number): VersionInfo => ({
      version,
      createdAtMs: 7,
      base: 0,
      batches: version,
      records: version,
      keys: version,
      label: `v${version}`,
    });
    const commit: MessageBody = {
      type: 'commit-version',
      jobId: 'wc-1',
      jobName: 'wc',
      run: 1,
      last: false,
      info: info(3),
      earlier: [info(1), info(2)],
    };
    await h.request(commit);
    await h.request(commit); // sent again after a lost reply: nothing more to commit
    expect(writes).toEqual([[1, 2, 3]]);
    expect(await h.store.listVersions('wc')).toEqual([info(1), info(2), info(3)]);
    expect(await h.store.get('wc', 0, canonicalKey('a'), 1)).toBe(1);
    expect(await h.store.get('wc', 0, canonicalKey('a'), 2)).toBe(2);
    expect(await h.store.get('wc', 0, canonicalKey('c'), 2)).toBeUndefined();
    expect(await h.store.get('wc', 0, canonicalKey('c'), 3)).toBe(1);
    await h.worker.close();
  });

  it('refuses a commit for a run a newer run replaced, and acks a repeat of an applied one', async () => {
    const h = await setup({ totalBatches: 1 });
    h.push(0, ['a']);
    await h.until('the checkpoint', () => ofType(h.reports, 'checkpoint-written').length === 1);
    const info: VersionInfo = { version: 1, createdAtMs: 7, base: 0, batches: 1, records: 1, keys: 1, label: 'v1' };
    // A newer run of the job (another coordinator leads now) replaces run 1 and its writes.
    await h.request(runStart(2));
    const late: MessageBody = { type: 'commit-version', jobId: 'wc-1', jobName: 'wc', run: 1, last: true, info };
    await expect(h.request(late)).rejects.toThrow(/E_WORKER_LOST/);
    expect(await h.store.listVersions('wc')).toEqual([]);
    // Run 2 commits; the same commit again after its run closed is a harmless repeat.
    const push = (words: string[]) => {
      const base = { jobId: 'wc-1', run: 2, seq: 0, partition: 0, attempt: 1, from: 'map-0' };
      const frames = { kind: 'frames' as const, workerId: 'merge-0' };
      h.bus
        .connect()
        .publish(frames, encodeMessage({ type: 'frame', ...base, pairs: words.flatMap((w) => [canonicalKey(w), 1]) }));
      h.bus
        .connect()
        .publish(frames, encodeMessage({ type: 'batch-end', ...base, batchId: 'b0', frames: 1, pairs: 1, records: 1 }));
    };
    push(['a']);
    await h.until('run 2 checkpoint', () => ofType(h.reports, 'checkpoint-written').some((m) => m.run === 2));
    const commit: MessageBody = { type: 'commit-version', jobId: 'wc-1', jobName: 'wc', run: 2, last: true, info };
    await h.request(commit);
    await h.request(commit);
    expect(await h.store.listVersions('wc')).toEqual([info]);
    await h.worker.close();
  });

  for (const packed of [false, true]) {
    it(`spills buffers beyond the byte budget and still merges them right (pairs ${packed ? 'packed, kept encoded until the merge' : 'listed'})`, async () => {
      const h = await setup({ totalBatches: 4, maxBufferBytes: 64 });
      const words = Array.from({ length: 40 }, (_, i) => `word-${i % 13}`);
      // Batch 0 last: batches 1-3 wait in buffers far over 64 bytes.
      for (const seq of [3, 2, 1, 0]) h.push(seq, words, 1, true, packed);
      await h.until('the checkpoint', () => ofType(h.reports, 'checkpoint-written').length === 1);
      expect(h.worker.stats().spilledBytes).toBeGreaterThan(0);
      const info: VersionInfo = { version: 1, createdAtMs: 1, base: 0, batches: 4, records: 160, keys: 13, label: 'x' };
      await h.request({ type: 'commit-version', jobId: 'wc-1', jobName: 'wc', run: 1, last: true, info });
      for (let i = 0; i < 13; i++) {
        const expected = 4 * words.filter((w) => w === `word-${i}`).length;
        expect(await h.store.get('wc', 0, canonicalKey(`word-${i}`), 1)).toBe(expected);
      }
      await h.worker.close();
    });
  }

  it('merges a batch of packed and listed frames, and a replayed attempt of packed frames, exactly', async () => {
    const h = await setup({ totalBatches: 2 });
    const frames = { kind: 'frames' as const, workerId: 'merge-0' };
    const pub = h.bus.connect();
    const send = (body: MessageBody) => pub.publish(frames, encodeMessage(body));
    const base = (seq: number, attempt: number) => ({
      jobId: 'wc-1',
      run: 1,
      seq,
      partition: 0,
      attempt,
      from: 'map-0',
    });
    const pairsOf = (words: string[]) => words.flatMap((w) => [canonicalKey(w), 1]);
    const end = (seq: number, attempt: number, frameCount: number, pairs: number) =>
      send({ type: 'batch-end', ...base(seq, attempt), batchId: `b${seq}`, frames: frameCount, pairs, records: pairs });
    // Batch 0: a packed frame, a listed one, a packed one.
    send({ type: 'frame', ...base(0, 1), packed: encode(pairsOf(['a', 'b'])), count: 2 });
    send({ type: 'frame', ...base(0, 1), pairs: pairsOf(['a']) });
    send({ type: 'frame', ...base(0, 1), packed: encode(pairsOf(['c', 'a'])), count: 2 });
    end(0, 1, 3, 5);
    // Batch 1: attempt 1 delivers half, attempt 2 all of it again (a re-dispatch), then attempt 1's rest.
    send({ type: 'frame', ...base(1, 1), packed: encode(pairsOf(['a', 'x'])), count: 2 });
    send({ type: 'frame', ...base(1, 2), packed: encode(pairsOf(['a', 'x'])), count: 2 });
    send({ type: 'frame', ...base(1, 2), packed: encode(pairsOf(['y'])), count: 1 });
    send({ type: 'frame', ...base(1, 1), packed: encode(pairsOf(['y'])), count: 1 });
    end(1, 1, 2, 3);
    end(1, 2, 2, 3);
    await h.until('the checkpoint', () => ofType(h.reports, 'checkpoint-written').length === 1);
    expect(ofType(h.reports, 'task-failed')).toEqual([]);
    const info: VersionInfo = { version: 1, createdAtMs: 1, base: 0, batches: 2, records: 8, keys: 5, label: 'x' };
    await h.request({ type: 'commit-version', jobId: 'wc-1', jobName: 'wc', run: 1, last: true, info });
    const got = await Promise.all(['a', 'b', 'c', 'x', 'y'].map((w) => h.store.get('wc', 0, canonicalKey(w), 1)));
    expect(got).toEqual([4, 1, 1, 1, 1]);
    await h.worker.close();
  });

  it('fails the run with E_PROTOCOL when packed pairs do not hold the count their frame says', async () => {
    const h = await setup({ totalBatches: 1 });
    const frames = { kind: 'frames' as const, workerId: 'merge-0' };
    const base = { jobId: 'wc-1', run: 1, seq: 0, partition: 0, attempt: 1, from: 'map-0' };
    const pub = h.bus.connect();
    pub.publish(frames, encodeMessage({ type: 'frame', ...base, packed: encode([canonicalKey('a'), 1]), count: 2 }));
    pub.publish(frames, encodeMessage({ type: 'batch-end', ...base, batchId: 'b0', frames: 1, pairs: 2, records: 2 }));
    await h.until('the failure', () => ofType(h.reports, 'task-failed').length === 1);
    const failed = ofType(h.reports, 'task-failed')[0];
    expect(failed?.error.code).toBe('E_PROTOCOL');
    expect(failed?.error.message).toMatch(/hold 1 pairs, its header says 2/);
    await h.worker.close();
  });

  it('writes changed state into the pending version past its state budget, and commits exactly', async () => {
    // maxBufferBytes 64: the state's budget is its floor, 64 KiB; each batch changes 80 keys of ~600 bytes.
    const h = await setup({ totalBatches: 4, maxBufferBytes: 64 });
    const wordsOf = (seq: number) => Array.from({ length: 80 }, (_, i) => `${'w'.repeat(600)}-${seq}-${i % 50}`);
    for (const seq of [0, 1, 2]) h.push(seq, wordsOf(seq));
    await h.until('batch 2 merged', () => mergedSeqs(h.reports).includes(2));
    // Version 1 is not written (its last batch has not come) yet batch 0's keys are in the store,
    // visible only as of Infinity, the way a merge worker reads: written ahead, not committed.
    expect(ofType(h.reports, 'checkpoint-written')).toEqual([]);
    const first = canonicalKey(wordsOf(0)[0] as string);
    expect(await h.store.get('wc', 0, first, Number.POSITIVE_INFINITY)).toBe(2);
    expect(await h.store.latestVersion('wc')).toBeUndefined();
    h.push(3, wordsOf(3));
    await h.until('the checkpoint', () => ofType(h.reports, 'checkpoint-written').length === 1);
    const info: VersionInfo = { version: 1, createdAtMs: 1, base: 0, batches: 4, records: 320, keys: 200, label: 'x' };
    await h.request({ type: 'commit-version', jobId: 'wc-1', jobName: 'wc', run: 1, last: true, info });
    for (const seq of [0, 1, 2, 3]) {
      const words = wordsOf(seq);
      for (const w of new Set(words)) {
        expect(await h.store.get('wc', 0, canonicalKey(w), 1)).toBe(words.filter((x) => x === w).length);
      }
    }
    expect(await h.store.keyCount('wc', 0, 1)).toBe(200);
    expect(await h.store.mergedBatches('wc', 0)).toEqual(new Set(['b0', 'b1', 'b2', 'b3']));
    await h.worker.close();
  });

  it('receives frames and grants their credit while a long merge runs, and still merges exactly', async () => {
    // A merge of 1 ms per key: batch 0's 150 keys take 150 ms of the main thread.
    const merges = { count: 0 };
    const slow = slowJob(merges);
    const h = await setup({ totalBatches: 2 }, async () => slow);
    const creditedAt: number[] = [];
    h.bus.connect().subscribe({ kind: 'credits', workerId: 'map-0' }, () => creditedAt.push(merges.count));
    const words = Array.from({ length: 150 }, (_, i) => `w${i}`);
    h.push(0, words);
    await h.until("batch 0's merge under way", () => merges.count > 0);
    // A frame of batch 1 arrives mid-merge: its credit goes back before batch 0's merge ends.
    h.push(1, ['w0', 'extra']);
    await h.until('credit for all four messages', () => creditedAt.length === 4);
    expect(creditedAt[2]).toBeLessThan(words.length);
    await h.until('the checkpoint', () => ofType(h.reports, 'checkpoint-written').length === 1);
    expect(mergedSeqs(h.reports)).toEqual([0, 1]);
    const info: VersionInfo = { version: 1, createdAtMs: 1, base: 0, batches: 2, records: 152, keys: 151, label: 'x' };
    await h.request({ type: 'commit-version', jobId: 'wc-1', jobName: 'wc', run: 1, last: true, info });
    expect(await h.store.get('wc', 0, canonicalKey('w0'), 1)).toBe(2);
    expect(await h.store.get('wc', 0, canonicalKey('w149'), 1)).toBe(1);
    expect(await h.store.get('wc', 0, canonicalKey('extra'), 1)).toBe(1);
    expect(await h.store.keyCount('wc', 0, 1)).toBe(151);
    await h.worker.close();
  });

  it('commits without awaiting its checkpoint writes, and acks no commit whose checkpoint write failed', async () => {
    let failWrites = false;
    let unsettled = 0;
    const unsettledAtCommit: number[] = [];
    const h = await setup({ totalBatches: 2, checkpointEveryBatches: 1 }, undefined, async (bus, store) => {
      // A local write that settles only once a commit was called (a slow flush; at most 2 s),
      // and then one that fails (a full disk, nothing written): the copy is acknowledged before
      // either settles. Applied in call order, as the port requires.
      let commitCalled: () => void = () => {};
      const called = new Promise<void>((resolve) => {
        commitCalled = resolve;
      });
      const writePartition = store.writePartition.bind(store);
      store.writePartition = async (write) => {
        const written = failWrites ? Promise.reject(new Error('disk full')) : writePartition(write);
        written.catch(() => {});
        unsettled++;
        await Promise.race([called, new Promise((r) => setTimeout(r, 2_000))]);
        unsettled--;
        return written;
      };
      const commitVersions = store.commitVersions.bind(store);
      store.commitVersions = (name, infos) => {
        unsettledAtCommit.push(unsettled);
        commitCalled();
        return commitVersions(name, infos);
      };
      const leases = await bus.connect().bucket(LEASES_BUCKET);
      const token = await leases.put(leaseKey('wc', 0), new Uint8Array([1]));
      return { copies: [{ partition: 0, token, chain: [], shipFull: false }] };
    });
    const commit = (version: number): MessageBody => ({
      type: 'commit-version',
      jobId: 'wc-1',
      jobName: 'wc',
      run: 1,
      last: false,
      info: {
        version,
        createdAtMs: version,
        base: 0,
        batches: version,
        records: version,
        keys: 1,
        label: `v${version}`,
      },
    });
    h.push(0, ['a']);
    await h.until('version 1 written', () => ofType(h.reports, 'checkpoint-written').length === 1);
    await h.request(commit(1));
    expect(await h.store.get('wc', 0, canonicalKey('a'), 1)).toBe(1);
    // The commit was called while the checkpoint's write was still settling: one flush, not two.
    expect(unsettledAtCommit).toEqual([1]);
    failWrites = true;
    h.push(1, ['a']);
    await h.until('version 2 reported', () => ofType(h.reports, 'checkpoint-written').length === 2);
    await expect(h.request(commit(2))).rejects.toThrow(/nack/);
    await h.worker.close();
  });

  it('under a slow merge, credits packed frames as they come and holds no more than its budget: the rest spills', async () => {
    const merges = { count: 0 };
    const slow = slowJob(merges);
    const budget = 2048;
    const h = await setup({ totalBatches: 6, maxBufferBytes: budget }, async () => slow);
    const credited: number[] = [];
    let creditedBytes = 0;
    h.bus.connect().subscribe({ kind: 'credits', workerId: 'map-0' }, (payload) => {
      const m = decodeMessage(payload);
      if (m.type === 'credit') creditedBytes += m.bytes;
      credited.push(merges.count);
    });
    const wordsOf = (seq: number) => Array.from({ length: 100 }, (_, i) => `${seq}-${'v'.repeat(20)}-${i}`);
    h.push(0, wordsOf(0), 1, true, true);
    await h.until("batch 0's merge under way", () => merges.count > 0);
    // Five more batches of ~3 KB each arrive mid-merge: far over the 2 KiB budget.
    for (const seq of [1, 2, 3, 4, 5]) h.push(seq, wordsOf(seq), 1, true, true);
    await h.until('credit for all twelve messages', () => credited.length === 12);
    // Every credit came back before batch 0's 100 merges ended: receiving never waited for merging.
    expect(credited.every((m) => m < 100)).toBe(true);
    const pushed = creditedBytes;
    // What is held beyond the budget went to the spill area (batch 0 is out of the buffers).
    expect(h.worker.stats().spilledBytes).toBeGreaterThanOrEqual(pushed - budget - 2 * 3200);
    await h.until('the checkpoint', () => ofType(h.reports, 'checkpoint-written').length === 1);
    expect(mergedSeqs(h.reports)).toEqual([0, 1, 2, 3, 4, 5]);
    const info: VersionInfo = { version: 1, createdAtMs: 1, base: 0, batches: 6, records: 600, keys: 600, label: 'x' };
    await h.request({ type: 'commit-version', jobId: 'wc-1', jobName: 'wc', run: 1, last: true, info });
    expect(await h.store.keyCount('wc', 0, 1)).toBe(600);
    expect(await h.store.get('wc', 0, canonicalKey(wordsOf(5)[99] as string), 1)).toBe(1);
    await h.worker.close();
  });

  it('drain waits for the open run to close and refuses a new run meanwhile', async () => {
    const h = await setup({ totalBatches: 1 });
    h.push(0, ['a']);
    await h.until('the checkpoint', () => ofType(h.reports, 'checkpoint-written').length === 1);
    let drained = false;
    const draining = h.worker.drain().then(() => {
      drained = true;
    });
    expect(h.worker.state).toBe('draining');
    await expect(
      h.request({
        type: 'run-start',
        jobId: 'other-1',
        run: 1,
        job: { name: 'other', bundleHash: 'h' },
        jobName: 'other',
        incremental: true,
        partitions: 1,
        owned: [0],
        totalBatches: 1,
        batchIds: ['x'],
        firstVersion: 1,
        checkpointEveryBatches: 1,
        maxBufferBytes: 1 << 20,
      }),
    ).rejects.toThrow(/draining/);
    expect(drained).toBe(false);
    const info: VersionInfo = { version: 1, createdAtMs: 1, base: 0, batches: 1, records: 1, keys: 1, label: 'x' };
    await h.request({ type: 'commit-version', jobId: 'wc-1', jobName: 'wc', run: 1, last: true, info });
    await draining;
    expect(drained).toBe(true);
    await h.worker.close();
    expect(h.worker.state).toBe('closed');
  });
});
