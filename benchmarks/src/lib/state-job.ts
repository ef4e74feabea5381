/**
 * The job and inputs of the recovery and checkpoint-cost suites (issue 6 "Numbers"): a job whose
 * merge state has a size set by an option, on which a later run (the increment) is timed.
 *
 * - The **state input** is the push suite's input (`key-<i>\t<~1 KB value>`, {@link pushInput}):
 *   each key once, so `--size-mb` MB of input is about as many MB of merge state.
 * - The **increment** is `batches × batchLines` short lines `key-<j>\tx` whose keys cycle through
 *   every state key (so every partition gets work in every batch).
 * - The **job** keeps `[count, first value]` per key: merge adds the counts and keeps the stored
 *   value. The increment leaves the state's size as it is, and a batch merged twice would show
 *   as a count one too high, so the correctness check sees what replays get wrong.
 */
import { closeSync, createReadStream, existsSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BenchFailure } from '../suite.js';
import { type PushInput, pushInput, pushKey } from './cluster-jobs.js';

/** The job's source, named `name` (a plain object: `mrm submit` bundles it from any folder). */
export function stateJobSource(name: string): string {
  return `// Written by the recovery and checkpoint-cost benchmarks: [count, first value] per key.
export default {
  name: ${JSON.stringify(name)},
  salt: false,
  map(line, emit) {
    const tab = line.indexOf('\\t');
    emit(line.slice(0, tab), line.slice(tab + 1));
  },
  reduce: (key, values) => [values.length, values[0]],
  merge: (key, prev, next) => (prev === undefined ? next : [prev[0] + next[0], prev[1]]),
};
`;
}

/** The two inputs of a run. */
export interface StateInputs {
  readonly state: PushInput;
  readonly increment: {
    readonly path: string;
    readonly lines: number;
    readonly batches: number;
    readonly batchLines: number;
  };
}

/** The state input of about `stateMb` MB and an increment of `batches × batchLines` lines, in `cacheDir`. */
export function stateInputs(cacheDir: string, stateMb: number, batches: number, batchLines: number): StateInputs {
  const state = pushInput(cacheDir, stateMb);
  const lines = batches * batchLines;
  const path = join(cacheDir, `increment-${state.lines}-keys-${lines}-lines.txt`);
  if (!existsSync(path)) {
    const fd = openSync(path, 'w');
    try {
      for (let from = 0; from < lines; from += 10_000) {
        let chunk = '';
        for (let j = from; j < Math.min(lines, from + 10_000); j++) chunk += `${pushKey(j % state.lines)}\tx\n`;
        writeSync(fd, chunk);
      }
    } finally {
      closeSync(fd);
    }
  }
  return { state, increment: { path, lines, batches, batchLines } };
}

/** The inputs as the suites' JSON and in words for their tables (on 2 map + 3 merge workers). */
export function describeInputs({ state, increment }: StateInputs) {
  return {
    json: {
      stateBytes: state.bytes,
      stateKeys: state.lines,
      incrementBatches: increment.batches,
      batchLines: increment.batchLines,
    },
    text: `${(state.bytes / 1e6).toFixed(1)} MB of merge state (${state.lines.toLocaleString('en-US')} keys) on 2 map + 3 merge workers; the increment: ${increment.batches} batches of ${increment.batchLines.toLocaleString('en-US')} lines`,
  };
}

/** A result file (`mrm query --out`, JSON Lines) as key → value text, read line by line. */
export async function readResult(path: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line === '') continue;
    const { key, value } = JSON.parse(line) as { key: unknown; value: unknown };
    out.set(JSON.stringify(key), JSON.stringify(value));
  }
  return out;
}

/** Fails the suite unless `actual` equals `expected` key for key (at most 3 differences named). */
export function checkSameResult(
  what: string,
  expected: ReadonlyMap<string, string>,
  actual: ReadonlyMap<string, string>,
) {
  const wrong: string[] = [];
  for (const [k, v] of expected) {
    const got = actual.get(k);
    if (got !== v) wrong.push(`${k}: ${got?.slice(0, 40) ?? 'missing'}, expected ${v.slice(0, 40)}`);
  }
  if (actual.size !== expected.size) wrong.push(`${actual.size} keys, expected ${expected.size}`);
  if (wrong.length > 0) throw new BenchFailure(`${what} differs from mrm run: ${wrong.slice(0, 3).join('; ')}`);
}
