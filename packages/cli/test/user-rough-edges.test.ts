/**
 * Rough edges a new user hit (issue 13): a `submit --wait` that never returned with no
 * coordinator running, and job bundles written into one folder of /tmp shared by every user.
 */
import { chmodSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type NatsServerHandle, startNatsServer } from '@mrm/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheRootCandidates, userCacheDir } from '../src/cache-dir.js';
import { mrm, tempDir, writeJob } from './cli-helpers.js';

const COUNT_JOB = `
import { defineJob, aggregates } from '@mrm/core';
export default defineJob({ name: 'edges', map(line: string, emit) { emit(line, 1); }, ...aggregates.count() });
`;

/** Generous: the command must end on its own long before this (it used to run forever). */
const HANG_LIMIT_MS = 60_000;

describe('rough edges of the CLI', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  function scratch(): string {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  }

  it('ends `submit --wait` with one line and a non-zero exit when NATS runs but no coordinator does', async () => {
    const nats: NatsServerHandle = await startNatsServer({ jetstream: true });
    cleanups.push(() => nats.stop());
    const dir = scratch();
    const job = writeJob(dir, 'edges.ts', COUNT_JOB);
    const input = join(dir, 'in.txt');
    writeFileSync(input, 'a\nb\n');
    const r = await mrm(['submit', job, '--input', input, '--nats', nats.url, '--wait'], {
      env: { XDG_CACHE_HOME: join(dir, 'cache') },
      timeoutMs: HANG_LIMIT_MS,
    });
    expect(r.signal, `still running after ${HANG_LIMIT_MS} ms; stderr: ${r.stderr}`).toBeNull();
    expect(r.code).not.toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^mrm: error: no coordinator answered/);
    expect(r.stdout).toBe('');
  });

  it("writes submit's job bundles into the user's own cache folder, created 0700", async () => {
    const dir = scratch();
    const job = writeJob(dir, 'edges.ts', COUNT_JOB);
    const cache = join(dir, 'xdg-cache');
    // No NATS given: the command fails after bundling the job, which is all this test needs.
    const r = await mrm(['submit', job, '--input', job], { env: { XDG_CACHE_HOME: cache, MRM_NATS_URL: '' } });
    expect(r.stderr).toMatch(/no NATS server given/);
    const bundles = join(cache, 'mrm', 'submit-bundles');
    expect(readdirSync(bundles).filter((f) => f.endsWith('.mjs'))).toHaveLength(1);
    expect(statSync(join(cache, 'mrm')).mode & 0o777).toBe(0o700);
    expect(statSync(bundles).mode & 0o777).toBe(0o700);
  });

  it('prefers XDG_CACHE_HOME, then ~/.cache, then a private folder of the temp dir', async () => {
    expect(cacheRootCandidates({ XDG_CACHE_HOME: '/x', HOME: '/home/u' }).slice(0, 2)).toEqual([
      '/x/mrm',
      '/home/u/.cache/mrm',
    ]);
    // A relative XDG_CACHE_HOME is invalid (XDG spec) and ignored; `/` is no home.
    const fallback = cacheRootCandidates({ XDG_CACHE_HOME: 'rel', HOME: '/' });
    expect(fallback).toHaveLength(1);
    expect(fallback[0]).toMatch(/mrm-\d+$/);
    const home = scratch();
    const made = await userCacheDir('query-bundles', { HOME: home });
    expect(made).toBe(join(home, '.cache', 'mrm', 'query-bundles'));
    expect(statSync(made).mode & 0o777).toBe(0o700);
  });
});

describe('reading a state folder', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A state folder with the result of COUNT_JOB on a, b, a. */
  async function stateWithResult(): Promise<{ dir: string; state: string }> {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const job = writeJob(t.dir, 'edges.ts', COUNT_JOB);
    const input = join(t.dir, 'in.txt');
    writeFileSync(input, 'a\nb\na\n');
    const state = join(t.dir, 'state');
    const r = await mrm(['run', job, '--input', input, '--state', state, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    return { dir: t.dir, state };
  }

  it('exits 1 with one line on stderr and nothing on stdout for `query --key` of an absent key', async () => {
    const { state } = await stateWithResult();
    const present = await mrm(['query', '--state', state, '--job', 'edges', '--key', 'a']);
    expect(present.code, present.stderr).toBe(0);
    expect(present.stdout).toBe('{"key":"a","value":2}\n');
    const absent = await mrm(['query', '--state', state, '--job', 'edges', '--key', '999']);
    expect(absent.code).toBe(1);
    expect(absent.stdout).toBe('');
    expect(absent.stderr).toBe("mrm: error: key 999 is not in the result of job 'edges'\n");
  });

  it('reads a state the user may not write (query, versions), and writes nothing into it', async () => {
    const { dir, state } = await stateWithResult();
    const snapshot = () => listing(state);
    const before = snapshot();
    // As root, another user (nobody) reads root's state; as anyone else, the state is made read-only.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      chmodSync(dir, 0o755);
    } else {
      for (const p of [...before.keys()].reverse()) chmodSync(join(state, p), statSync(join(state, p)).mode & 0o555);
      chmodSync(state, 0o555);
      cleanups.push(() => chmodR(state));
    }
    const as = asRoot ? { uid: 65534, gid: 65534 } : {};
    const query = await mrm(['query', '--state', state, '--job', 'edges'], as);
    expect(query.stderr).toBe('');
    expect(query.code).toBe(0);
    expect(query.stdout).toBe('{"key":"a","value":2}\n{"key":"b","value":1}\n');
    const versions = await mrm(['versions', '--state', state, '--job', 'edges'], as);
    expect(versions.code, versions.stderr).toBe(0);
    expect(versions.stdout).toMatch(/^1\t/);
    expect(snapshot()).toEqual(before);
  });
});

/** Every path under `root` (relative) with its size and modification time. */
function listing(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: false }) as string[]) {
    const info = statSync(join(root, entry));
    out.set(entry, `${info.size}:${info.mtimeMs}`);
  }
  return out;
}

/** Makes a tree writable again (for its removal). */
function chmodR(root: string): void {
  chmodSync(root, 0o755);
  for (const entry of readdirSync(root, { recursive: true }) as string[]) {
    const p = join(root, entry);
    chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
  }
}

describe('input that is not text', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('warns, in one line naming the file, about an input with NUL bytes in its first block', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const job = writeJob(t.dir, 'edges.ts', COUNT_JOB);
    const text = join(t.dir, 'text.txt');
    writeFileSync(text, 'a\nb\n');
    const binary = join(t.dir, 'image.bin');
    writeFileSync(binary, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x0a, 0x01, 0x02, 0x0a]));
    const r = await mrm(['run', job, '--input', text, binary, '--state', join(t.dir, 'st'), '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('warning'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^mrm: warning: input '.*image\.bin' does not look like text/);
  });

  it('escapes control bytes of the input it quotes in an error line', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const job = writeJob(
      t.dir,
      'json.ts',
      `import { defineJob, aggregates } from '@mrm/core';
export default defineJob({ name: 'json', input: 'jsonl', map(r: unknown, emit) { emit('n', 1); }, ...aggregates.count() });
`,
    );
    const input = join(t.dir, 'in.jsonl');
    writeFileSync(input, '{"a":1}\n\u001b[31mred\u0007\r{"b":2}\n');
    const r = await mrm(['run', job, '--input', input, '--state', join(t.dir, 'st'), '--quiet']);
    expect(r.code).not.toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/in\.jsonl:2: invalid JSON/);
    expect(lines[0]).toMatch(/\\x1b\[31mred\\x07\\r/);
    // Nothing a terminal would obey: no control character but the final newline.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
    expect(/[\u0000-\u0009\u000b-\u001f\u007f]/.test(r.stderr)).toBe(false);
  });
});
