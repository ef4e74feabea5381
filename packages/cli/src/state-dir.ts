/**
 * A state directory of the embedded engine: `lmdb/` holds the StateStore, `bundles/` the job
 * bundles by content hash, `LOCK` the pid of the process using it. Every path under it is built here.
 */
import { readFileSync } from 'node:fs';
import { access, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ErrorCode, MrmError } from '@mrm/core';
import { LmdbStateStore } from '@mrm/store-lmdb';

/** Paths inside a state directory. */
export interface StatePaths {
  readonly root: string;
  readonly lmdb: string;
  readonly bundles: string;
  readonly lock: string;
}

/** The paths of the state directory `dir`. */
export function statePaths(dir: string): StatePaths {
  const root = resolve(dir);
  return { root, lmdb: join(root, 'lmdb'), bundles: join(root, 'bundles'), lock: join(root, 'LOCK') };
}

/** True when `pid` runs; a killed process not yet reaped by its parent (a zombie) does not. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S …"; the state letter follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/**
 * Creates a directory and its missing parents, one level at a time. (Node's recursive mkdir spins
 * forever on a filesystem that answers ENOENT for a child of an existing directory, like /proc.)
 * Throws `E_STATE` with one clear line when the path cannot be a directory.
 */
export async function ensureDirectory(path: string, what = 'state directory'): Promise<void> {
  const missing: string[] = [];
  let at = resolve(path);
  for (;;) {
    const info = await stat(at).catch(() => undefined);
    if (info?.isDirectory()) break;
    if (info !== undefined) {
      throw new MrmError(ErrorCode.State, `cannot use '${path}' as ${what}: '${at}' is not a directory`);
    }
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const dir of missing.reverse()) {
    try {
      await mkdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new MrmError(ErrorCode.State, `cannot create ${what} '${path}': ${(e as Error).message}`, { cause: e });
    }
  }
}

/**
 * Takes the state directory for this process: one writer at a time. A lock left by a process
 * that is gone (killed) is taken over. Returns the release function.
 */
export async function lockStateDir(paths: StatePaths): Promise<() => Promise<void>> {
  await ensureDirectory(paths.root);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(paths.lock, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(paths.lock, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(paths.lock, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new MrmError(ErrorCode.State, `state directory '${paths.root}' is in use by process ${pid}`);
      }
      await rm(paths.lock, { force: true });
    }
  }
  throw new MrmError(ErrorCode.State, `cannot lock state directory '${paths.root}'`);
}

/** Opens the store of an existing state directory for reading; a clear error when there is none. */
export async function openExistingStore(dir: string): Promise<LmdbStateStore> {
  const paths = statePaths(dir);
  try {
    await access(join(paths.lmdb, 'data.mdb'));
  } catch {
    throw new MrmError(ErrorCode.State, `no MRM state in '${dir}' (run a job with --state ${dir} first)`);
  }
  // Read-only: reading must work on a state the user may not write (a colleague's, read-only media).
  return LmdbStateStore.open({ path: paths.lmdb, readOnly: true });
}
