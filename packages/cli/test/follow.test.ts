/**
 * `mrm run --follow` as a user runs it: a real log appended to in chunks (a line written in two
 * pieces, a rotation by rename), a windowed job, Ctrl-C, and SIGKILL with a restart; the result
 * must equal one plain `mrm run` over the same lines, key for key.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

function follow(dir: string, inputs: string[], out: string): ChildProcess {
  const args = [MRM_BIN, 'run', JOB, '--state', join(dir, 'state'), '--out', out, '--follow'];
  const child = spawn(process.execPath, [...args, '--batch-interval', '100', '--input', ...inputs], {
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

/** The result of one plain run over `lines`. */
async function reference(lines: readonly string[]): Promise<string> {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  writeFileSync(join(dir, 'all.log'), `${lines.join('\n')}\n`);
  const r = await mrm(['run', JOB, '--input', 'all.log', '--state', 'st', '--out', 'ref.jsonl'], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return readFileSync(join(dir, 'ref.jsonl'), 'utf8');
}

describe('mrm run --follow', () => {
  it('merges appended lines into windows, waits for a line to be complete, survives rotation, stops on Ctrl-C', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const log = join(dir, 'access.log');
    const out = join(dir, 'out.jsonl');
    const chunks = [LOG_LINES.slice(0, 1000), LOG_LINES.slice(1000, 2000), LOG_LINES.slice(2000)];
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
    await caughtUp(child, out, LOG_LINES.length);

    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(await reference(LOG_LINES));
  });

  it('resumes exactly after SIGKILL: a restart merges only what the killed process had not committed', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const log = join(dir, 'access.log');
    const out = join(dir, 'out.jsonl');
    writeFileSync(log, `${LOG_LINES.slice(0, 1500).join('\n')}\n`);
    const child = follow(dir, ['access.log'], out);
    await caughtUp(child, out, 1500);
    // More lines, and the follower killed while it may be merging them.
    appendFileSync(log, `${LOG_LINES.slice(1500, 2500).join('\n')}\n`);
    await new Promise((r) => setTimeout(r, 150));
    expect(child.pid).toBeDefined();
    process.kill(child.pid as number, 'SIGKILL');
    expect(await exited(child)).toBe('SIGKILL');

    appendFileSync(log, `${LOG_LINES.slice(2500).join('\n')}\n`);
    const again = follow(dir, ['access.log'], out);
    await caughtUp(again, out, LOG_LINES.length);
    again.kill('SIGINT');
    expect(await exited(again)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(await reference(LOG_LINES));
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
