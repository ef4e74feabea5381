/**
 * `mrm run --follow` as a user runs it: a real log appended to in chunks (a line written in two
 * pieces, a rotation by rename), a windowed job, Ctrl-C, and SIGKILL with a restart; the result
 * must equal one plain `mrm run` over the same lines, key for key.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LmdbStateStore } from '@mrm/store-lmdb';
import { afterEach, describe, expect, it } from 'vitest';
import { MRM_BIN, mrm, tempDir } from './cli-helpers.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/access-logs/', import.meta.url));
const JOB = join(EXAMPLES, 'status-per-10-minutes.ts');
const LOG_LINES = readFileSync(join(EXAMPLES, 'data/apache/apache_logs-lines-1-3000'), 'utf8')
  .split('\n')
  .filter((l) => l.length > 0)
  .concat(readFileSync(join(EXAMPLES, 'data/apache/apache_logs-line-8899'), 'utf8').trimEnd());

const children: ChildProcess[] = [];
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const c of cleanups.splice(0)) c();
});

function follow(dir: string, inputs: string[], out: string, job = JOB, extra: string[] = []): ChildProcess {
  const args = [MRM_BIN, 'run', job, '--state', join(dir, 'state'), '--out', out, '--follow', ...extra];
  const interval = extra.includes('--batch-interval') ? [] : ['--batch-interval', '100'];
  const child = spawn(process.execPath, [...args, ...interval, '--input', ...inputs], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  Object.defineProperty(child, 'stderrText', { get: () => stderr });
  children.push(child);
  return child;
}

/** Sum of the values in a result file (every line counts one request). */
function total(out: string): number {
  if (!existsSync(out)) return 0;
  let sum = 0;
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    if (line.length > 0) sum += (JSON.parse(line) as { value: number }).value;
  }
  return sum;
}

/** Waits until the result file counts `n` requests (the follower caught up), failing after a bound. */
async function caughtUp(child: ChildProcess, out: string, n: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (total(out) !== n) {
    if (child.exitCode !== null)
      throw new Error(`follower exited: ${(child as unknown as { stderrText: string }).stderrText}`);
    if (Date.now() > deadline) throw new Error(`result counts ${total(out)} requests, not ${n}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(child: ChildProcess): Promise<number | string> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode ?? String(child.signalCode));
    else child.once('exit', (code, signal) => resolve(code ?? String(signal)));
  });
}

/** The result of one plain run over `lines` (one batch: nothing is late in it). */
async function reference(lines: readonly string[], job = JOB): Promise<string> {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  writeFileSync(join(dir, 'all.log'), `${lines.join('\n')}\n`);
  const r = await mrm(['run', job, '--input', 'all.log', '--state', 'st', '--out', 'ref.jsonl'], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return readFileSync(join(dir, 'ref.jsonl'), 'utf8');
}

const stderrOf = (child: ChildProcess) => (child as unknown as { stderrText: string }).stderrText;

/** Waits until the follower's output has a line matching `pattern`; returns every such line. */
async function printed(child: ChildProcess, pattern: RegExp): Promise<string[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const lines = stderrOf(child)
      .split('\n')
      .filter((l) => pattern.test(l));
    if (lines.length > 0) return lines;
    if (child.exitCode !== null) throw new Error(`follower exited: ${stderrOf(child)}`);
    if (Date.now() > deadline) throw new Error(`no line like ${pattern}: ${stderrOf(child)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Requests per status and minute, with a watermark 2 s behind the latest request time. */
const MINUTE_JOB = `import { aggregates, defineJob } from '@mrm/core';
import { entryOf, requestTime } from ${JSON.stringify(join(EXAMPLES, 'window-time.js'))};
export default defineJob({
  name: 'status-per-minute',
  window: { time: requestTime, size: '1m', lateness: '2s' },
  map(line: string, emit) {
    const entry = entryOf(line);
    emit(entry === undefined ? 'malformed' : entry.status, 1);
  },
  ...aggregates.count(),
});
`;

/** Requests per status, no window: any cut of the log into batches gives the same result. */
const COUNT_JOB = `import { aggregates, defineJob } from '@mrm/core';
import { entryOf } from ${JSON.stringify(join(EXAMPLES, 'window-time.js'))};
export default defineJob({
  name: 'status-count',
  map(line: string, emit) {
    const entry = entryOf(line);
    emit(entry === undefined ? 'malformed' : entry.status, 1);
  },
  ...aggregates.count(),
});
`;

/** What the state of `job` keeps about its input: plans (entries of each), batch records, folded records. */
async function inputRecords(stateDir: string, job: string) {
  const store = await LmdbStateStore.open({ path: join(stateDir, 'lmdb') });
  try {
    const plans: number[] = [];
    for (const name of await store.listMeta(job, 'plan:')) {
      plans.push((await store.getMeta<{ batches: unknown[] }>(job, name))?.batches.length ?? -1);
    }
    let ids = 0;
    const records = await store.listMeta(job, 'batches@');
    for (const name of records) ids += (await store.getMeta<string[]>(job, name))?.length ?? 0;
    // The merge worker's record of each batch merged into a partition (decisions/0049).
    const partitionBatches = new Set<string>();
    const { partitions } = (await store.getMeta<{ partitions: number }>(job, 'shape')) ?? { partitions: 0 };
    for (let p = 0; p < partitions; p++) for (const id of await store.mergedBatches(job, p)) partitionBatches.add(id);
    const folded = (await store.listMeta(job, 'folded:')).length;
    return { plans, batchRecords: records.length, ids, folded, partitions, partitionBatches: partitionBatches.size };
  } finally {
    await store.close();
  }
}

/** A temporary folder with the count job and an empty log to follow. */
function countJobFolder() {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const job = join(dir, 'count.ts');
  writeFileSync(job, COUNT_JOB);
  const log = join(dir, 'access.log');
  writeFileSync(log, '');
  return { dir, job, log, out: join(dir, 'out.jsonl'), state: join(dir, 'state') };
}

/** A real log line with its request time set to `ms` (whole seconds, as the log writes them). */
function at(line: string, ms: number): string {
  const d = new Date(ms);
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${p(d.getUTCDate())}/${month}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
  return line.replace(/\[[^\]]+\]/, `[${stamp}]`);
}

describe('mrm run --follow', () => {
  it('with --idle-timeout, moves the watermark on when the log stops growing, also across SIGKILL, so the last window becomes final', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    writeFileSync(join(dir, 'minute.ts'), MINUTE_JOB);
    const job = join(dir, 'minute.ts');
    const log = join(dir, 'access.log');
    const out = join(dir, 'out.jsonl');
    const START = Date.parse('2015-05-17T10:00:00Z');
    // Ten minutes of requests, one a second: the last at 10:09:59, so W0 = 10:09:57 and the window
    // [10:09, 10:10) is still open.
    const lines = LOG_LINES.slice(0, 600).map((l, i) => at(l, START + i * 1000));
    writeFileSync(log, '');
    const child = follow(dir, ['access.log'], out, job, ['--idle-timeout', '1500']);
    for (let c = 0; c < 3; c++) {
      appendFileSync(log, `${lines.slice(c * 200, (c + 1) * 200).join('\n')}\n`);
      await caughtUp(child, out, (c + 1) * 200);
    }
    const idleFrom = stderrOf(child).length;
    const w0 = START + 599_000 - 2_000;
    // While the log is idle, each mark moves W on by 1.5 s. Killed after the first mark, the
    // follower's restart goes on from the committed watermark: at 10:10:00 the window is final.
    await printed(child, /no new lines, watermark 2015-05-17T10:09:58\.500Z/);
    process.kill(child.pid as number, 'SIGKILL');
    expect(await exited(child)).toBe('SIGKILL');
    const again = follow(dir, ['access.log'], out, job, ['--idle-timeout', '1500']);
    await printed(again, /no new lines, watermark 2015-05-17T10:1\d:/);
    const idleMarks = `${stderrOf(child).slice(idleFrom)}\n${stderrOf(again)}`
      .split('\n')
      .filter((l) => l.includes('no new lines'));
    expect(idleMarks.length).toBeGreaterThanOrEqual(2);
    for (const line of idleMarks) {
      const w = Date.parse(/watermark (\S+)/.exec(line)?.[1] ?? '');
      // Every mark's watermark is W0 plus whole timeouts: decided from the committed one, no clock.
      expect((w - w0) % 1500, line).toBe(0);
    }
    expect(readFileSync(out, 'utf8')).toBe(await reference(lines, job));

    // Final means final: a request of 10:09:30 is late (counted, not merged); one of 10:10:05 opens
    // the next window.
    const late = at(LOG_LINES[600] as string, START + 570_000);
    const next = at(LOG_LINES[601] as string, START + 605_000);
    appendFileSync(log, `${late}\n${next}\n`);
    await printed(again, /1 late record/);
    await caughtUp(again, out, 601);
    again.kill('SIGINT');
    expect(await exited(again)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(await reference([...lines, next], job));
  });

  it('merges appended lines into windows, waits for a line to be complete, survives rotation, stops on Ctrl-C', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const log = join(dir, 'access.log');
    const out = join(dir, 'out.jsonl');
    // The last lines are appended after the follower stopped, for a plain run of the same path.
    const afterwards = LOG_LINES.slice(-300);
    const chunks = [LOG_LINES.slice(0, 1000), LOG_LINES.slice(1000, 2000), LOG_LINES.slice(2000, -300)];
    writeFileSync(log, `${chunks[0]?.join('\n')}\n`);
    const child = follow(dir, ['access.log'], out);
    await caughtUp(child, out, 1000);

    // A line written in two pieces is merged once, whole, when its newline arrives.
    const [first, ...rest] = chunks[1] ?? [];
    appendFileSync(log, (first ?? '').slice(0, 20));
    appendFileSync(log, `${(first ?? '').slice(20)}\n${rest.join('\n')}\n`);
    await caughtUp(child, out, 2000);

    // Rotation by rename: lines still written to the old file are merged, then the new file's.
    const last = chunks[2] ?? [];
    renameSync(log, `${log}.1`);
    appendFileSync(`${log}.1`, `${last.slice(0, 500).join('\n')}\n`);
    writeFileSync(log, `${last.slice(500).join('\n')}\n`);
    await caughtUp(child, out, LOG_LINES.length - afterwards.length);

    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(await reference(LOG_LINES.slice(0, -afterwards.length)));

    // A plain run of the path after the rotation takes turns with the follower: it merges only the
    // appended lines, not the new file's lines a second time (it plans under the follower's identity).
    appendFileSync(log, `${afterwards.join('\n')}\n`);
    const plain = await mrm(['run', JOB, '--state', join(dir, 'state'), '--out', out, '--input', 'access.log'], {
      cwd: dir,
    });
    expect(plain.code, plain.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(await reference(LOG_LINES));
  });

  it('resumes exactly after SIGKILL of the follower at any moment: a restart merges only what was not committed', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const log = join(dir, 'access.log');
    const out = join(dir, 'out.jsonl');
    writeFileSync(log, `${LOG_LINES.slice(0, 1000).join('\n')}\n`);
    const first = follow(dir, ['access.log'], out);
    await caughtUp(first, out, 1000);
    process.kill(first.pid as number, 'SIGKILL');
    expect(await exited(first)).toBe('SIGKILL');
    // Each restart is killed at another moment: starting, planning, merging, committing, idle.
    let appended = 1000;
    for (const afterMs of [50, 400, 800, 1200, 1600]) {
      const child = follow(dir, ['access.log'], out);
      appendFileSync(log, `${LOG_LINES.slice(appended, appended + 350).join('\n')}\n`);
      appended += 350;
      await new Promise((r) => setTimeout(r, afterMs));
      expect(child.pid).toBeDefined();
      process.kill(child.pid as number, 'SIGKILL');
      expect(await exited(child)).toBe('SIGKILL');
    }
    appendFileSync(log, `${LOG_LINES.slice(appended).join('\n')}\n`);
    const again = follow(dir, ['access.log'], out);
    await caughtUp(again, out, LOG_LINES.length);
    again.kill('SIGINT');
    expect(await exited(again)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(await reference(LOG_LINES));
  });

  it('keeps its plans and batch records bounded over hundreds of looks, across SIGKILL and rotation, and merges every line once', async () => {
    const { dir, job, log, out, state } = countJobFolder();
    const run = () => follow(dir, ['access.log'], out, job, ['--batch-interval', '10']);
    let child = run();
    // Two lines per look, each look waited for: a short batch per look, as a log written to all
    // the time makes, ~300 of them (every one would be in the plan and the records unfolded).
    const LOOKS = 300;
    const lines = LOG_LINES.slice(0, 2 * LOOKS);
    for (let look = 0; look < LOOKS; look++) {
      const path = look >= 200 ? log : look >= 150 ? `${log}.1` : log;
      if (look === 150) renameSync(log, `${log}.1`); // rotated; the old file is still written a while
      if (look === 200) writeFileSync(log, '');
      appendFileSync(path, `${lines.slice(2 * look, 2 * look + 2).join('\n')}\n`);
      if (look === 100 || look === 250) {
        // Killed right after an append: somewhere in a look, a fold, a commit.
        process.kill(child.pid as number, 'SIGKILL');
        expect(await exited(child)).toBe('SIGKILL');
        child = run();
      }
      await caughtUp(child, out, 2 * look + 2);
      if (look === 120) {
        // A plain run over the same file in between finds everything merged (the folded prefix too).
        child.kill('SIGINT');
        expect(await exited(child)).toBe(0);
        const plain = await mrm(['run', job, '--input', 'access.log', '--state', state, '--out', out], { cwd: dir });
        expect(plain.code, plain.stderr).toBe(0);
        expect(total(out)).toBe(2 * look + 2);
        child = run();
      }
    }
    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(await reference(lines, job));
    const kept = await inputRecords(state, 'status-count');
    // Two files followed (before and after the rotation): two plans of at most the fold threshold
    // (64) and a few entries each; the batch records hold about as many ids, and one folded id per
    // file stands for everything folded.
    expect(kept.plans, JSON.stringify(kept)).toHaveLength(2);
    for (const entries of kept.plans) expect(entries, JSON.stringify(kept)).toBeLessThanOrEqual(70);
    expect(kept.ids, JSON.stringify(kept)).toBeLessThanOrEqual(2 * 70);
    expect(kept.batchRecords, JSON.stringify(kept)).toBeLessThanOrEqual(2 * 70);
    expect(kept.folded, JSON.stringify(kept)).toBe(2);
  }, 240_000);

  it('keeps what it records bounded across many rotations and a SIGKILL in one, and merges every line once', async () => {
    const { dir, job, log, out, state } = countJobFolder();
    const KEEP = 10;
    const run = () =>
      follow(dir, ['access.log'], out, job, ['--batch-interval', '20', '--keep-versions', String(KEEP)]);
    let child = run();
    const ROTATIONS = 24;
    const lines = LOG_LINES.slice(0, 5 * ROTATIONS);
    let merged = 0;
    const append = async (path: string, n: number) => {
      appendFileSync(path, `${lines.slice(merged, merged + n).join('\n')}\n`);
      merged += n;
    };
    for (let r = 1; r <= ROTATIONS; r++) {
      for (const n of [2, 2]) {
        await append(log, n);
        await caughtUp(child, out, merged);
      }
      // Rotated by rename, a new file at the path with a line already.
      renameSync(log, `${log}.${r}`);
      writeFileSync(log, '');
      await append(log, 1);
      if (r === ROTATIONS / 2) {
        // Killed right after a rotation: before it was noticed, in the look, the commit or the clean-up.
        process.kill(child.pid as number, 'SIGKILL');
        expect(await exited(child)).toBe('SIGKILL');
        child = run();
      }
      await caughtUp(child, out, merged);
    }
    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(await reference(lines, job));
    const kept = await inputRecords(state, 'status-count');
    // The first generation's plan (a plain run of the path plans under it) and the current one's;
    // kept, there would be one per rotation, and their batch ids in the records.
    expect(kept.plans, JSON.stringify(kept)).toHaveLength(2);
    expect(kept.ids, JSON.stringify(kept)).toBeLessThanOrEqual(2 * 5);
    expect(kept.folded, JSON.stringify(kept)).toBeLessThanOrEqual(2);
    // A version per look, ~72 looks of a batch or two: the merge workers' partitions keep the
    // records of the batches of kept versions only.
    expect(kept.partitions).toBeGreaterThan(0);
    expect(kept.partitionBatches, JSON.stringify(kept)).toBeGreaterThan(0);
    expect(kept.partitionBatches, JSON.stringify(kept)).toBeLessThanOrEqual(2 * (KEEP + 1));
  }, 240_000);

  it('refuses --idle-timeout and --batch-interval without --follow, with one line and no state', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    writeFileSync(join(dir, 'a.log'), 'x\n');
    for (const flag of ['--idle-timeout', '--batch-interval']) {
      const r = await mrm(['run', JOB, '--input', 'a.log', '--state', 'st', flag, '1000'], { cwd: dir });
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining(`${flag} goes with --follow`)]);
      expect(existsSync(join(dir, 'st'))).toBe(false);
    }
  });

  it('refuses a folder with one line', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const r = await mrm(['run', JOB, '--input', dir, '--state', join(dir, 'st'), '--follow'], { cwd: dir });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--follow takes files that exist/);
  });
});
