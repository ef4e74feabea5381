import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectedLines, mrm, tempDir, writeJob } from './cli-helpers.js';

const FIXTURE = new URL('./fixtures/meatlabel.app.access.log-20251222', import.meta.url).pathname;

const WORDCOUNT_JOB = `
import { defineJob } from '@mrm/core';
export default defineJob({
  name: 'words',
  map(line: string, emit) {
    for (const w of line.match(/[A-Za-z]+/g) ?? []) emit(w.toLowerCase(), 1);
  },
  combine: (_k, vs: number[]) => vs.reduce((a, b) => a + b, 0),
  reduce: (_k, vs: number[]) => vs.reduce((a, b) => a + b, 0),
});
`;

/** The word count computed plainly, in this process. */
function referenceWordCount(file: string): Map<unknown, unknown> {
  const counts = new Map<string, number>();
  for (const w of readFileSync(file, 'utf8').match(/[A-Za-z]+/g) ?? []) {
    const word = w.toLowerCase();
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}

interface ClusterRecord {
  url: string;
  pids: Record<string, number>;
  startedAt: string;
  dashboard?: string;
}

function readRecord(dir: string): ClusterRecord {
  return JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterRecord;
}

/** True while `pid` exists and is not a zombie (an exited process its parent has not reaped). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** Command lines of running processes that mention `text` (pgrep -f), empty when none. */
function processesMentioning(text: string): string {
  return spawnSync('pgrep', ['-af', text], { encoding: 'utf8' }).stdout.trim();
}

/** A pid that surely belongs to no process any more: one of a process that has exited. */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '']);
    child.once('error', reject);
    child.once('exit', () => (child.pid === undefined ? reject(new Error('no pid')) : resolve(child.pid)));
  });
}

/** What `up` prints: the NATS URL, then the dashboard, each on its own line. */
const URL_LINE = /^MRM_NATS_URL=(nats:\/\/127\.0\.0\.1:\d+)\nMRM_DASHBOARD=(http:\/\/127\.0\.0\.1:\d+)\n$/;

describe('mrm up / mrm down', () => {
  let root: string;
  let cleanup: () => void;
  let cluster: string;
  /** Every pid any cluster of the test recorded, killed afterwards whatever happened. */
  const seenPids = new Set<number>();

  const up = async (...args: string[]) => {
    const result = await mrm(['up', '--dir', cluster, '--threads', '1', ...args]);
    if (existsSync(join(cluster, 'cluster.json'))) {
      for (const pid of Object.values(readRecord(cluster).pids)) seenPids.add(pid);
    }
    return result;
  };

  beforeEach(() => {
    ({ dir: root, cleanup } = tempDir());
    cluster = join(root, 'cluster');
  });

  afterEach(() => {
    for (const pid of seenPids) {
      if (!running(pid)) continue;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        process.kill(pid, 'SIGKILL');
      }
    }
    seenPids.clear();
    cleanup();
  });

  it('starts a ready cluster that runs a job correctly, and down leaves no process behind', async () => {
    const started = await up('--maps', '2', '--merges', '2');
    expect(started.stderr).not.toContain('error');
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(URL_LINE);
    const url = URL_LINE.exec(started.stdout)?.[1] ?? '';
    const record = readRecord(cluster);
    expect(record.url).toBe(url);
    // The dashboard answers as soon as `up` returns.
    const dashboard = URL_LINE.exec(started.stdout)?.[2] ?? '';
    expect((await fetch(`${dashboard}/api/workers`)).status).toBe(200);
    expect(record.dashboard).toBe(dashboard);
    expect(Object.keys(record.pids).sort()).toEqual([
      'coordinator',
      'map-0',
      'map-1',
      'merge-0',
      'merge-1',
      'nats-server',
    ]);

    // Ready means ready: the workers are alive at the coordinator as soon as `up` returns.
    const status = await mrm(['status', '--nats', url, '--json']);
    expect(status.code).toBe(0);
    const workers = (JSON.parse(status.stdout) as { workers: { workerId: string; alive: boolean }[] }).workers;
    expect(
      workers
        .filter((w) => w.alive)
        .map((w) => w.workerId)
        .sort(),
    ).toEqual(['map-0', 'map-1', 'merge-0', 'merge-1']);

    const job = writeJob(root, 'words.ts', WORDCOUNT_JOB);
    const out = join(root, 'out.jsonl');
    const submitted = await mrm([
      'submit',
      job,
      '--input',
      FIXTURE,
      '--nats',
      url,
      '--wait',
      '--out',
      out,
      '--batch-size',
      '40',
      '--timeout',
      '30000',
    ]);
    expect(submitted.stderr).not.toContain('error');
    expect(submitted.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(expectedLines(referenceWordCount(FIXTURE)));

    const stopped = await mrm(['down', '--dir', cluster]);
    expect(stopped.code).toBe(0);
    for (const [name, pid] of Object.entries(record.pids)) {
      expect(running(pid), `${name} (pid ${pid}) still runs`).toBe(false);
    }
    expect(processesMentioning(cluster)).toBe('');
    expect(existsSync(join(cluster, 'cluster.json'))).toBe(false);

    const again = await mrm(['down', '--dir', cluster]);
    expect(again.code).toBe(0);
    expect(again.stderr).toBe(`mrm: no cluster running in ${cluster}\n`);
  });

  it('refuses to start a second cluster in a directory where one runs, leaving the first one alone', async () => {
    const first = await up();
    expect(first.code).toBe(0);
    const pids = readRecord(cluster).pids;

    const second = await up();
    expect(second.code).not.toBe(0);
    expect(second.stdout).toBe('');
    expect(second.stderr).toBe(`mrm: error: a cluster is already running in ${cluster} (mrm down --dir ${cluster})\n`);
    expect(readRecord(cluster).pids).toEqual(pids);
    for (const pid of Object.values(pids)) expect(running(pid)).toBe(true);

    expect((await mrm(['down', '--dir', cluster])).code).toBe(0);
    for (const pid of Object.values(pids)) expect(running(pid)).toBe(false);
  });

  it('starts afresh over a cluster.json whose processes are gone', async () => {
    const stalePid = await deadPid();
    mkdirSync(cluster, { recursive: true });
    const stale: ClusterRecord = {
      url: 'nats://127.0.0.1:1',
      pids: { 'nats-server': stalePid, coordinator: stalePid },
      startedAt: new Date(0).toISOString(),
    };
    writeFileSync(join(cluster, 'cluster.json'), JSON.stringify(stale));

    const started = await up();
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(URL_LINE);
    const record = readRecord(cluster);
    expect(record.url).not.toBe(stale.url);
    expect(Object.keys(record.pids).sort()).toEqual(['coordinator', 'map-0', 'merge-0', 'nats-server']);

    expect((await mrm(['down', '--dir', cluster])).code).toBe(0);
    expect(processesMentioning(cluster)).toBe('');
  });

  it('fails with the log to read, and stops what it started, when the cluster is not ready in time', async () => {
    const started = await up('--timeout', '300');
    expect(started.code).not.toBe(0);
    expect(started.stdout).toBe('');
    expect(started.stderr).toMatch(
      new RegExp(`^mrm: error: the local cluster in ${cluster} was not ready after 300 ms: .*\\(read ${cluster}/logs/`),
    );
    expect(existsSync(join(cluster, 'cluster.json'))).toBe(false);
    expect(processesMentioning(cluster)).toBe('');
  });
});
