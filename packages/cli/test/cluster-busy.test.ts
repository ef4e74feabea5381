/**
 * Busy is not dead: a merge worker whose event loop is blocked by user code for several heartbeat
 * timeouts (a long synchronous merge) keeps sending heartbeats from its heartbeat thread, and that
 * thread answers the coordinator's liveness probe (every 500 ms, 1 s timeout: the block lasts six
 * of them), so the coordinator does not take it for dead and the job finishes with the exact result.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { expectedLines, writeJob } from './cli-helpers.js';
import { copyInto, expectSameResult, TestCluster } from './cluster-harness.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname;
const BOOK = join(EXAMPLES, 'wordcount/data', 'pg-metamorphosis.txt');

/** Word count whose merge blocks its process for `blockMs` the first time it sees `the`. */
function blockingWordcount(blockMs: number): string {
  return `
import { defineJob } from '@mrm/core';
let blocked = false;
export default defineJob({
  name: 'busycount',
  map(line: string, emit) {
    for (const w of line.match(/[A-Za-z]+/g) ?? []) emit(w, 1);
  },
  reduce: (_k, values: number[]) => values.reduce((a, b) => a + b, 0),
  merge(key, before: number | undefined, batch: number) {
    if (key === 'the' && !blocked) {
      blocked = true;
      const until = Date.now() + ${blockMs};
      while (Date.now() < until) {}
    }
    return (before ?? 0) + batch;
  },
});
`;
}

describe('a busy merge worker', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('is not taken for dead while user code blocks its event loop for 4 heartbeat timeouts', async () => {
    const c = await TestCluster.start({ maps: 1, merges: 2, heartbeatTimeoutMs: 1500 });
    cluster = c;
    const job = writeJob(c.dir, 'busy.ts', blockingWordcount(6000));
    const [book] = copyInto(join(c.dir, 'books'), [BOOK]);
    const out = join(c.dir, 'out.jsonl');
    const r = await c.submitWait(job, [book as string], out, ['--batch-size', '200']);
    expect(r.code, `${r.stderr}\n${c.logs()}`).toBe(0);
    expect(c.coordinator.output()).not.toMatch(/worker lost/);
    const counts = new Map<string, number>();
    for (const w of readFileSync(book as string, 'utf8').match(/[A-Za-z]+/g) ?? []) {
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    const reference = join(c.dir, 'reference.jsonl');
    writeFileSync(reference, expectedLines(counts));
    expectSameResult(out, reference);
  });
});
