/**
 * Operating a cluster: the coordinator's HTTP API and dashboard, Prometheus metrics on every
 * process, cancel, and the watchdog, all against a real cluster (nats-server and `mrm`
 * processes) and, for the dashboard, a real headless Chromium.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobStatus, VersionInfo, WorkerStatus } from '@mrm/core';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { writeJob } from './cli-helpers.js';
import { type ClusterStatus, copyInto, TestCluster } from './cluster-harness.js';
import { parseMetricsText, type Sample, sumOf } from './metrics-text.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname;
const BOOKS = ['pg-metamorphosis.txt', 'pg-frankenstein.txt'].map((f) => join(EXAMPLES, 'wordcount/data', f));
const WORDCOUNT = join(EXAMPLES, 'wordcount/job.ts');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * A word count whose map sleeps `paceMs` per line and, at line `line + 1` of a source, waits until
 * the file `file` of each gate exists: a job that stalls where a test wants it to, and goes on
 * when the test opens the gate.
 */
function gatedWordcount(name: string, paceMs: number, gates: ReadonlyArray<{ file: string; line: number }>): string {
  return `
import { existsSync } from 'node:fs';
import { aggregates, defineJob } from '@mrm/core';
const cell = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number) => Atomics.wait(cell, 0, 0, ms);
export default defineJob({
  name: '${name}',
  map(line: string, emit, ctx) {
    if (${paceMs} > 0) sleep(${paceMs});
    ${gates.map((g) => `if (ctx.line === ${g.line + 1}) while (!existsSync(${JSON.stringify(g.file)})) sleep(20);`).join('\n    ')}
    for (const w of line.match(/[A-Za-z]+/g) ?? []) emit(w, 1);
  },
  ...aggregates.sum(),
});
`;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  expect(res.status, `${url}: ${await res.clone().text()}`).toBe(200);
  return (await res.json()) as T;
}

async function metricsAt(url: string): Promise<Sample[]> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return parseMetricsText(await res.text());
}

/** Polls `read` until `predicate` holds (or fails after `timeoutMs` with the last value). */
async function until<T>(
  read: () => Promise<T>,
  predicate: (v: T) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (predicate(v)) return v;
    if (Date.now() > deadline) throw new Error(`never reached: ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('operating a cluster over HTTP', () => {
  // One cluster for the file (started by the first test that needs it: the harness hooks into the test).
  let cluster: TestCluster;
  let http: string;
  const ensureCluster = async () => {
    if (cluster !== undefined) return;
    cluster = await TestCluster.start({
      maps: 1,
      // Two threads: the task waiting at a gate holds one; the other runs every other task.
      mapThreads: 2,
      merges: 2,
      coordinatorArgs: ['--http', '0', '--watchdog', '2000'],
      workerArgs: ['--metrics-port', '0'],
    });
    http = await cluster.dashboardUrl();
  };
  const jobsOf = () => getJson<ClusterStatus>(`${http}/api/jobs`);
  const jobNamed = async (name: string, state: JobStatus['state']) =>
    (
      await until(jobsOf, (s) => s.jobs.some((j) => j.name === name && j.state === state), `${name} ${state}`)
    ).jobs.find((j) => j.name === name && j.state === state) as JobStatus;

  afterAll(async () => {
    await cluster?.stop();
  });

  it('answers status, versions, queries and metrics that agree with the job and with the CLI', async () => {
    await ensureCluster();
    const books = copyInto(join(cluster.dir, 'books'), BOOKS);
    const r = await cluster.mrm([
      'submit',
      WORDCOUNT,
      '--input',
      ...books,
      '--wait',
      '--batch-size',
      '1000',
      '--checkpoint-every',
      '4',
      '--nats',
      cluster.url,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const jobId = r.stdout.split('\n')[0] ?? '';
    const summary = /wordcount: ([\d,]+) records, ([\d,]+) batches/.exec(r.stderr);
    expect(summary, r.stderr).not.toBeNull();
    const records = Number(summary?.[1]?.replaceAll(',', ''));
    const batches = Number(summary?.[2]?.replaceAll(',', ''));
    expect(batches).toBeGreaterThan(4);

    // The API says what `mrm status --json` says.
    const cli = await cluster.status();
    const api = await jobsOf();
    expect(api.jobs).toEqual(cli.jobs);
    expect(api.workers.map((w) => w.workerId).sort()).toEqual(['map-1', 'merge-1', 'merge-2']);
    const one = await getJson<JobStatus & { workers: WorkerStatus[] }>(`${http}/api/jobs/${jobId}`);
    expect(one).toMatchObject({ jobId, name: 'wordcount', state: 'succeeded' });
    expect(one.progress).toMatchObject({ totalBatches: batches, mergedBatches: batches, records });
    // Phases come with heartbeats (every second): the workers say idle soon after the job.
    const { workers } = await until(
      () => getJson<{ workers: WorkerStatus[] }>(`${http}/api/workers`),
      (r) => r.workers.every((w) => w.phase === 'idle'),
      'every worker idle',
    );
    for (const w of workers) {
      expect(w.metricsUrl, w.workerId).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(w.resources?.rssBytes, w.workerId).toBeGreaterThan(10 * 1024 * 1024);
      expect(w.phase, w.workerId).toBe('idle');
    }
    const owned = workers.flatMap((w) => w.partitions?.wordcount ?? []).sort((a, b) => a - b);
    expect(owned.length).toBeGreaterThan(1);
    expect(owned).toEqual(owned.map((_, i) => i));

    // Versions: the same as `mrm versions`.
    const versions = await getJson<{ versions: VersionInfo[] }>(`${http}/api/jobs/${jobId}/versions`);
    const cliVersions = await cluster.mrm(['versions', '--job', 'wordcount', '--nats', cluster.url]);
    expect(versions.versions.map((v) => v.version).join('\n')).toBe(
      cliVersions.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t')[0])
        .join('\n'),
    );
    expect(versions.versions.at(-1)?.records).toBe(records);

    // Direct queries equal `mrm query`, at the latest version and at an older one.
    for (const [key, version] of [
      ['the', undefined],
      ['Gregor', undefined],
      ['the', 1],
    ] as const) {
      const q = `${http}/api/query?job=wordcount&key=${encodeURIComponent(JSON.stringify(key))}${version !== undefined ? `&version=${version}` : ''}`;
      const res = await fetch(q);
      expect(res.status).toBe(200);
      const viaCli = await cluster.mrm([
        'query',
        '--job',
        'wordcount',
        '--key',
        key,
        ...(version !== undefined ? ['--version', String(version)] : []),
        '--nats',
        cluster.url,
      ]);
      expect(viaCli.code).toBe(0);
      expect(await res.text()).toBe(viaCli.stdout);
    }
    const missing = await fetch(`${http}/api/query?job=wordcount&key=%22zzzz-no-such-word%22`);
    expect(missing.status).toBe(404);
    expect((await fetch(`${http}/api/query?job=wordcount&key=%22the%22&version=999`)).status).toBe(404);
    expect((await fetch(`${http}/api/query?job=wordcount`)).status).toBe(400);
    expect((await fetch(`${http}/api/jobs/no-such-job`)).status).toBe(404);

    // The coordinator's counters agree with the job's summary.
    const coordinator = await metricsAt(`${http}/metrics`);
    expect(sumOf(coordinator, 'mrm_batches_merged_total', { job: 'wordcount' })).toBe(batches);
    expect(sumOf(coordinator, 'mrm_records_merged_total', { job: 'wordcount' })).toBe(records);
    expect(sumOf(coordinator, 'mrm_versions_committed_total', { job: 'wordcount' })).toBe(versions.versions.length);
    // One observation per commit, and a commit takes every version ready at once (group commit).
    const commits = sumOf(coordinator, 'mrm_commit_duration_seconds_count', { job: 'wordcount' });
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(commits).toBeLessThanOrEqual(versions.versions.length);
    expect(sumOf(coordinator, 'mrm_lag_batches', { job: 'wordcount' })).toBe(0);
    expect(sumOf(coordinator, 'mrm_jobs_finished_total', { state: 'succeeded' })).toBe(1);
    expect(sumOf(coordinator, 'mrm_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(coordinator.every((s) => s.name.startsWith('mrm_'))).toBe(true);

    // So do the workers' own: every record read once, every batch merged into every partition.
    const byRole = async (role: string) =>
      (await Promise.all(workers.filter((w) => w.role === role).map((w) => metricsAt(w.metricsUrl ?? '')))).flat();
    const maps = await byRole('map');
    const merges = await byRole('merge');
    expect(sumOf(maps, 'mrm_records_read_total', { job: 'wordcount' })).toBe(records);
    expect(sumOf(maps, 'mrm_bytes_read_total', { job: 'wordcount' })).toBeGreaterThan(0);
    expect(sumOf(maps, 'mrm_pairs_pushed_total', { job: 'wordcount' })).toBeGreaterThan(0);
    expect(sumOf(maps, 'mrm_worker_up', { role: 'map', worker: 'map-1' })).toBe(1);
    expect(sumOf(merges, 'mrm_partition_batches_merged_total', { job: 'wordcount' })).toBe(batches * owned.length);
    expect(sumOf(merges, 'mrm_checkpoint_duration_seconds_count', { job: 'wordcount' })).toBe(
      versions.versions.length * owned.length,
    );
    expect(sumOf(merges, 'mrm_process_cpu_seconds_total')).toBeGreaterThan(0);
  }, 120_000);

  it('shows a running job, its progress and the workers moving in a real browser, then its versions', async () => {
    await ensureCluster();
    const books = copyInto(join(cluster.dir, 'paced-books'), BOOKS.slice(0, 1));
    const gates = [300, 1200].map((line) => ({ file: join(cluster.dir, `paced-gate-${line}`), line }));
    const job = writeJob(cluster.dir, 'paced.ts', gatedWordcount('paced', 1, gates));
    const submitted = cluster.mrm([
      'submit',
      job,
      '--input',
      ...books,
      '--wait',
      '--batch-size',
      '100',
      '--checkpoint-every',
      '2',
      '--nats',
      cluster.url,
    ]);
    const profile = mkdtempSync(join(tmpdir(), 'mrm-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 1100 },
    });
    const page = await context.newPage();
    try {
      const running = await jobNamed('paced', 'running');
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      await page.goto(http);
      const row = page.locator(`tr[data-job="${running.jobId}"]`);
      await row.locator('.state.running').waitFor({ timeout: 20_000 });
      for (const id of ['map-1', 'merge-1', 'merge-2']) {
        await page.locator(`tr[data-worker="${id}"] .health.ok`).waitFor({ timeout: 10_000 });
      }
      // The job waits at its first gate; opened, its progress moves on the page without a reload.
      const label = row.locator('.bar-label');
      const progress = async () => (await getJson<JobStatus>(`${http}/api/jobs/${running.jobId}`)).progress;
      const stuck = await until(progress, (p) => (p?.mergedBatches ?? 0) >= 3, 'the job at its gate');
      await until(
        () => label.textContent(),
        (text) => (text ?? '').startsWith(`${stuck?.mergedBatches}/`),
        'the progress on the page',
      );
      const first = await label.textContent();
      writeFileSync(gates[0]?.file ?? '', 'open');
      await until(
        () => label.textContent(),
        (now) => now !== first,
        'the progress on the page to move',
      );
      // The workers say what they are doing and what they use.
      await until(
        () => page.locator('#workers tbody').textContent(),
        (text) => /mapping task|batch \d+/.test(text ?? ''),
        'a worker phase on the page',
      );
      expect(await page.locator('tr[data-worker="map-1"]').textContent()).toMatch(/MiB/);
      await page.screenshot({ path: join(tmpdir(), 'mrm-dashboard-running.png'), fullPage: true });

      writeFileSync(gates[1]?.file ?? '', 'open');
      const done = await submitted;
      expect(done.code, done.stderr).toBe(0);
      await row.locator('.state.succeeded').waitFor({ timeout: 20_000 });
      const versions = await getJson<{ versions: VersionInfo[] }>(`${http}/api/jobs/${running.jobId}/versions`);
      expect(versions.versions.length).toBeGreaterThan(1);
      await until(
        () => page.locator('#versions tbody tr').count(),
        (n) => n === versions.versions.length,
        'every version listed on the page',
      );
      for (const v of versions.versions) {
        await page.locator(`#versions tr[data-version="${v.version}"]`).waitFor({ timeout: 5_000 });
      }
      // The load of each merge worker (the job's skew status) is drawn.
      for (const id of ['merge-1', 'merge-2']) {
        await page.locator(`#balance .load-row[data-load="${id}"]`).waitFor({ timeout: 10_000 });
      }
      // The chart has drawn the batches merged.
      await until(
        () => page.locator('#rate').getAttribute('data-total'),
        (total) => Number(total ?? 0) > 0,
        'the chart of batches merged',
      );
      await page.screenshot({ path: join(tmpdir(), 'mrm-dashboard-done.png'), fullPage: true });
      expect(pageErrors).toEqual([]);
    } catch (e) {
      await page.screenshot({ path: join(tmpdir(), 'mrm-dashboard-failed.png'), fullPage: true }).catch(() => {});
      throw e;
    } finally {
      for (const g of gates) writeFileSync(g.file, 'open');
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 120_000);

  it('warns about a stalled job naming the worker, cancels a queued and a running job, then runs the next', async () => {
    await ensureCluster();
    const gate = join(cluster.dir, 'gate');
    const books = copyInto(join(cluster.dir, 'gated-books'), BOOKS.slice(0, 1));
    const job = writeJob(cluster.dir, 'gated.ts', gatedWordcount('gated', 0, [{ file: gate, line: 400 }]));
    const gated = cluster.mrm([
      'submit',
      job,
      '--input',
      ...books,
      '--wait',
      '--batch-size',
      '50',
      '--checkpoint-every',
      '2',
      '--nats',
      cluster.url,
    ]);
    try {
      const running = await jobNamed('gated', 'running');
      // Stuck behind the gate: the watchdog names the map worker and what it is doing.
      const stalled = await until(
        () => getJson<JobStatus>(`${http}/api/jobs/${running.jobId}`),
        (j) => j.stalled !== undefined,
        'a stall warning',
      );
      expect(stalled.stalled?.workerId).toBe('map-1');
      expect(stalled.stalled?.phase).toMatch(/^mapping task t\d+/);
      expect(stalled.stalled?.message).toContain('map-1');
      await cluster.coordinator.waitForOutput(/job stalled .*worker=map-1/);
      const before = await getJson<{ versions: VersionInfo[] }>(`${http}/api/jobs/${running.jobId}/versions`);
      expect(before.versions.length).toBeGreaterThan(0);

      // A queued job leaves the queue.
      const books2 = copyInto(join(cluster.dir, 'queued-books'), BOOKS.slice(1));
      const queuedSubmit = cluster.mrm(['submit', WORDCOUNT, '--input', ...books2, '--wait', '--nats', cluster.url]);
      const queued = await jobNamed('wordcount', 'queued');
      const cancelQueued = await fetch(`${http}/api/jobs/${queued.jobId}/cancel`, { method: 'POST' });
      expect(cancelQueued.status).toBe(200);
      expect(((await cancelQueued.json()) as JobStatus).state).toBe('cancelled');
      const q = await queuedSubmit;
      expect(q.code).not.toBe(0);
      expect(q.stderr).toMatch(/cancelled/);

      // A running job stops; its state stays at its last committed version.
      const cancel = await cluster.mrm(['cancel', running.jobId, '--nats', cluster.url]);
      expect(cancel.code, cancel.stderr).toBe(0);
      const g = await gated;
      expect(g.code).not.toBe(0);
      expect(g.stderr).toMatch(new RegExp(`job ${running.jobId} was cancelled`));
      expect((await cluster.jobStatus(running.jobId)).state).toBe('cancelled');
      const after = await getJson<{ versions: VersionInfo[] }>(`${http}/api/jobs/${running.jobId}/versions`);
      expect(after.versions).toEqual(before.versions);
      const latest = after.versions.at(-1)?.version ?? 0;
      const atLatest = await fetch(`${http}/api/query?job=gated&key=%22the%22`);
      const atVersion = await fetch(`${http}/api/query?job=gated&key=%22the%22&version=${latest}`);
      expect(await atLatest.text()).toBe(await atVersion.text());
      // Cancelling it again says what happened to it.
      const again = await fetch(`${http}/api/jobs/${running.jobId}/cancel`, { method: 'POST' });
      expect(again.status).toBe(409);
      const history = await cluster.status();
      expect(history.jobs.find((j) => j.jobId === queued.jobId)?.state).toBe('cancelled');
    } finally {
      // Lets the map thread out of the gate (its task was aborted; its output is dropped).
      writeFileSync(gate, 'open');
    }
    expect(existsSync(gate)).toBe(true);
    // The next job runs.
    const next = await cluster.mrm([
      'submit',
      WORDCOUNT,
      '--input',
      ...copyInto(join(cluster.dir, 'next-books'), BOOKS.slice(1)),
      '--wait',
      '--nats',
      cluster.url,
    ]);
    expect(next.code, next.stderr).toBe(0);
    const metrics = await metricsAt(`${http}/metrics`);
    expect(sumOf(metrics, 'mrm_jobs_finished_total', { state: 'cancelled' })).toBe(2);
  }, 120_000);
});
