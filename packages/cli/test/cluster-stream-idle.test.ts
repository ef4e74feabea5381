/**
 * An idle stream's watermark on a real cluster (docs/decisions/0027): with `--idle-timeout`, a
 * stream that stops moves its watermark on by the timeout at each idle mark, so the last window
 * closes (and, with `retain: 0`, leaves the state) without newer records. Every mark's watermark
 * is decided once, when it is cut, from the version before it — never from the clock at replay
 * — so every version's watermark lies on the lattice `W0 + k × timeout`, also across a SIGKILLed
 * coordinator; and records published afterwards are merged exactly.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from './cluster-harness.js';

const START = Date.parse('2025-06-01T12:00:00Z');
const SIZE_MS = 2_000;
const LATENESS_MS = 1_000;
const IDLE_MS = 300;

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const JOB = `import { aggregates, defineJob } from '@mrm/core';
export default defineJob({
  name: 'idle',
  input: 'jsonl',
  window: { time: (r: { t: number }) => r.t, size: ${SIZE_MS}, lateness: ${LATENESS_MS}, retain: 0 },
  map(_r: { t: number }, emit) { emit('hits', 1); },
  ...aggregates.count(),
});
`;

interface Version {
  version: number;
  watermarkMs?: number;
  label?: string;
  records: number;
  lateRecords?: number;
}

describe('an idle stream on a cluster', () => {
  it('moves the watermark on after the idle timeout, so the last window closes; the same on replay', async () => {
    cluster = await TestCluster.start({ maps: 1, merges: 1, heartbeatTimeoutMs: 2000 });
    const c = cluster;
    writeFileSync(join(c.dir, 'idle.ts'), JOB);
    const publish = async (name: string, times: readonly number[]) => {
      writeFileSync(join(c.dir, name), times.map((t) => `${JSON.stringify({ t })}\n`).join(''));
      const r = await c.mrm(['publish', 'events', '--file', name, '--nats', c.url]);
      expect(r.code, r.stderr).toBe(0);
    };
    const versions = async (): Promise<Version[]> => {
      const r = await c.mrm(['versions', '--job', 'idle', '--json', '--nats', c.url]);
      if (r.code !== 0) return [];
      return r.stdout
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Version);
    };
    const waitFor = async (what: string, ok: (vs: Version[]) => boolean): Promise<Version[]> => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const vs = await versions();
        if (ok(vs)) return vs;
        if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(vs.slice(-3))}\n${c.logs()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };

    // Ten records in the first window [START, START + 2 s): its end is 1.1 s of event time past W.
    const first = Array.from({ length: 10 }, (_, i) => START + i * 100);
    await publish('first.jsonl', first);
    const submitted = await c.mrm(
      ['submit', 'idle.ts', '--stream', 'events', '--batch-interval', '100', '--idle-timeout', String(IDLE_MS)].concat([
        '--nats',
        c.url,
      ]),
    );
    expect(submitted.code, submitted.stderr).toBe(0);
    const w0 = (first.at(-1) as number) - LATENESS_MS;
    await waitFor('the records merged', (vs) => vs.some((v) => v.records === 10 && v.watermarkMs === w0));

    // A coordinator killed while the stream is idle: the marks go on from the committed watermark.
    await waitFor('a first idle mark', (vs) => (vs.at(-1)?.watermarkMs ?? 0) > w0);
    const killed = c.coordinator;
    await c.restartCoordinator();
    expect((await killed.exited).signal).toBe('SIGKILL');

    // The window [START, START + 2 s) is final once W ≥ its end, and retain 0 drops it.
    const closed = await waitFor('the window closed', (vs) => (vs.at(-1)?.watermarkMs ?? 0) >= START + SIZE_MS);
    const query = await c.mrm(['query', '--job', 'idle', '--nats', c.url]);
    expect(query.code, query.stderr).toBe(0);
    expect(query.stdout.trim()).toBe('');
    // Deterministic: every watermark is W0 plus whole idle timeouts (none read from a clock).
    for (const v of closed.filter((x) => x.watermarkMs !== undefined)) {
      expect(((v.watermarkMs as number) - w0) % IDLE_MS, JSON.stringify(v)).toBe(0);
    }
    expect(closed.some((v) => v.label?.includes('idle stream') === true)).toBe(true);
    expect(closed.at(-1)?.records).toBe(10);

    // Records in a later window are merged after the idle time, none of them late.
    const wNow = closed.at(-1)?.watermarkMs as number;
    const later = Array.from({ length: 5 }, (_, i) => wNow + LATENESS_MS + SIZE_MS * 3 + i);
    await publish('later.jsonl', later);
    const merged = await waitFor('the later records merged', (vs) => vs.at(-1)?.records === 15);
    expect(merged.at(-1)?.lateRecords ?? 0).toBe(0);
  }, 300_000);
});
