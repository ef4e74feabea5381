import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { CanonicalKey, Key, StateStore } from '@mrm/core';
import { canonicalKey, compareCanonicalKeys, ErrorCode, MrmError, partitionOf } from '@mrm/core';
import { MemoryStateStore } from '@mrm/runtime';
import { build } from 'esbuild';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResultEntry } from '../src/result-reader.js';
import { readKey, readResult } from '../src/result-reader.js';
import { toJsonValue, writeJsonLines } from '../src/result-writer.js';

const JOB = 'results';
const cliDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let root: string;
let store: StateStore;

beforeEach(async () => {
  root = fs.mkdtempSync(`${os.tmpdir()}/mrm-`);
  store = new MemoryStateStore();
});

afterEach(async () => {
  await store.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/**
 * Commits `version` of the job: every partition writes its share of `changes` (`undefined`
 * deletes), as merge workers would.
 */
async function commit(
  version: number,
  partitions: number,
  changes: Iterable<readonly [Key, unknown]>,
  base = 0,
): Promise<void> {
  const byPartition = Array.from({ length: partitions }, () => [] as [CanonicalKey, unknown][]);
  for (const [key, value] of changes) {
    const ckey = canonicalKey(key);
    byPartition[partitionOf(ckey, partitions)]?.push([ckey, value]);
  }
  for (const [partition, writes] of byPartition.entries()) {
    await store.writePartition({ job: JOB, partition, version, changes: writes, batches: [`b${version}`] });
  }
  await store.commitVersion(JOB, {
    version,
    createdAtMs: version * 1000,
    base,
    batches: version,
    records: 0,
    keys: 0,
    label: `version ${version}`,
  });
}

async function collect(entries: AsyncIterable<ResultEntry>): Promise<ResultEntry[]> {
  const out: ResultEntry[] = [];
  for await (const entry of entries) out.push(entry);
  return out;
}

/** Code-point order of strings, written independently of compareCanonicalKeys. */
function byCodePoints(a: string, b: string): number {
  const ca = Array.from(a, (c) => c.codePointAt(0) ?? 0);
  const cb = Array.from(b, (c) => c.codePointAt(0) ?? 0);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    if (ca[i] !== cb[i]) return (ca[i] ?? 0) - (cb[i] ?? 0);
  }
  return ca.length - cb.length;
}

/** The store, with every scan counting the entries pulled from it and whether it was closed. */
function countingScans(inner: StateStore): { store: StateStore; pulled: () => number; closed: () => number } {
  let pulled = 0;
  let closed = 0;
  async function* counted(scan: AsyncIterable<readonly [CanonicalKey, unknown]>) {
    try {
      for await (const entry of scan) {
        pulled++;
        yield entry;
      }
    } finally {
      closed++;
    }
  }
  const proxy = new Proxy(inner, {
    get(target, property) {
      if (property === 'scan') {
        return (job: string, partition: number, options: { asOf: number }) =>
          counted(target.scan(job, partition, options));
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: proxy, pulled: () => pulled, closed: () => closed };
}

const MIXED_KEYS: Key[] = ['b', 'a', 'Z', 'é', '😀', 'ｆ', '', 10, 9, -1, 2.5, ['a', 1], ['a'], [['x']], 'a b', 'aa'];

describe('readResult', () => {
  it('returns every key of every partition in canonical key order', async () => {
    const partitions = 4;
    await commit(
      1,
      partitions,
      MIXED_KEYS.map((k, i) => [k, i]),
    );
    const canonical = MIXED_KEYS.map((k) => canonicalKey(k));
    // The keys really are spread, so the order comes from the merge, not from one scan.
    expect(new Set(canonical.map((k) => partitionOf(k, partitions))).size).toBeGreaterThan(1);

    const entries = await collect(readResult(store, JOB, { version: 1, partitions }));

    expect(entries.map((e) => e.key)).toEqual([...canonical].sort(compareCanonicalKeys));
    expect(entries.map((e) => e.key)).toEqual([...canonical].sort(byCodePoints));
    expect(entries.map((e) => e.value)).toEqual(entries.map((e) => canonical.indexOf(e.key)));
  });

  it('reads an older version as it was', async () => {
    await commit(1, 3, [
      ['a', 1],
      ['b', 2],
    ]);
    await commit(2, 3, [
      ['a', 5],
      ['b', undefined],
      ['c', 3],
    ]);

    expect(await collect(readResult(store, JOB, { version: 1, partitions: 3 }))).toEqual([
      { key: '"a"', value: 1 },
      { key: '"b"', value: 2 },
    ]);
    expect(await collect(readResult(store, JOB, { version: 2, partitions: 3 }))).toEqual([
      { key: '"a"', value: 5 },
      { key: '"c"', value: 3 },
    ]);
  });

  it('shows finalize(key, state) when the job has finalize', async () => {
    await commit(1, 2, [
      [['x', 1], { sum: 6, n: 3 }],
      ['y', { sum: 1, n: 4 }],
    ]);
    const finalize = (key: Key, state: unknown) => {
      const s = state as { sum: number; n: number };
      return { key, mean: s.sum / s.n };
    };

    expect(await collect(readResult(store, JOB, { version: 1, partitions: 2, finalize }))).toEqual([
      { key: '"y"', value: { key: 'y', mean: 0.25 } },
      { key: '["x",1]', value: { key: ['x', 1], mean: 2 } },
    ]);
  });

  it('names the job and key when finalize throws', async () => {
    await commit(1, 2, [['boom', 1]]);
    const finalize = () => {
      throw new Error('bad state');
    };

    const error = await collect(readResult(store, JOB, { version: 1, partitions: 2, finalize })).catch((e) => e);

    expect(error).toBeInstanceOf(MrmError);
    expect(error.code).toBe(ErrorCode.UserCode);
    expect(error.message).toBe(`finalize of job '${JOB}' threw for key "boom": bad state`);
  });

  it('returns nothing for a version with no keys', async () => {
    await commit(1, 5, []);

    expect(await collect(readResult(store, JOB, { version: 1, partitions: 5 }))).toEqual([]);
  });

  it('closes every partition scan when the reader stops early', async () => {
    const partitions = 6;
    await commit(
      1,
      partitions,
      Array.from({ length: 100 }, (_, i) => [`k${i}`, i] as const),
    );
    const counting = countingScans(store);

    for await (const entry of readResult(counting.store, JOB, { version: 1, partitions })) {
      if (entry.key === '"k5"') break;
    }

    expect(counting.closed()).toBe(partitions);
  });

  it('holds one pending entry per partition over 100k keys', async () => {
    const partitions = 16;
    const total = 100_000;
    await commit(
      1,
      partitions,
      Array.from({ length: total }, (_, i) => [i % 2 === 0 ? `key-${i}` : i, i] as const),
    );
    const counting = countingScans(store);

    let consumed = 0;
    let outOfOrder = 0;
    let previous: CanonicalKey | undefined;
    let maxAhead = 0;
    for await (const entry of readResult(counting.store, JOB, { version: 1, partitions })) {
      consumed++;
      maxAhead = Math.max(maxAhead, counting.pulled() - consumed);
      if (previous !== undefined && compareCanonicalKeys(previous, entry.key) >= 0) outOfOrder++;
      previous = entry.key;
    }

    expect(consumed).toBe(total);
    expect(outOfOrder).toBe(0);
    expect(maxAhead).toBeLessThanOrEqual(partitions);
  });
});

describe('readKey', () => {
  it('finds a key in the partition that owns it, as of a version', async () => {
    await commit(1, 7, [
      [['a', 1], 10],
      ['b', 20],
    ]);
    await commit(2, 7, [[['a', 1], 11]]);

    expect(await readKey(store, JOB, ['a', 1], { version: 1, partitions: 7 })).toEqual({ key: '["a",1]', value: 10 });
    expect(await readKey(store, JOB, ['a', 1], { version: 2, partitions: 7 })).toEqual({ key: '["a",1]', value: 11 });
  });

  it('applies finalize', async () => {
    await commit(1, 3, [['n', 4]]);

    const entry = await readKey(store, JOB, 'n', {
      version: 1,
      partitions: 3,
      finalize: (key, state) => `${String(key)}=${String(state)}`,
    });

    expect(entry).toEqual({ key: '"n"', value: 'n=4' });
  });

  it('returns undefined for a key that is not in the result', async () => {
    await commit(1, 3, [['present', 1]]);
    await commit(2, 3, [['present', undefined]]);

    expect(await readKey(store, JOB, 'absent', { version: 1, partitions: 3 })).toBeUndefined();
    expect(await readKey(store, JOB, 'present', { version: 2, partitions: 3 })).toBeUndefined();
  });
});

async function* entriesOf(list: readonly ResultEntry[]): AsyncGenerator<ResultEntry> {
  yield* list;
}

describe('toJsonValue', () => {
  it('turns values JSON has no word for into plain JSON data', () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    expect(
      toJsonValue({
        missing: undefined,
        list: [undefined, 1n, 2n ** 64n, -(2n ** 60n)],
        bytes,
        buffer: Buffer.from('hi'),
        floats: new Float64Array([0.5, 1]),
        when: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
        inf: Number.POSITIVE_INFINITY,
        map: new Map<unknown, unknown>([
          ['a', 1],
          [2, new Set([3n])],
        ]),
      }),
    ).toEqual({
      missing: null,
      list: [null, 1, '18446744073709551616', '-1152921504606846976'],
      bytes: Buffer.from(bytes).toString('base64'),
      buffer: 'aGk=',
      floats: [0.5, 1],
      when: '2024-01-02T03:04:05.000Z',
      inf: null,
      map: { a: 1, '2': [3] },
    });
    expect(toJsonValue(undefined)).toBeNull();
  });

  it('refuses a value that contains itself', () => {
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = { loop };

    expect(() => toJsonValue(loop)).toThrow(/contains itself/);
  });

  it('converts a value shared by two fields (not a cycle)', () => {
    const shared = { n: 1 };

    expect(toJsonValue({ a: shared, b: [shared] })).toEqual({ a: { n: 1 }, b: [{ n: 1 }] });
  });
});

describe('writeJsonLines', () => {
  it('writes exactly one {"key":…,"value":…} line per entry and nothing else', async () => {
    const out = path.join(root, 'deep/er/result.jsonl');

    const lines = await writeJsonLines(
      entriesOf([
        { key: '"a"', value: 1 },
        { key: '["x",2]', value: { n: undefined, big: 2n ** 70n, bytes: new Uint8Array([1, 2, 3]) } },
        { key: '7', value: undefined },
        { key: '"quote\\"d"', value: 'é\n' },
      ]),
      out,
    );

    expect(lines).toBe(4);
    expect(fs.readFileSync(out, 'utf8')).toBe(
      '{"key":"a","value":1}\n' +
        '{"key":["x",2],"value":{"n":null,"big":"1180591620717411303424","bytes":"AQID"}}\n' +
        '{"key":7,"value":null}\n' +
        '{"key":"quote\\"d","value":"é\\n"}\n',
    );
    expect(fs.readdirSync(path.dirname(out))).toEqual(['result.jsonl']);
  });

  it('writes into a FIFO or a device as it is, never renaming a file over it (`--out /dev/null`)', async () => {
    const fifo = path.join(root, 'result.fifo');
    execFileSync('mkfifo', [fifo]);
    const read = new Promise<string>((resolve, reject) => {
      let text = '';
      fs.createReadStream(fifo, 'utf8')
        .on('data', (d) => {
          text += String(d);
        })
        .on('end', () => resolve(text))
        .on('error', reject);
    });
    expect(await writeJsonLines(entriesOf([{ key: '"a"', value: 1 }]), fifo)).toBe(1);
    expect(await read).toBe('{"key":"a","value":1}\n');
    expect(fs.statSync(fifo).isFIFO()).toBe(true);
    expect(fs.readdirSync(root).filter((f) => f.startsWith('result.fifo'))).toEqual(['result.fifo']);
    // The machine's own /dev/null stays a device.
    expect(await writeJsonLines(entriesOf([{ key: '"a"', value: 1 }]), '/dev/null')).toBe(1);
    expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('writes an empty file for an empty result', async () => {
    const out = path.join(root, 'empty.jsonl');

    expect(await writeJsonLines(entriesOf([]), out)).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe('');
  });

  it('leaves the previous file whole and no temp file when reading fails midway', async () => {
    const out = path.join(root, 'result.jsonl');
    fs.writeFileSync(out, '{"key":"old","value":1}\n');
    async function* failing(): AsyncGenerator<ResultEntry> {
      for (let i = 0; i < 10_000; i++) yield { key: JSON.stringify(`k${i}`), value: 'x'.repeat(50) };
      throw new MrmError(ErrorCode.State, 'partition 3 cannot be read');
    }

    const error = await writeJsonLines(failing(), out).catch((e) => e);

    expect(error).toBeInstanceOf(MrmError);
    expect(error.message).toBe('partition 3 cannot be read');
    expect(fs.readFileSync(out, 'utf8')).toBe('{"key":"old","value":1}\n');
    expect(fs.readdirSync(root)).toEqual(['result.jsonl']);
  });

  it('says which file cannot be written', async () => {
    const blocker = path.join(root, 'file');
    fs.writeFileSync(blocker, '');
    const out = path.join(blocker, 'result.jsonl');

    const error = await writeJsonLines(entriesOf([{ key: '"a"', value: 1 }]), out).catch((e) => e);

    expect(error).toBeInstanceOf(MrmError);
    expect(error.code).toBe(ErrorCode.BadOption);
    expect(error.message).toMatch(new RegExp(`^cannot write the result to '${out}': `));
  });

  it('waits for drain instead of reading ahead when the output is slow', async () => {
    const callbacks: (() => void)[] = [];
    let chunks = 0;
    let firstWrite: () => void = () => {};
    const firstWritten = new Promise<void>((resolve) => {
      firstWrite = resolve;
    });
    const slow = new Writable({
      highWaterMark: 1,
      write(_chunk, _encoding, callback) {
        chunks++;
        callbacks.push(() => callback());
        firstWrite();
      },
    });
    let pulled = 0;
    async function* big(): AsyncGenerator<ResultEntry> {
      for (let i = 0; i < 5; i++) {
        pulled++;
        // One line is larger than a chunk, so each entry is one write.
        yield { key: `${i}`, value: 'v'.repeat(100_000) };
      }
    }

    const done = writeJsonLines(big(), slow);
    await firstWritten;
    await new Promise(setImmediate);

    expect(pulled).toBe(1);
    expect(chunks).toBe(1);
    // Let the output catch up, one write at a time, until the writer is done.
    let finished = false;
    void done.then(() => {
      finished = true;
    });
    while (!finished) {
      callbacks.shift()?.();
      await new Promise(setImmediate);
    }
    expect(await done).toBe(5);
    expect(chunks).toBe(5);
  });

  it('writes a 100k-key result from the store in order', async () => {
    const partitions = 8;
    const keys = Array.from({ length: 100_000 }, (_, i) => `w${i}`);
    await commit(
      1,
      partitions,
      keys.map((k, i) => [k, i]),
    );
    const out = path.join(root, 'big.jsonl');

    const lines = await writeJsonLines(readResult(store, JOB, { version: 1, partitions }), out);

    expect(lines).toBe(keys.length);
    const text = fs.readFileSync(out, 'utf8');
    const expected = [...keys]
      .sort(byCodePoints)
      .map((k) => `{"key":"${k}","value":${k.slice(1)}}\n`)
      .join('');
    expect(text === expected).toBe(true);
  });
});

/** Bundles a small script that writes a result to '-' and returns its path. */
async function stdoutWriterScript(count: number): Promise<string> {
  const outfile = path.join(root, 'write-stdout.mjs');
  await build({
    stdin: {
      contents: `
        import { writeJsonLines } from './src/result-writer.ts';
        async function* entries() {
          for (let i = 0; i < ${count}; i++) yield { key: JSON.stringify('k' + i), value: { i } };
        }
        const lines = await writeJsonLines(entries(), '-');
        process.stderr.write('lines=' + lines);
      `,
      resolveDir: cliDir,
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

function runNode(script: string, onStdout: (chunk: Buffer, stop: () => void) => void) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      out.push(chunk);
      onStdout(chunk, () => child.stdout.destroy());
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
}

describe("writeJsonLines to '-'", () => {
  it('writes the lines to stdout', async () => {
    const script = await stdoutWriterScript(3);

    const result = await runNode(script, () => {});

    expect(result).toEqual({
      code: 0,
      stdout: '{"key":"k0","value":{"i":0}}\n{"key":"k1","value":{"i":1}}\n{"key":"k2","value":{"i":2}}\n',
      stderr: 'lines=3',
    });
  });

  it('stops quietly when the reader of stdout goes away', async () => {
    const total = 500_000;
    const script = await stdoutWriterScript(total);

    const result = await runNode(script, (_chunk, stop) => stop());

    expect(result.code).toBe(0);
    const written = Number(/^lines=(\d+)$/.exec(result.stderr)?.[1]);
    expect(written).toBeLessThan(total);
  });
});
