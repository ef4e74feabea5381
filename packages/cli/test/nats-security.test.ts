/**
 * Security basics on a real local cluster (`mrm up`): its nats-server requires the login given
 * to `up`, every process it starts uses it, clients without it are refused with one line, and
 * the dashboard and every `/metrics` ask for the HTTP bearer token.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkerStatus } from '@mrm/core';
import { afterEach, describe, expect, it } from 'vitest';
import { mrm, tempDir } from './cli-helpers.js';
import { cleanEnv } from './cluster-harness.js';

describe('a cluster with a NATS login and an HTTP token', () => {
  let cleanup: (() => void) | undefined;
  let stop: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await stop?.();
    cleanup?.();
    stop = undefined;
    cleanup = undefined;
  });

  it('starts every process with the login, refuses clients without it, and guards HTTP with the token', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const dir = join(t.dir, 'cluster');
    const env = cleanEnv();
    const run = (args: string[], extra: NodeJS.ProcessEnv = {}) => mrm(args, { cwd: t.dir, env: { ...env, ...extra } });
    stop = () => run(['down', '--dir', dir]);
    const up = await run(
      [
        'up',
        '--dir',
        dir,
        '--maps',
        '1',
        '--merges',
        '1',
        '--threads',
        '1',
        '--nats-user',
        'mrm',
        '--nats-pass',
        'pw-1',
      ],
      { MRM_HTTP_TOKEN: 'web-token' },
    );
    expect(up.code, up.stderr).toBe(0);
    const url = /^MRM_NATS_URL=(\S+)$/m.exec(up.stdout)?.[1] ?? '';
    const dashboard = /^MRM_DASHBOARD=(\S+)$/m.exec(up.stdout)?.[1] ?? '';
    // Nothing secret on a command line another user can list.
    expect(up.stdout).not.toContain('pw-1');
    const record = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as { pids: Record<string, number> };
    expect(Object.keys(record.pids)).toHaveLength(4);
    for (const pid of Object.values(record.pids)) {
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain('pw-1');
    }

    const refused = await run(['status', '--nats', url]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/NATS/);
    const wrong = await run(['status', '--nats', url, '--nats-user', 'mrm', '--nats-pass', 'nope']);
    expect(wrong.code).not.toBe(0);
    const allowed = await run(['status', '--nats', url, '--nats-user', 'mrm', '--nats-pass', 'pw-1', '--json']);
    expect(allowed.code, allowed.stderr).toBe(0);
    const byEnv = await run(['status', '--nats', url, '--json'], { MRM_NATS_USER: 'mrm', MRM_NATS_PASS: 'pw-1' });
    expect(byEnv.code, byEnv.stderr).toBe(0);
    const workers = (JSON.parse(allowed.stdout) as { workers: WorkerStatus[] }).workers;
    expect(workers.map((w) => [w.workerId, w.alive])).toEqual(
      expect.arrayContaining([
        ['map-0', true],
        ['merge-0', true],
      ]),
    );

    expect((await fetch(`${dashboard}/api/jobs`)).status).toBe(401);
    expect((await fetch(`${dashboard}/`)).status).toBe(401);
    const auth = { headers: { authorization: 'Bearer web-token' } };
    expect((await fetch(`${dashboard}/api/jobs`, auth)).status).toBe(200);
    expect((await fetch(`${dashboard}/?token=web-token`)).status).toBe(200);
    for (const w of workers) {
      expect((await fetch(w.metricsUrl ?? '')).status).toBe(401);
      expect((await fetch(w.metricsUrl ?? '', auth)).status).toBe(200);
    }
  }, 90_000);
});
