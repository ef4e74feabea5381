/**
 * A cluster of real processes (nats-server, coordinator, map and merge workers) gives the results
 * of `mrm run`, key for key, whatever its size; merges new input incrementally and skips input
 * already merged; is not disturbed by workers that join later; and runs each map task once.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { expectedLines, mrm } from './cli-helpers.js';
import { cleanEnv, copyInto, expectSameResult, TestCluster } from './cluster-harness.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname;
const WORDCOUNT_JOB = join(EXAMPLES, 'wordcount/job.ts');
const STATUS_JOB = join(EXAMPLES, 'access-logs/status-per-hour.ts');
const BOOKS = ['pg-being_ernest.txt', 'pg-metamorphosis.txt', 'pg-frankenstein.txt'].map((f) =>
  join(EXAMPLES, 'wordcount/data', f),
);
const DAYS = ['24', '25', '26', '27', '28'].map((d) =>
  join(EXAMPLES, `access-logs/data/nginx/meatlabel.app.access.log-202512${d}`),
);

/** Word counts computed here, independently of MRM. */
function referenceWordcount(files: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const f of files) {
    for (const w of readFileSync(f, 'utf8').match(/[A-Za-z]+/g) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return expectedLines(counts);
}

/** Runs the job embedded (`mrm run`, a fresh state in `dir`) and returns the path of its result. */
async function embedded(dir: string, job: string, inputs: readonly string[], batchSize: number): Promise<string> {
  const run = join(dir, `embedded-${Math.random().toString(36).slice(2)}`);
  mkdirSync(run, { recursive: true });
  const out = join(run, 'out.jsonl');
  const r = await mrm(
    ['run', job, '--input', ...inputs, '--state', join(run, 'state'), '--out', out, '--batch-size', String(batchSize)],
    { env: cleanEnv() },
  );
  if (r.code !== 0) throw new Error(`mrm run failed: ${r.stderr}`);
  return out;
}

describe('a cluster of map and merge worker processes', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  /** `mrm submit --wait` that must succeed; returns the job id. */
  async function submit(c: TestCluster, args: readonly string[]): Promise<{ jobId: string; stderr: string }> {
    const r = await c.mrm(['submit', ...args, '--nats', c.url, '--wait']);
    if (r.code !== 0) throw new Error(`mrm submit failed (${r.code}): ${r.stderr}\n${c.logs()}`);
    const jobId = r.stdout.split('\n')[0] ?? '';
    expect(jobId).toMatch(/^[a-z0-9-]+$/);
    return { jobId, stderr: r.stderr };
  }

  /** `mrm query --nats` into a file. */
  async function query(c: TestCluster, job: string, extra: readonly string[] = []): Promise<string> {
    const out = join(c.dir, `query-${Math.random().toString(36).slice(2)}.jsonl`);
    const r = await c.mrm(['query', '--nats', c.url, '--job', job, '--out', out, ...extra]);
    if (r.code !== 0) throw new Error(`mrm query failed (${r.code}): ${r.stderr}`);
    return out;
  }

  it.each([
    { maps: 1, merges: 1, batchSize: 2000 },
    { maps: 3, merges: 2, batchSize: 300 },
    { maps: 2, merges: 3, batchSize: 150 },
  ])(
    'counts words like mrm run, key for key, on $maps map and $merges merge workers (batches of $batchSize lines)',
    async ({ maps, merges, batchSize }) => {
      cluster = await TestCluster.start({ maps, merges });
      const books = copyInto(join(cluster.dir, 'books'), BOOKS);
      const reference = join(cluster.dir, 'reference.jsonl');
      writeFileSync(reference, referenceWordcount(books));
      const local = await embedded(cluster.dir, WORDCOUNT_JOB, books, batchSize);
      expectSameResult(local, reference);

      const out = join(cluster.dir, 'cluster.jsonl');
      const { jobId } = await submit(cluster, [
        WORDCOUNT_JOB,
        '--input',
        ...books,
        '--batch-size',
        String(batchSize),
        '--out',
        out,
      ]);
      expectSameResult(out, reference);
      expectSameResult(await query(cluster, 'wordcount'), reference);
      const status = await cluster.jobStatus(jobId);
      expect(status.state).toBe('succeeded');
      expect(status.progress?.totalBatches).toBeGreaterThan(books.length);
      expect(status.progress?.mergedBatches).toBe(status.progress?.totalBatches);
      // One key through its owner, as a user asks for it.
      const the = await cluster.mrm(['query', '--nats', cluster.url, '--job', 'wordcount', '--key', 'the']);
      const expected = readFileSync(reference, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('{"key":"the",'));
      expect(the.stdout).toBe(`${expected}\n`);
    },
  );

  it('merges access logs day by day like one mrm run over every day, and skips input already merged', async () => {
    cluster = await TestCluster.start({ maps: 2, merges: 2 });
    const days = copyInto(join(cluster.dir, 'logs'), DAYS);
    const all = await embedded(cluster.dir, STATUS_JOB, days, 100);
    const firstTwo = days.slice(0, 2);
    const rest = days.slice(2);

    const first = await submit(cluster, [STATUS_JOB, '--input', ...firstTwo, '--batch-size', '100']);
    const afterFirst = (await cluster.jobStatus(first.jobId)).versions ?? [];
    expect(afterFirst.length).toBeGreaterThan(0);
    const partial = await query(cluster, 'status-per-hour');
    expectSameResult(partial, await embedded(join(cluster.dir, 'partial'), STATUS_JOB, firstTwo, 100));

    const out = join(cluster.dir, 'incremental.jsonl');
    const second = await submit(cluster, [STATUS_JOB, '--input', ...rest, '--batch-size', '100', '--out', out]);
    expectSameResult(out, all);
    expectSameResult(await query(cluster, 'status-per-hour'), all);
    const afterSecond = (await cluster.jobStatus(second.jobId)).versions ?? [];
    expect(Math.min(...afterSecond)).toBeGreaterThan(Math.max(...afterFirst));
    // The version of the first submit still reads as it was.
    expectSameResult(await query(cluster, 'status-per-hour', ['--version', String(afterFirst.at(-1))]), partial);

    const again = await submit(cluster, [STATUS_JOB, '--input', days[2] as string, '--batch-size', '100']);
    expect(again.stderr).toMatch(/skipped .*log-20251226: already merged/);
    const skipped = await cluster.jobStatus(again.jobId);
    expect(skipped.state).toBe('succeeded');
    expect(skipped.versions ?? []).toEqual([]);
    expectSameResult(await query(cluster, 'status-per-hour'), all);
    // `mrm versions` on the cluster lists both submits' versions, oldest first, ids first.
    const listed = await cluster.mrm(['versions', '--job', 'status-per-hour', '--nats', cluster.url]);
    expect(listed.code, listed.stderr).toBe(0);
    const ids = listed.stdout
      .trim()
      .split('\n')
      .map((l) => Number(l.split('\t')[0]));
    expect(ids).toEqual([...afterFirst, ...afterSecond]);
  });

  it('changes nothing when workers join after a job has finished; the merge worker takes its share at the next run', async () => {
    cluster = await TestCluster.start({ maps: 1, merges: 2 });
    const books = copyInto(join(cluster.dir, 'books'), BOOKS.slice(0, 2));
    const before = join(cluster.dir, 'before.jsonl');
    const { jobId } = await submit(cluster, [
      WORDCOUNT_JOB,
      '--input',
      ...books,
      '--batch-size',
      '500',
      '--out',
      before,
    ]);
    const versions = (await cluster.jobStatus(jobId)).versions;

    await Promise.all([cluster.addWorker('map', 'late-map'), cluster.addWorker('merge', 'late-merge')]);
    const status = await cluster.jobStatus(jobId);
    expect(status.state).toBe('succeeded');
    expect(status.versions).toEqual(versions);
    const late = status.workers.find((w) => w.workerId === 'late-merge');
    expect(late?.alive).toBe(true);
    // A worker's first heartbeat may carry no counters yet: none means no frames.
    expect(late?.stats.framesReceived ?? 0).toBe(0);
    expectSameResult(await query(cluster, 'wordcount'), before);
    writeFileSync(join(cluster.dir, 'reference.jsonl'), referenceWordcount(books));
    expectSameResult(before, join(cluster.dir, 'reference.jsonl'));

    // At the job's next run the merge worker that joined takes its share of the partitions
    // (restored from their copies in JetStream, issue 6), and the result stays exact.
    const third = copyInto(join(cluster.dir, 'books'), BOOKS.slice(2));
    const after = join(cluster.dir, 'after.jsonl');
    await submit(cluster, [WORDCOUNT_JOB, '--input', ...books, ...third, '--batch-size', '500', '--out', after]);
    writeFileSync(join(cluster.dir, 'reference-all.jsonl'), referenceWordcount([...books, ...third]));
    expectSameResult(after, join(cluster.dir, 'reference-all.jsonl'));
    const owners = await cluster.until(
      (s) => (s.workers.find((w) => w.workerId === 'late-merge')?.stats.framesReceived ?? 0) > 0,
      'late-merge received its share of the second run',
    );
    expect(owners.workers.find((w) => w.workerId === 'late-merge')?.alive).toBe(true);
  });

  it('runs every map task exactly once when nothing fails', async () => {
    cluster = await TestCluster.start({ maps: 3, merges: 1 });
    const books = copyInto(join(cluster.dir, 'books'), BOOKS.slice(0, 2));
    const { jobId } = await submit(cluster, [WORDCOUNT_JOB, '--input', ...books, '--batch-size', '250']);
    const batches = (await cluster.jobStatus(jobId)).progress?.totalBatches ?? 0;
    expect(batches).toBeGreaterThan(20);
    // Heartbeats carry the counters once a second: wait until they account for every batch.
    const tasks = (s: { workers: { role: string; stats: Readonly<Record<string, number>> }[] }) =>
      s.workers.filter((w) => w.role === 'map').reduce((n, w) => n + (w.stats.tasks ?? 0), 0);
    const settled = await cluster.until((s) => tasks(s) >= batches, `map tasks ≥ ${batches}`);
    expect(tasks(settled)).toBe(batches);
    // And stays so (no late duplicate) one heartbeat later.
    const first = settled.workers.find((w) => w.role === 'map')?.lastSeenMs ?? 0;
    const later = await cluster.until(
      (s) => s.workers.filter((w) => w.role === 'map').every((w) => w.lastSeenMs > first),
      'a newer heartbeat from every map worker',
    );
    expect(tasks(later)).toBe(batches);
    // Work spread over the workers (least-loaded dispatch).
    expect(later.workers.filter((w) => w.role === 'map' && (w.stats.tasks ?? 0) > 0).length).toBeGreaterThan(1);
  });

  it('shows counters as of now in status, not as of the last heartbeat', async () => {
    // Heartbeats every 30 s: within this test, the beats carry only the counters of the start.
    cluster = await TestCluster.start({
      maps: 2,
      merges: 1,
      heartbeatTimeoutMs: 120_000,
      workerArgs: ['--heartbeat-interval', '30000'],
    });
    const books = copyInto(join(cluster.dir, 'books'), BOOKS.slice(0, 2));
    const { jobId } = await submit(cluster, [WORDCOUNT_JOB, '--input', ...books, '--batch-size', '500']);
    const batches = (await cluster.jobStatus(jobId)).progress?.totalBatches ?? 0;
    const s = await cluster.status();
    const sum = (role: string, stat: string) =>
      s.workers.filter((w) => w.role === role).reduce((n, w) => n + (w.stats[stat] ?? 0), 0);
    expect(sum('map', 'tasks')).toBe(batches);
    expect(sum('map', 'framesPushed')).toBeGreaterThan(0);
    expect(sum('merge', 'framesReceived')).toBe(sum('map', 'framesPushed'));
    expect(s.workers.every((w) => w.phase === 'idle')).toBe(true);
  });
});
