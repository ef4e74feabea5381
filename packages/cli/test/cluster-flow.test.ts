/**
 * The push path of a cluster under load, with real processes: a merge worker that stops absorbing
 * holds its map workers back by credit (their memory stays bounded, the job still ends right);
 * credit lost with the frames of a restarted nats-server does not stall the job; and values larger
 * than NATS's max_payload travel whole, to the state and back to queries.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { expectedLines, writeJob } from './cli-helpers.js';
import { type ClusterStatus, copyInto, expectSameResult, fileAppears, TestCluster } from './cluster-harness.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname;
const BOOKS = ['pg-tom_sawyer.txt', 'pg-frankenstein.txt', 'pg-being_ernest.txt', 'pg-metamorphosis.txt'].map((f) =>
  join(EXAMPLES, 'wordcount/data', f),
);

/** A string of `n` characters that depends on `seed` and on each position (corruption shows). */
const BIG_VALUE_SOURCE = `(seed, n) => {
  let s = '';
  const chunk = Array.from({ length: 4096 }, (_, i) => String.fromCharCode(97 + ((i * 7919 + seed.length * 31) % 26))).join('');
  while (s.length < n) s += seed + ':' + chunk;
  return s.slice(0, n);
}`;
const bigValue = new Function(`return ${BIG_VALUE_SOURCE}`)() as (seed: string, n: number) => string;

/** Each line `<key> <chars>` emits one value of that many characters under that key. */
const BIG_VALUES_JOB = `
import { defineJob } from '@mrm/core';
const big = ${BIG_VALUE_SOURCE};
export default defineJob({
  name: 'bigvalues',
  map(line: string, emit) {
    const [key, n] = line.split(' ');
    emit(key, big(key, Number(n)));
  },
  reduce: (_key, values: string[]) => values.sort().join('|'),
  merge: (_key, prev: string | undefined, next: string) => (prev === undefined ? next : prev + '|' + next),
});
`;

/** Values the flood job emits per input line. */
const FLOOD_COPIES = 16;

/**
 * Per line, copies of the line four times over under the key (line number mod 997): ~7 kB
 * pushed per input line, no combine, so the map side produces far more than a credit window.
 * Writes `marker` when it first runs, so the test knows the job is under way.
 */
function floodJob(marker: string): string {
  return `
import { writeFileSync } from 'node:fs';
import { defineJob } from '@mrm/core';
let marked = false;
const COPIES = ${FLOOD_COPIES};
export default defineJob({
  name: 'flood',
  map(line: string, emit, ctx) {
    if (!marked) {
      marked = true;
      writeFileSync(${JSON.stringify(marker)}, 'started');
    }
    const value = line.repeat(4);
    for (let i = 0; i < COPIES; i++) emit(ctx.line % 997, value);
  },
  reduce: (_key, values: string[]) => values.length,
  merge: (_key, prev: number | undefined, next: number) => (prev ?? 0) + next,
});
`;
}

/** What the flood job computes, computed here. */
function referenceFlood(files: readonly string[]): string {
  const counts = new Map<number, number>();
  for (const f of files) {
    const lines = readFileSync(f, 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    for (let line = 1; line <= lines.length; line++) {
      counts.set(line % 997, (counts.get(line % 997) ?? 0) + FLOOD_COPIES);
    }
  }
  return expectedLines(counts);
}

/** The map worker's default credit window towards one merge worker. */
const WINDOW_BYTES = 8 * 1024 * 1024;

function mapStat(s: ClusterStatus, worker: string, stat: string): number {
  return s.workers.find((w) => w.workerId === worker)?.stats[stat] ?? 0;
}

describe('the push path of a cluster', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('carries values larger than NATS max_payload to the state and back to queries', async () => {
    cluster = await TestCluster.start({ maps: 1, merges: 2 });
    const job = writeJob(cluster.dir, 'bigvalues.ts', BIG_VALUES_JOB);
    const input = join(cluster.dir, 'sizes.txt');
    writeFileSync(input, 'huge 3000000\nsmall 10\nlarge 1500000\n');
    const out = join(cluster.dir, 'out.jsonl');
    const r = await cluster.submitWait(job, [input], out);
    expect(r.code, `${r.stderr}\n${cluster.logs()}`).toBe(0);
    const expected = new Map([
      ['huge', bigValue('huge', 3_000_000)],
      ['large', bigValue('large', 1_500_000)],
      ['small', bigValue('small', 10)],
    ]);
    expect(readFileSync(out, 'utf8') === expectedLines(expected)).toBe(true);

    const one = await cluster.mrm(['query', '--nats', cluster.url, '--job', 'bigvalues', '--key', 'huge']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout === `{"key":"huge","value":${JSON.stringify(expected.get('huge'))}}\n`).toBe(true);
  });

  it('holds map workers back by credit while a merge worker is stopped, with bounded memory, and ends right', async () => {
    // The merge worker is stopped for seconds: give it a heartbeat timeout it cannot hit.
    cluster = await TestCluster.start({ maps: 1, merges: 1, heartbeatTimeoutMs: 20_000 });
    const marker = join(cluster.dir, 'map-started');
    const job = writeJob(cluster.dir, 'flood.ts', floodJob(marker));
    const mapWorker = cluster.process('map-1');
    const mergeWorker = cluster.process('merge-1');
    const before = await cluster.status();
    const out = join(cluster.dir, 'out.jsonl');
    // Every book twice, under two names: ~150 MB to push, far more than the memory the map worker may grow by.
    const inputs = [1, 2].flatMap((copy) => copyInto(join(cluster?.dir ?? '', 'books'), BOOKS, `${copy}-`));

    const submitted = cluster.submitWait(job, inputs, out, ['--batch-size', '500']);
    await fileAppears(marker, 30_000);
    mergeWorker.signal('SIGSTOP');
    // The map worker has its job loaded and its first batch in hand: memory from here on is buffering.
    const rssBefore = mapWorker.rssBytes();
    let rssMax = 0;
    let stopped: ClusterStatus;
    try {
      stopped = await cluster.until((s) => {
        rssMax = Math.max(rssMax, mapWorker.rssBytes());
        return mapStat(s, 'map-1', 'waits') > mapStat(before, 'map-1', 'waits');
      }, 'the map worker waiting for credit');
      // Waiting, not pushing: what it pushed stays within the window while the merge worker sleeps.
      const pushed = mapStat(stopped, 'map-1', 'bytesPushed');
      const later = await cluster.until(
        (s) =>
          (s.workers.find((w) => w.workerId === 'map-1')?.lastSeenMs ?? 0) >
          (stopped.workers.find((w) => w.workerId === 'map-1')?.lastSeenMs ?? 0),
        'another heartbeat of the map worker',
      );
      rssMax = Math.max(rssMax, mapWorker.rssBytes());
      expect(mapStat(later, 'map-1', 'bytesPushed') - pushed).toBeLessThanOrEqual(WINDOW_BYTES);
    } finally {
      mergeWorker.signal('SIGCONT');
    }
    const r = await submitted;
    expect(r.code, `${r.stderr}\n${cluster.logs()}`).toBe(0);
    const reference = join(cluster.dir, 'reference.jsonl');
    writeFileSync(reference, referenceFlood(inputs));
    expectSameResult(out, reference);

    const batches = (await cluster.jobStatus(r.stdout.split('\n')[0] ?? '')).progress?.totalBatches ?? -1;
    const after = await cluster.until((s) => mapStat(s, 'map-1', 'tasks') === batches, 'the final map stats');
    const pushedTotal = mapStat(after, 'map-1', 'bytesPushed');
    // The job pushed far more than a window and than the memory the map worker grew by.
    expect(pushedTotal).toBeGreaterThan(3 * WINDOW_BYTES);
    expect(rssMax - rssBefore).toBeLessThan(pushedTotal / 3);
  });

  it('keeps pushing after a nats-server restart loses frames and credits in flight', async () => {
    cluster = await TestCluster.start({ maps: 1, merges: 1, heartbeatTimeoutMs: 20_000 });
    const marker = join(cluster.dir, 'map-started');
    const job = writeJob(cluster.dir, 'flood.ts', floodJob(marker));
    const inputs = copyInto(join(cluster.dir, 'books'), BOOKS);
    const out = join(cluster.dir, 'out.jsonl');
    const submitted = cluster.submitWait(job, inputs, out, ['--batch-size', '500']);
    await fileAppears(marker, 30_000);
    // With the merge worker stopped, a whole credit window of frames waits in the server: the
    // restart loses it, and the credit it would have earned back.
    const mergeWorker = cluster.process('merge-1');
    mergeWorker.signal('SIGSTOP');
    try {
      await cluster.until((s) => mapStat(s, 'map-1', 'waits') > 0, 'the map worker waiting for credit');
      await cluster.nats.restart();
    } finally {
      mergeWorker.signal('SIGCONT');
    }
    const r = await submitted;
    expect(r.code, `${r.stderr}\n${cluster.logs()}`).toBe(0);
    const reference = join(cluster.dir, 'reference.jsonl');
    writeFileSync(reference, referenceFlood(inputs));
    expectSameResult(out, reference);
    // The map worker started afresh with a full window after reconnecting; the stall timer had no part.
    expect(cluster.coordinator.output()).not.toMatch(/reason=no progress/);
  });
});
