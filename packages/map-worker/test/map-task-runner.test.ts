/**
 * Map tasks side by side on one thread (the inline executor runs them so) share the thread's key
 * table one batch at a time: a batch that gave the table back must never take it away from the
 * batch that took it next.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  aggregates,
  decodeMessage,
  framePairs,
  type MapTask,
  ownersKeyOf,
  type ResolvedJob,
  resolveJob,
} from '@mrm/core';
import { planSource, splitsOf } from '@mrm/input';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BatchOutput, runMapTask } from '../src/map-task-runner.js';

/** A promise with its resolve function. */
function latch(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

/** The one-split task of `file` (one batch), numbered `seq`. */
async function taskOf(file: string, seq: number): Promise<MapTask> {
  const plan = await planSource(
    { path: file, displayPath: file, gzip: false, size: statSync(file).size },
    { format: 'lines', batchLines: 1000 },
  );
  const [split] = splitsOf(plan, seq);
  if (split === undefined) throw new Error('no split');
  return {
    type: 'map-task',
    v: 1,
    jobId: 'j',
    run: 1,
    taskId: `t${seq}`,
    attempt: 1,
    job: { name: 'sum', bundleHash: 'test' },
    split,
    partitions: 1,
    salt: 0,
    owners: ['merge-0'],
    ownersKey: ownersKeyOf(['merge-0']),
    maxFrameBytes: 1 << 20,
    onError: 'fail',
  };
}

/** The pairs of a batch's output, summed per key. */
function sums(output: BatchOutput): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of output.partitions) {
    for (const frame of part.frames) {
      const m = decodeMessage(frame);
      if (m.type !== 'frame') continue;
      const pairs = framePairs(m);
      for (let i = 0; i + 1 < pairs.length; i += 2) {
        const k = JSON.parse(pairs[i] as string) as string;
        out.set(k, (out.get(k) ?? 0) + (pairs[i + 1] as number));
      }
    }
  }
  return out;
}

describe('runMapTask with tasks side by side on one thread', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mrm-map-task-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps the values of a batch that took the key table while an earlier batch's output waited", async () => {
    const first = join(dir, 'first.txt');
    const second = join(dir, 'second.txt');
    writeFileSync(first, 'a\nb\nc\n');
    writeFileSync(second, 'x\ny\nz\nx\n');
    const gate = latch();
    const atGate = latch();
    // The second file's first line waits (an async map); its other lines emit at once.
    const job: ResolvedJob = resolveJob({
      name: 'sum',
      async map(line: string, emit: (k: string, v: number) => void, ctx: { source: string; line: number }) {
        if (ctx.source === second && ctx.line === 1) {
          atGate.open();
          await gate.promise;
        }
        emit(line, 1);
      },
      ...aggregates.sum(),
    });
    // The first task's output waits (as for credit) after its batch gave the key table back.
    const credit = latch();
    const firstSent = latch();
    let firstOutput: BatchOutput | undefined;
    const firstDone = runMapTask(await taskOf(first, 0), job, 'map-0', async (output) => {
      firstOutput = output;
      firstSent.open();
      await credit.promise;
    });
    await firstSent.promise;
    // The second task takes the thread's key table, which the first batch gave back.
    let secondOutput: BatchOutput | undefined;
    const secondDone = runMapTask(await taskOf(second, 1), job, 'map-0', async (output) => {
      secondOutput = output;
    });
    await atGate.promise;
    // The first task goes on and ends while the second batch still collects into the table.
    credit.open();
    await firstDone;
    gate.open();
    await secondDone;
    expect(firstOutput && sums(firstOutput)).toEqual(
      new Map([
        ['a', 1],
        ['b', 1],
        ['c', 1],
      ]),
    );
    expect(secondOutput && sums(secondOutput)).toEqual(
      new Map([
        ['y', 1],
        ['z', 1],
        ['x', 2],
      ]),
    );
  });
});
