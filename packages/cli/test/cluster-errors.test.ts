/**
 * What `mrm submit --wait` says when a cluster job cannot run: one clear line on stderr and a
 * non-zero exit, for a missing or unreachable NATS server, a cluster without workers, and a job
 * whose map throws on a worker.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CliResult, mrm, readJsonLines, tempDir, writeJob } from './cli-helpers.js';
import { cleanEnv, TestCluster } from './cluster-harness.js';

/** Counts lines per first word; throws on a line that says "poison". */
const FRAGILE_JOB = `
import { defineJob, aggregates } from '@mrm/core';
export default defineJob({
  name: 'fragile',
  map(line: string, emit) {
    if (line.includes('poison')) throw new Error('poisoned record: ' + line);
    emit(line.split(' ')[0] ?? '', 1);
  },
  ...aggregates.count(),
});
`;

/** A port nobody listens on. */
function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Asserts a failed command: non-zero exit, exactly one line on stderr, matching `pattern`. */
function expectOneLineError(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stderr).not.toBe(0);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^mrm: error: /);
  expect(lines[0]).toMatch(pattern);
}

describe('mrm submit --wait on a cluster that cannot run the job', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  let cleanup: (() => void) | undefined;
  afterEach(() => {
    cleanup?.();
    cleanup = undefined;
  });

  async function start(maps: number, merges: number, workerWaitMs?: number): Promise<TestCluster> {
    cluster = await TestCluster.start({ maps, merges, ...(workerWaitMs !== undefined ? { workerWaitMs } : {}) });
    return cluster;
  }

  /** The job and its inputs in `dir`. */
  function inputs(dir: string): { job: string; good: string; bad: string } {
    const good = join(dir, 'good.txt');
    writeFileSync(good, 'alpha one\nbeta two\nalpha three\n');
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, 'alpha one\nbeta two\nthis poison here\nalpha four\n');
    return { job: writeJob(dir, 'fragile.ts', FRAGILE_JOB), good, bad };
  }

  /** A temp dir for tests that need no cluster. */
  function scratch(): string {
    const t = tempDir();
    cleanup = t.cleanup;
    return t.dir;
  }

  it('fails in one line when no NATS server is given', async () => {
    const { job, good } = inputs(scratch());
    const r = await mrm(['submit', job, '--input', good, '--wait'], { env: cleanEnv() });
    expectOneLineError(r, /no NATS server given: pass --nats <url> or set MRM_NATS_URL/);
    expect(r.stdout).toBe('');
  });

  it('fails in one line when the NATS server is unreachable', async () => {
    const { job, good } = inputs(scratch());
    const url = `nats://127.0.0.1:${await unusedPort()}`;
    const r = await mrm(['submit', job, '--input', good, '--wait'], { env: cleanEnv({ MRM_NATS_URL: url }) });
    expectOneLineError(r, new RegExp(`cannot reach NATS at ${url}`));
    expect(r.stdout).toBe('');
  });

  it('fails in one line when no worker shows up within --worker-wait', async () => {
    const c = await start(0, 0, 3000);
    const { job, good } = inputs(c.dir);
    const r = await c.mrm(['submit', job, '--input', good, '--wait', '--nats', c.url]);
    expectOneLineError(r, /no workers for job 'fragile': 0 map and 0 merge workers alive/);
    const jobId = r.stdout.split('\n')[0] ?? '';
    expect(jobId).toMatch(/^fragile-/);
    const status = await c.jobStatus(jobId);
    expect(status.state).toBe('failed');
  });

  it('names the error and the input location when map throws on a worker, and the cluster runs the next job', async () => {
    const c = await start(2, 2);
    const { job, good, bad } = inputs(c.dir);
    const r = await c.mrm(['submit', job, '--input', good, bad, '--wait', '--batch-size', '1', '--nats', c.url]);
    expectOneLineError(r, /map threw at .*bad\.txt:3: poisoned record: this poison here/);
    expect((await c.jobStatus(r.stdout.split('\n')[0] ?? '')).state).toBe('failed');

    // Nothing of the failed job stays: the next one (same name) sees only its own input.
    const out = join(c.dir, 'out.jsonl');
    const ok = await c.submitWait(job, [good], out);
    expect(ok.code, `${ok.stderr}\n${c.logs()}`).toBe(0);
    expect(readJsonLines(out)).toEqual([
      ['alpha', 2],
      ['beta', 1],
    ]);
  });
});
