/**
 * `mrm up --nats-nodes 3`: a JetStream cluster of three nats-servers (routes on loopback,
 * replicas 3). One node killed with SIGKILL in the middle of a job loses nothing: the job
 * finishes with exactly the result of `mrm run`, and `mrm down` stops every node.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { mrm, tempDir, writeJob } from './cli-helpers.js';
import { cleanEnv, copyInto, expectSameResult, fileAppears } from './cluster-harness.js';
import { slowWordcount } from './cluster-scenarios.js';

const BOOKS = [new URL('../../../examples/wordcount/data/pg-metamorphosis.txt', import.meta.url).pathname];

interface ClusterRecord {
  readonly url: string;
  readonly pids: Record<string, number>;
}

/** True while `pid` runs (a zombie counts as gone). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * The nats-server that leads the most JetStream streams now, from the logs: a node logs
 * "JetStream cluster new stream leader for '$G > <stream>'" each time it becomes a stream's leader.
 * Killing it makes the others elect new leaders while the job runs.
 */
function busiestLeader(dir: string, names: readonly string[]): string {
  const leaderOf = new Map<string, string>();
  const at = new Map<string, number>();
  for (const name of names) {
    const lines = readFileSync(join(dir, 'logs', `${name}.log`), 'utf8').split('\n');
    for (const line of lines) {
      const m = /^\[\d+\] (\S+ \S+) \[INF\] JetStream cluster new stream leader for '\$G > (\S+)'/.exec(line);
      if (m === null) continue;
      const time = Date.parse(`${m[1]?.replaceAll('/', '-').replace(' ', 'T')}Z`);
      if ((at.get(m[2] ?? '') ?? 0) <= time) {
        leaderOf.set(m[2] ?? '', name);
        at.set(m[2] ?? '', time);
      }
    }
  }
  const led = new Map<string, number>();
  for (const name of leaderOf.values()) led.set(name, (led.get(name) ?? 0) + 1);
  return [...led].sort((a, b) => b[1] - a[1])[0]?.[0] ?? names[0] ?? '';
}

describe('mrm up --nats-nodes 3', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  it('finishes a job exactly as `mrm run` does while one NATS node is killed mid-job; down stops every node', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const dir = join(t.dir, 'cluster');
    const env = cleanEnv();
    const run = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
      mrm(args, { cwd: t.dir, env: { ...env, ...extra }, timeoutMs: 240_000 });
    cleanups.push(() => run(['down', '--dir', dir]));
    onTestFailed(() => {
      for (const name of ['coordinator', 'map-0', 'map-1', 'merge-0', 'merge-1']) {
        try {
          process.stderr.write(`--- ${name}\n${readFileSync(join(dir, 'logs', `${name}.log`), 'utf8')}\n`);
        } catch {
          // no log
        }
      }
    });

    const up = await run(['up', '--dir', dir, '--maps', '2', '--merges', '2', '--threads', '1', '--nats-nodes', '3']);
    expect(up.code, up.stderr).toBe(0);
    const url = /^MRM_NATS_URL=(\S+)$/m.exec(up.stdout)?.[1] ?? '';
    expect(url.split(',')).toHaveLength(3);
    const record = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterRecord;
    const natsNames = ['nats-server-1', 'nats-server-2', 'nats-server-3'];
    expect(Object.keys(record.pids)).toEqual(expect.arrayContaining(natsNames));

    const marker = join(t.dir, 'past-line-800');
    const job = writeJob(t.dir, 'slowcount.ts', slowWordcount(marker));
    const books = copyInto(join(t.dir, 'books'), BOOKS);
    const out = join(t.dir, 'out.jsonl');
    const batchArgs = ['--batch-size', '20'];
    const submitted = run(
      ['submit', job, '--input', ...books, '--wait', '--out', out, ...batchArgs, '--checkpoint-every', '5'],
      { MRM_NATS_URL: url },
    );
    await fileAppears(marker, 60_000);
    const victim = busiestLeader(dir, natsNames);
    const pid = record.pids[victim] ?? -1;
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (running(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(running(pid), `${victim} (pid ${pid}) survived SIGKILL`).toBe(false);

    const r = await submitted;
    expect(r.code, r.stderr).toBe(0);
    const reference = join(t.dir, 'reference.jsonl');
    const single = await run([
      'run',
      job,
      '--input',
      ...books,
      '--state',
      join(t.dir, 'single'),
      '--out',
      reference,
      ...batchArgs,
    ]);
    expect(single.code, single.stderr).toBe(0);
    expectSameResult(out, reference);
    // The two nodes left still serve the cluster.
    const status = await run(['status', '--json'], { MRM_NATS_URL: url });
    expect(status.code, status.stderr).toBe(0);

    const down = await run(['down', '--dir', dir]);
    expect(down.code, down.stderr).toBe(0);
    for (const [name, p] of Object.entries(record.pids)) expect(running(p), `${name} still runs`).toBe(false);
  }, 300_000);
});
