import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { expandInputs } from '@mrm/input';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture, makeTempDir, rejectionOf } from './helpers.js';

describe('expandInputs', () => {
  let dir: string;
  let remove: () => void;
  const sample = fs.readFileSync(fixture('apache-500.log'));

  /** Writes `content` at `rel` under the temp dir, creating folders. */
  const put = (rel: string, content: Uint8Array | string = sample) => {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    return file;
  };

  beforeEach(() => {
    ({ dir, remove } = makeTempDir());
    put('logs/b.log', 'b\n');
    put('logs/a.log', 'a\n');
    put('logs/2025/z.log', 'z\n');
    put('logs/a-c.log', 'ac\n');
    put('logs/.hidden.log', 'hidden\n');
    put('logs/.git/config', 'git\n');
    put('logs/notes.txt', 'notes\n');
  });
  afterEach(() => remove());

  it('describes a file given by a relative path with its real path and the path as given', async () => {
    const file = put('access.log');
    const [source, ...rest] = await expandInputs(['access.log'], { cwd: dir });
    expect(rest).toEqual([]);
    const st = fs.statSync(file, { bigint: true });
    expect(source).toEqual({
      path: file,
      displayPath: 'access.log',
      gzip: false,
      size: sample.length,
      stamp: {
        dev: String(st.dev),
        ino: String(st.ino),
        size: String(sample.length),
        mtimeNs: String(st.mtimeNs),
        ctimeNs: String(st.ctimeNs),
        takenAtMs: expect.any(Number),
      },
    });
  });

  it('resolves symlinks to the real path', async () => {
    const file = put('real.log');
    fs.symlinkSync(file, path.join(dir, 'link.log'));
    const [source] = await expandInputs(['link.log'], { cwd: dir });
    expect(source?.path).toBe(file);
    expect(source?.displayPath).toBe('link.log');
  });

  it('walks a folder recursively in path order, skipping hidden files and folders', async () => {
    const sources = await expandInputs(['logs'], { cwd: dir });
    expect(sources.map((s) => s.displayPath)).toEqual([
      'logs/2025/z.log',
      'logs/a-c.log',
      'logs/a.log',
      'logs/b.log',
      'logs/notes.txt',
    ]);
    expect(sources.map((s) => s.path)).toEqual(sources.map((s) => path.join(dir, s.displayPath)));
  });

  it('joins folder contents to the folder exactly as written', async () => {
    const trailing = await expandInputs(['./logs/'], { cwd: dir });
    expect(trailing[0]?.displayPath).toBe('./logs/2025/z.log');
    const absolute = await expandInputs([path.join(dir, 'logs')]);
    expect(absolute[0]?.displayPath).toBe(path.join(dir, 'logs/2025/z.log'));
  });

  it('expands a glob to sorted files under its literal prefix', async () => {
    const sources = await expandInputs(['logs/**/*.log'], { cwd: dir });
    expect(sources.map((s) => s.displayPath)).toEqual(['logs/2025/z.log', 'logs/a-c.log', 'logs/a.log', 'logs/b.log']);
    const absolute = await expandInputs([`${dir}/logs/*.log`]);
    expect(absolute.map((s) => s.displayPath)).toEqual([
      `${dir}/logs/a-c.log`,
      `${dir}/logs/a.log`,
      `${dir}/logs/b.log`,
    ]);
    const bare = await expandInputs(['*.txt'], { cwd: path.join(dir, 'logs') });
    expect(bare.map((s) => s.displayPath)).toEqual(['notes.txt']);
  });

  it('takes a path that exists literally even when it looks like a glob', async () => {
    put('logs/a[1].log', 'literal\n');
    const [source] = await expandInputs(['logs/a[1].log'], { cwd: dir });
    expect(source?.displayPath).toBe('logs/a[1].log');
    expect(source?.size).toBe('literal\n'.length);
  });

  it('keeps the order of the specs and drops files already listed', async () => {
    fs.symlinkSync(path.join(dir, 'logs/a.log'), path.join(dir, 'alias.log'));
    const sources = await expandInputs(['logs/b.log', 'logs', 'alias.log', 'logs/b.log'], { cwd: dir });
    expect(sources.map((s) => s.displayPath)).toEqual([
      'logs/b.log',
      'logs/2025/z.log',
      'logs/a-c.log',
      'logs/a.log',
      'logs/notes.txt',
    ]);
  });

  it('marks a .gz file holding gzip as gzip and keeps its compressed size', async () => {
    const compressed = gzipSync(sample);
    put('access.log.gz', compressed);
    const [source] = await expandInputs(['access.log.gz'], { cwd: dir });
    expect(source?.gzip).toBe(true);
    expect(source?.size).toBe(compressed.length);
  });

  it('accepts an empty .gz file as an empty gzip source', async () => {
    put('empty.log.gz', '');
    const [source] = await expandInputs(['empty.log.gz'], { cwd: dir });
    expect(source).toMatchObject({ gzip: true, size: 0 });
  });

  it('rejects a .gz file that is not gzip', async () => {
    put('fake.log.gz', sample);
    const error = await rejectionOf(expandInputs(['fake.log.gz'], { cwd: dir }));
    expect(error).toMatchObject({
      code: 'E_INPUT_MALFORMED',
      message: "input 'fake.log.gz' ends in .gz but is not gzip",
    });
  });

  it('names a missing file', async () => {
    const error = await rejectionOf(expandInputs(['x.log'], { cwd: dir }));
    expect(error).toMatchObject({ code: 'E_INPUT_MISSING', message: "input 'x.log' does not exist" });
  });

  it('names a glob that matches nothing', async () => {
    const error = await rejectionOf(expandInputs(['logs/*.csv'], { cwd: dir }));
    expect(error).toMatchObject({ code: 'E_INPUT_MISSING', message: "input 'logs/*.csv' matches no files" });
  });

  it('names a folder that holds only hidden files', async () => {
    put('quiet/.only-hidden', 'x\n');
    const error = await rejectionOf(expandInputs(['quiet'], { cwd: dir }));
    expect(error).toMatchObject({ code: 'E_INPUT_MISSING', message: "input folder 'quiet' contains no files" });
  });

  it('names a path that is not a regular file', async () => {
    // A FIFO of its own (a test that relied on /dev/null failed where it had become a file).
    execFileSync('mkfifo', [path.join(dir, 'pipe')]);
    const error = await rejectionOf(expandInputs(['pipe'], { cwd: dir }));
    expect(error).toMatchObject({ code: 'E_INPUT_MISSING', message: "input 'pipe' is not a regular file" });
  });

  it('names an empty spec', async () => {
    const error = await rejectionOf(expandInputs(['']));
    expect(error).toMatchObject({ code: 'E_INPUT_MISSING', message: 'an input path is empty' });
  });

  // Permissions do not stop root, so this case can only be shown by an ordinary user.
  it.skipIf(process.getuid?.() === 0)('names a file it may not read', async () => {
    const file = put('secret.log');
    fs.chmodSync(file, 0o000);
    const error = await rejectionOf(expandInputs(['secret.log'], { cwd: dir }));
    expect(error).toMatchObject({ code: 'E_INPUT_MISSING', message: "input 'secret.log' is not readable (EACCES)" });
  });
});
