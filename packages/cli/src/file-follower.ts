/**
 * Follows input files as they grow, for `mrm run --follow`: each round names every followed file
 * up to the end of its last complete line, and a file rotated by rename is read to its end under
 * its old identity before the new file at the same path is followed.
 *
 * Identity. The first file ever followed at a path has the path as its identity, as in a plain
 * `mrm run`, so the two can take turns on the same state. After the n-th rotation seen at a path,
 * the new file's identity is `<path>#<n>`: a new file whose first bytes happen to equal the old
 * file's (a log without time stamps) is then not taken for input already merged. The rotation
 * count and the followed file's inode are kept in `<state>/follow/`, so a restart resumes, and a
 * plain run of a followed path plans it under the same identity ({@link withFollowedIdentities}).
 */
import { createHash } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, readFile, realpath, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ErrorCode, MrmError } from '@mrm/core';
import type { SourceFile } from '@mrm/input';

/** What the follower keeps about one path across restarts. */
interface FollowRecord {
  readonly path: string;
  readonly inode: number;
  readonly generation: number;
}

/** One followed path and the file currently open at it. */
interface Followed {
  readonly displayPath: string;
  readonly path: string;
  readonly recordFile: string;
  handle: FileHandle | undefined;
  inode: number;
  generation: number;
  /** The file rotated away from the path, still to be read to its end once. */
  rotated?: { handle: FileHandle; generation: number } | undefined;
}

const NEWLINE = 0x0a;
const TAIL_READ_BYTES = 64 * 1024;

/** Offset just past the last `\n` of an open file of `size` bytes (0 when it has none). */
async function completeLinesEnd(handle: FileHandle, size: number): Promise<number> {
  const buffer = Buffer.allocUnsafe(TAIL_READ_BYTES);
  let end = size;
  while (end > 0) {
    const from = Math.max(0, end - TAIL_READ_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, end - from, from);
    const at = buffer.subarray(0, bytesRead).lastIndexOf(NEWLINE);
    if (at >= 0) return from + at + 1;
    end = from;
  }
  return 0;
}

function identityOf(path: string, generation: number): string {
  return generation === 0 ? path : `${path}#${generation}`;
}

/** Where the rotation record of the file at real path `path` is kept, under `<state>/follow`. */
function recordFileOf(followDir: string, path: string): string {
  return join(followDir, `${createHash('sha256').update(path).digest('hex').slice(0, 24)}.json`);
}

/** The generation of the file now at a path: a file that is not the one followed last was rotated in since. */
function generationOf(record: FollowRecord | undefined, inode: number): number {
  return record === undefined ? 0 : record.inode === inode ? record.generation : record.generation + 1;
}

/**
 * The inputs of a plain `mrm run`, each under the identity a follower gives it, so that a plain
 * run and `--follow` can take turns on one state after a rotation too: a path that was followed
 * and rotated has the identity `<path>#<n>` of its current generation (a plain run under the
 * path itself would plan against the first generation's plan and merge the new file's lines a
 * second time). A path never followed is unchanged. A rotation the plain run is first to see is
 * recorded, as the follower records it.
 */
export async function withFollowedIdentities(inputs: readonly SourceFile[], stateDir: string): Promise<SourceFile[]> {
  const dir = join(stateDir, 'follow');
  // One listing, not one read per input: a state that never followed anything has no folder.
  const recorded = new Set(await readdir(dir).catch(() => []));
  if (recorded.size === 0) return [...inputs];
  const out: SourceFile[] = [];
  for (const input of inputs) {
    const recordFile = recordFileOf(dir, input.path);
    const record = input.gzip || !recorded.has(basename(recordFile)) ? undefined : await readRecord(recordFile);
    if (record === undefined) {
      out.push(input);
      continue;
    }
    const inode = (await stat(input.path)).ino;
    const generation = generationOf(record, inode);
    if (generation !== record.generation) await writeRecord(recordFile, { path: input.path, inode, generation });
    out.push(generation === 0 ? input : { ...input, identity: identityOf(input.path, generation) });
  }
  return out;
}

/** Follows files for `mrm run --follow`. Linux: a rotated file is read through `/proc/self/fd`. */
export class FileFollower {
  private constructor(private readonly files: Followed[]) {}

  /**
   * Opens every path (files only: a folder or glob would also pick up the rotated copies and
   * count them twice). `stateDir` keeps the rotation records.
   */
  static async open(paths: readonly string[], stateDir: string): Promise<FileFollower> {
    const dir = join(stateDir, 'follow');
    await mkdir(dir, { recursive: true });
    const files: Followed[] = [];
    for (const displayPath of paths) {
      let path: string;
      try {
        if (!(await stat(displayPath)).isFile()) throw new Error('not a file');
        path = await realpath(displayPath);
      } catch {
        throw new MrmError(
          ErrorCode.BadOption,
          `--follow takes files that exist: '${displayPath}' is not one (folders and globs are not followed)`,
        );
      }
      if (path.toLowerCase().endsWith('.gz')) {
        throw new MrmError(ErrorCode.BadOption, `--follow cannot follow a gzip file ('${displayPath}')`);
      }
      const recordFile = recordFileOf(dir, path);
      const record = await readRecord(recordFile);
      const handle = await open(path, 'r');
      const inode = (await handle.stat()).ino;
      const generation = generationOf(record, inode);
      const followed: Followed = { displayPath, path, recordFile, handle, inode, generation };
      await saveRecord(followed);
      files.push(followed);
    }
    return new FileFollower(files);
  }

  /**
   * The sources of the next round: every followed file (and every file rotated away since the
   * last round, first) up to the end of its last complete line.
   */
  async round(): Promise<SourceFile[]> {
    const sources: SourceFile[] = [];
    for (const f of this.files) {
      await this.noticeRotation(f);
      if (f.rotated !== undefined) sources.push(await sourceOf(f, f.rotated.handle, f.rotated.generation));
      if (f.handle !== undefined) sources.push(await sourceOf(f, f.handle, f.generation));
    }
    return sources;
  }

  /**
   * After a round's run committed: files rotated away have been read to their end. True when
   * any was (their generations are retired now: {@link isRetired}).
   */
  async roundDone(): Promise<boolean> {
    let letGo = false;
    for (const f of this.files) {
      if (f.rotated === undefined) continue;
      await f.rotated.handle.close();
      f.rotated = undefined;
      letGo = true;
    }
    return letGo;
  }

  /**
   * Whether `identity` is a generation of a followed path that was rotated away and read to its
   * end (or left behind while no follower ran): no look plans it again, so what is recorded of it
   * may go (decisions/0049). The first generation, the path itself, never is (it is the identity
   * of a path no rotation was seen at, in a plain run as in a follow).
   */
  isRetired(identity: string): boolean {
    if (this.files.some((f) => f.path === identity)) return false;
    return this.files.some((f) => {
      if (!identity.startsWith(`${f.path}#`)) return false;
      const n = Number(identity.slice(f.path.length + 1));
      return Number.isSafeInteger(n) && n > 0 && n < f.generation && n !== f.rotated?.generation;
    });
  }

  /** Closes every open file. */
  async close(): Promise<void> {
    for (const f of this.files) {
      await f.rotated?.handle.close().catch(() => {});
      await f.handle?.close().catch(() => {});
      f.handle = undefined;
    }
  }

  private async noticeRotation(f: Followed): Promise<void> {
    let inode: number;
    try {
      inode = (await stat(f.path)).ino;
    } catch {
      return; // renamed away, the new one not created yet: keep reading the old one
    }
    if (f.handle !== undefined && inode === f.inode) return;
    if (f.rotated !== undefined) return; // finish the previous rotation first
    const handle = await open(f.path, 'r');
    if (f.handle !== undefined) f.rotated = { handle: f.handle, generation: f.generation };
    f.handle = handle;
    f.inode = (await handle.stat()).ino;
    f.generation += 1;
    await saveRecord(f);
  }
}

async function sourceOf(f: Followed, handle: FileHandle, generation: number): Promise<SourceFile> {
  const size = (await handle.stat()).size;
  return {
    // The same process reads it (map threads too): the open file, wherever it was renamed to.
    path: `/proc/self/fd/${handle.fd}`,
    identity: identityOf(f.path, generation),
    displayPath: f.displayPath,
    gzip: false,
    size,
    endOffset: await completeLinesEnd(handle, size),
    // Same identity, same inode: only appended to. Planning reads what was appended (and the
    // last batch planned before, as a check), not the whole file again.
    appendOnly: true,
  };
}

async function readRecord(file: string): Promise<FollowRecord | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as FollowRecord;
  } catch {
    return undefined;
  }
}

async function saveRecord(f: Followed): Promise<void> {
  await writeRecord(f.recordFile, { path: f.path, inode: f.inode, generation: f.generation });
}

async function writeRecord(file: string, record: FollowRecord): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(record));
  await rename(tmp, file);
}
