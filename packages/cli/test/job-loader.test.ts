import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Key } from '@mrm/core';
import { ErrorCode, MrmError } from '@mrm/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundleJob, bundleJobCached, importJob, loadJob, materializeBundle } from '../src/job-loader.js';

let root: string;
let cacheDir: string;

beforeEach(() => {
  // os.tmpdir() is outside the repository: no node_modules with @mrm/core above the job files.
  root = fs.mkdtempSync(`${os.tmpdir()}/mrm-`);
  cacheDir = path.join(root, 'cache');
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** Writes files under the temp root and returns the absolute path of the first. */
function writeFiles(files: Record<string, string>): string {
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(root, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return path.join(root, Object.keys(files)[0] ?? '');
}

/** The path as a user in the current directory would type it. */
function typed(file: string): string {
  return path.relative(process.cwd(), file);
}

/** Runs a job's map over records and its reduce over the emitted groups, in key order. */
async function runInMemory(
  job: {
    map: (r: any, emit: (k: Key, v: unknown) => void, ctx: any) => unknown;
    reduce: (k: Key, v: any[]) => unknown;
  },
  records: unknown[],
): Promise<Record<string, unknown>> {
  const groups = new Map<string, { key: Key; values: unknown[] }>();
  for (const [i, record] of records.entries()) {
    await job.map(
      record,
      (key, value) => {
        const id = JSON.stringify(key);
        const group = groups.get(id) ?? { key, values: [] };
        group.values.push(value);
        groups.set(id, group);
      },
      { source: 'test', line: i + 1, batchId: 'b1' },
    );
  }
  return Object.fromEntries([...groups].map(([id, g]) => [id, job.reduce(g.key, g.values)]));
}

async function loadError(promise: Promise<unknown>): Promise<MrmError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MrmError);
  return error as MrmError;
}

const WORDCOUNT_TS = `
import { defineJob, aggregates } from '@mrm/core';
import { words } from './lib/words';

export default defineJob({
  name: 'wordcount',
  map(line: string, emit) {
    for (const w of words(line)) emit(w, 1);
  },
  ...aggregates.sum(),
});
`;
const WORDS_TS = `export function words(line: string): string[] { return line.toLowerCase().match(/[a-z]+/g) ?? []; }\n`;

describe('loadJob', () => {
  it('loads a TypeScript job outside the repository that imports @mrm/core and a relative module', async () => {
    const jobFile = writeFiles({ 'jobs/wordcount.ts': WORDCOUNT_TS, 'jobs/lib/words.ts': WORDS_TS });

    const loaded = await loadJob(jobFile, cacheDir);

    expect(loaded.job.name).toBe('wordcount');
    expect(loaded.job.partitions).toBe(16);
    expect(await runInMemory(loaded.job, ['The cat', 'the dog, the END'])).toEqual({
      '"the"': 3,
      '"cat"': 1,
      '"dog"': 1,
      '"end"': 1,
    });
    expect(loaded.bundlePath).toBe(path.join(cacheDir, `${loaded.bundle.hash}.mjs`));
    expect(loaded.ref).toEqual({ name: 'wordcount', bundleHash: loaded.bundle.hash, bundlePath: loaded.bundlePath });
    expect(loaded.bundle.sourcePath).toBe(jobFile);
  });

  it('keeps @mrm/core a bare import in the bundle and links it to the running framework on disk', async () => {
    const jobFile = writeFiles({ 'jobs/wordcount.ts': WORDCOUNT_TS, 'jobs/lib/words.ts': WORDS_TS });
    const coreUrl = import.meta.resolve('@mrm/core');

    const { bundle, bundlePath } = await loadJob(jobFile, cacheDir);

    expect(bundle.code).toContain('from "@mrm/core"');
    expect(bundle.code).not.toContain('function defineJob');
    const onDisk = fs.readFileSync(bundlePath, 'utf8');
    expect(onDisk).toContain(`from "${coreUrl}"`);
    expect(onDisk).not.toContain('"@mrm/core"');
  });

  it('loads a JavaScript job', async () => {
    const jobFile = writeFiles({
      'count.js': `import { aggregates } from '@mrm/core';
export default { name: 'count-js', input: 'jsonl', map(r, emit) { emit(r.k, r.n); }, ...aggregates.sum() };
`,
    });

    const { job } = await loadJob(jobFile, cacheDir);

    expect(job.input).toBe('jsonl');
    expect(
      await runInMemory(job, [
        { k: 'a', n: 2 },
        { k: 'b', n: 5 },
        { k: 'a', n: 4 },
      ]),
    ).toEqual({
      '"a"': 6,
      '"b"': 5,
    });
  });

  it('loads a CommonJS job (module.exports) from a "type": "commonjs" folder, require of @mrm/core included', async () => {
    const jobFile = writeFiles({
      'legacy/job.js': `const { aggregates } = require('@mrm/core');
const helper = require('./helper');
module.exports = { name: 'legacy', map(line, emit) { emit(helper.first(line), 1); }, ...aggregates.sum() };
`,
      'legacy/package.json': JSON.stringify({ type: 'commonjs' }),
      'legacy/helper.js': `exports.first = (line) => line.split(' ')[0];\n`,
    });

    const { job } = await loadJob(jobFile, cacheDir);

    expect(job.name).toBe('legacy');
    expect(await runInMemory(job, ['x 1', 'y 2', 'x 3'])).toEqual({ '"x"': 2, '"y"': 1 });
  });

  it('bundles an npm package installed next to the job, CommonJS requiring a Node built-in included', async () => {
    const jobFile = writeFiles({
      'proj/job.ts': `import { defineJob, aggregates } from '@mrm/core';
import { ext } from 'path-ext';
export default defineJob({ name: 'exts', map(p: string, emit) { emit(ext(p), 1); }, ...aggregates.sum() });
`,
      'proj/node_modules/path-ext/package.json': JSON.stringify({ name: 'path-ext', main: 'index.js' }),
      'proj/node_modules/path-ext/index.js': `const path = require('node:path');
exports.ext = (p) => path.extname(p);
`,
    });

    const { job, bundle } = await loadJob(jobFile, cacheDir);

    expect(bundle.code).toContain('exports.ext');
    expect(await runInMemory(job, ['a.ts', 'b.js', 'c.ts'])).toEqual({ '".ts"': 2, '".js"': 1 });
  });

  it('gives the job the same @mrm/core instance as the caller', async () => {
    const jobFile = writeFiles({
      'strict.ts': `import { defineJob, aggregates, MrmError, ErrorCode } from '@mrm/core';
export default defineJob({ name: 'strict', map() { throw new MrmError(ErrorCode.BadValue, 'nope'); }, ...aggregates.sum() });
`,
    });

    const { job } = await loadJob(jobFile, cacheDir);

    expect(() => job.map('x', () => {}, { source: 's', line: 1, batchId: 'b' })).toThrow(MrmError);
  });

  it('says a missing job file does not exist', async () => {
    const missing = typed(path.join(root, 'jobs/x.ts'));

    const error = await loadError(loadJob(missing, cacheDir));

    expect(error.code).toBe(ErrorCode.JobLoad);
    expect(error.message).toBe(`job file '${missing}' does not exist`);
  });

  it('names file:line:col of a syntax error, the job as typed', async () => {
    const lines = ["import { defineJob } from '@mrm/core';", 'const broken = é + ;'];
    const jobFile = writeFiles({ 'jobs/bad.ts': `${lines.join('\n')}\n` });
    // The offending ';' in characters from 1 (the 'é' is two bytes in UTF-8).
    const column = (lines[1] ?? '').indexOf(';') + 1;

    const error = await loadError(loadJob(typed(jobFile), cacheDir));

    expect(error.code).toBe(ErrorCode.JobLoad);
    expect(error.message).toMatch(new RegExp(`^${escapeRegExp(typed(jobFile))}:2:${column}: \\S`));
    expect(error.message).not.toContain('\n');
  });

  it('names the imported module, relative to the working directory, when a syntax error is there', async () => {
    const jobFile = writeFiles({
      'jobs/main.ts': `import { aggregates } from '@mrm/core';
import { f } from './helper';
export default { name: 'm', map(l: string, emit: any) { emit(f(l), 1); }, ...aggregates.sum() };
`,
      'jobs/helper.ts': `export const f = (s: string) => {\n  return s +;\n};\n`,
    });

    const error = await loadError(loadJob(typed(jobFile), cacheDir));

    expect(error.message).toMatch(new RegExp(`^${escapeRegExp(typed(path.join(root, 'jobs/helper.ts')))}:2:\\d+: \\S`));
  });

  it('names file:line:col of an import that cannot be resolved', async () => {
    const importLine = "import leftPad from 'left-pad-not-installed';";
    const jobFile = writeFiles({
      'jobs/dep.ts': `import { aggregates } from '@mrm/core';
${importLine}
export default { name: 'dep', map(l: string, emit: any) { emit(leftPad(l), 1); }, ...aggregates.sum() };
`,
    });
    // esbuild points at the specifier's opening quote.
    const column = importLine.indexOf("'") + 1;

    const error = await loadError(loadJob(typed(jobFile), cacheDir));

    expect(error.code).toBe(ErrorCode.JobLoad);
    expect(error.message).toBe(`${typed(jobFile)}:2:${column}: Could not resolve "left-pad-not-installed"`);
  });

  it('rejects a module without a default export as an invalid job', async () => {
    const jobFile = writeFiles({ 'named.ts': `export const job = { name: 'n' };\n` });

    const error = await loadError(loadJob(jobFile, cacheDir));

    expect(error.code).toBe(ErrorCode.JobInvalid);
    expect(error.message).toBe(`${jobFile}: the job file has no default export (export default defineJob({...}))`);
  });

  it('rejects a job without reduce, naming the file as given', async () => {
    const jobFile = writeFiles({
      'noreduce.ts': `export default { name: 'noreduce', map(l: string, emit: any) { emit(l, 1); } };\n`,
    });

    const error = await loadError(loadJob(typed(jobFile), cacheDir));

    expect(error.code).toBe(ErrorCode.JobInvalid);
    expect(error.message).toBe(`${typed(jobFile)}: job 'noreduce' has no 'reduce' (required)`);
  });

  it('reports a job module that throws while loading', async () => {
    const jobFile = writeFiles({ 'throws.ts': `throw new Error('no config\\nsecond line');\nexport default {};\n` });

    const error = await loadError(loadJob(jobFile, cacheDir));

    expect(error.code).toBe(ErrorCode.JobLoad);
    expect(error.message).toBe(`${jobFile}: failed to load: no config`);
  });
});

describe('bundleJob', () => {
  it('gives the same code the same hash, the SHA-256 of the code', async () => {
    const jobFile = writeFiles({ 'jobs/wordcount.ts': WORDCOUNT_TS, 'jobs/lib/words.ts': WORDS_TS });

    const first = await bundleJob(jobFile);
    const second = await bundleJob(typed(jobFile));

    expect(second.code).toBe(first.code);
    expect(second.hash).toBe(first.hash);
    expect(first.hash).toBe(createHash('sha256').update(first.code).digest('hex'));
  });

  it('gives changed code another hash', async () => {
    const jobFile = writeFiles({ 'jobs/wordcount.ts': WORDCOUNT_TS, 'jobs/lib/words.ts': WORDS_TS });
    const before = await bundleJob(jobFile);

    fs.writeFileSync(path.join(root, 'jobs/lib/words.ts'), WORDS_TS.replace('toLowerCase', 'toUpperCase'));
    const after = await bundleJob(jobFile);

    expect(after.hash).not.toBe(before.hash);
  });
});

describe('bundleJobCached', () => {
  let buildCache: string;

  beforeEach(() => {
    buildCache = path.join(root, 'builds');
  });

  /** Dates every file under the temp root a minute back, as files not being edited are. */
  function settle(): void {
    const past = new Date(Date.now() - 60_000);
    for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) fs.utimesSync(path.join(entry.parentPath, entry.name), past, past);
    }
  }

  /** Replaces the cached code of every entry by a marker, so a bundle served from the cache shows. */
  function poisonCache(): string {
    const marker = 'export default "served from the cache";\n';
    const entries = fs.readdirSync(buildCache).filter((f) => f.endsWith('.json'));
    expect(entries).toHaveLength(1);
    for (const name of entries) {
      const file = path.join(buildCache, name);
      fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), code: marker }));
    }
    return marker;
  }

  it('serves an unchanged job from the cache, without bundling it again', async () => {
    const jobFile = writeFiles({ 'jobs/wordcount.ts': WORDCOUNT_TS, 'jobs/lib/words.ts': WORDS_TS });
    settle();

    const first = await bundleJobCached(jobFile, buildCache);
    const second = await bundleJobCached(typed(jobFile), buildCache);
    const marker = poisonCache();
    const third = await bundleJobCached(jobFile, buildCache);

    expect(first).toEqual(await bundleJob(jobFile));
    expect(second).toEqual(first);
    expect(third.code).toBe(marker);
    expect(third.hash).toBe(createHash('sha256').update(marker).digest('hex'));
  });

  it('bundles again when the job file changes', async () => {
    const jobFile = writeFiles({ 'jobs/wordcount.ts': WORDCOUNT_TS, 'jobs/lib/words.ts': WORDS_TS });
    settle();
    await bundleJobCached(jobFile, buildCache);
    poisonCache();

    fs.writeFileSync(jobFile, WORDCOUNT_TS.replace("name: 'wordcount'", "name: 'wordcount2'"));
    settle();
    const after = await bundleJobCached(jobFile, buildCache);

    expect(after.code).toContain('wordcount2');
    expect(after).toEqual(await bundleJob(jobFile));
  });

  it('bundles again when a module the job imports changes', async () => {
    const jobFile = writeFiles({ 'jobs/wordcount.ts': WORDCOUNT_TS, 'jobs/lib/words.ts': WORDS_TS });
    settle();
    const before = await bundleJobCached(jobFile, buildCache);
    poisonCache();

    fs.writeFileSync(path.join(root, 'jobs/lib/words.ts'), WORDS_TS.replace('toLowerCase', 'toUpperCase'));
    settle();
    const after = await bundleJobCached(jobFile, buildCache);

    expect(after.code).toContain('toUpperCase');
    expect(after.hash).not.toBe(before.hash);
  });

  it('bundles again when a tsconfig.json appears above the job (it may change the output)', async () => {
    const jobFile = writeFiles({ 'jobs/wordcount.ts': WORDCOUNT_TS, 'jobs/lib/words.ts': WORDS_TS });
    settle();
    const before = await bundleJobCached(jobFile, buildCache);
    const marker = poisonCache();

    writeFiles({ 'tsconfig.json': '{ "compilerOptions": { "strict": true } }\n' });
    settle();
    const after = await bundleJobCached(jobFile, buildCache);

    expect(after.code).not.toBe(marker);
    expect(after.code).toBe(before.code);
  });

  it('bundles again when an imported module is deleted, and fails as bundling does', async () => {
    const jobFile = writeFiles({ 'jobs/wordcount.ts': WORDCOUNT_TS, 'jobs/lib/words.ts': WORDS_TS });
    settle();
    await bundleJobCached(jobFile, buildCache);
    poisonCache();

    fs.rmSync(path.join(root, 'jobs/lib/words.ts'));
    const error = await loadError(bundleJobCached(jobFile, buildCache));

    expect(error.code).toBe(ErrorCode.JobLoad);
    expect(error.message).toMatch(/Could not resolve "\.\/lib\/words"/);
  });

  it('does not cache a bundle of files modified just before it was built (an edit may be under way)', async () => {
    const jobFile = writeFiles({ 'jobs/wordcount.ts': WORDCOUNT_TS, 'jobs/lib/words.ts': WORDS_TS });

    const bundle = await bundleJobCached(jobFile, buildCache);

    expect(bundle).toEqual(await bundleJob(jobFile));
    expect(fs.existsSync(buildCache) ? fs.readdirSync(buildCache) : []).toEqual([]);
  });

  it('treats a malformed cache entry as a miss', async () => {
    const jobFile = writeFiles({ 'jobs/wordcount.ts': WORDCOUNT_TS, 'jobs/lib/words.ts': WORDS_TS });
    settle();
    await bundleJobCached(jobFile, buildCache);
    for (const name of fs.readdirSync(buildCache)) fs.writeFileSync(path.join(buildCache, name), '{ not json');

    const bundle = await bundleJobCached(jobFile, buildCache);

    expect(bundle).toEqual(await bundleJob(jobFile));
  });
});

describe('materializeBundle', () => {
  it('writes <dir>/<hash>.mjs once and leaves it alone when asked again', async () => {
    const jobFile = writeFiles({ 'jobs/wordcount.ts': WORDCOUNT_TS, 'jobs/lib/words.ts': WORDS_TS });
    const bundle = await bundleJob(jobFile);

    const first = await materializeBundle(bundle, cacheDir);
    const inode = fs.statSync(first).ino;
    const second = await materializeBundle(bundle, cacheDir);

    expect(first).toBe(path.join(cacheDir, `${bundle.hash}.mjs`));
    expect(second).toBe(first);
    expect(fs.statSync(second).ino).toBe(inode);
    expect(fs.readdirSync(cacheDir)).toEqual([`${bundle.hash}.mjs`]);
  });

  it('links a bundle whose code came from elsewhere (a worker fetching it by hash)', async () => {
    const code = `import { aggregates } from "@mrm/core";\nexport default { name: "remote", map(l, emit) { emit(l, 2); }, ...aggregates.sum() };\n`;
    const bundle = { code, hash: createHash('sha256').update(code).digest('hex'), sourcePath: '/elsewhere/job.js' };

    const job = await importJob(await materializeBundle(bundle, cacheDir), 'remote job');

    expect(await runInMemory(job, ['a', 'a', 'b'])).toEqual({ '"a"': 4, '"b"': 2 });
    expect(fs.readFileSync(path.join(cacheDir, `${bundle.hash}.mjs`), 'utf8')).toContain(
      pathToFileURL(path.resolve('packages/core/dist/index.js')).href,
    );
  });

  it('refuses a bundle importing an @mrm package this installation lacks', async () => {
    const code = `import { x } from "@mrm/no-such-package";\nexport default x;\n`;
    const bundle = { code, hash: createHash('sha256').update(code).digest('hex'), sourcePath: '/elsewhere/job.js' };

    const error = await loadError(materializeBundle(bundle, cacheDir));

    expect(error.code).toBe(ErrorCode.JobLoad);
    expect(error.message).toMatch(/^the job imports '@mrm\/no-such-package', which this mrm installation/);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
