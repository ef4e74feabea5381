/**
 * A state directory of the embedded engine: `lmdb/` holds the StateStore, `bundles/` the job
 * bundles by content hash, `LOCK` the pid of the process using it. Every path under it is built here.
 */
import { access, mkdir, open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the state directory for this process: one writer at a time. A lock left by a process
 * that is gone (killed) is taken over. Returns the release function.
 */
export async function lockStateDir(paths: StatePaths): Promise<() => Promise<void>> {
  await mkdir(paths.root, { recursive: true });
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
  return LmdbStateStore.open({ path: paths.lmdb });
}
