/**
 * The per-user cache folder of the CLI (job bundles of `submit` and `query`): never a fixed
 * folder shared by every user of the machine. `$XDG_CACHE_HOME/mrm`, else `~/.cache/mrm`, else
 * (no usable home, e.g. a container's user) `<os.tmpdir()>/mrm-<uid>`. Created with mode 0700.
 */
import { lstat, mkdir } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { ErrorCode, MrmError } from '@mrm/core';

/** Mode of the folders this module creates: the user's own. */
export const CACHE_DIR_MODE = 0o700;

/** Where the cache lives for `env`, in order of preference (first usable wins). */
export function cacheRootCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates: string[] = [];
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec: a relative path is invalid and must be ignored.
  if (xdg !== undefined && isAbsolute(xdg)) candidates.push(join(xdg, 'mrm'));
  const home = env.HOME ?? safeHomedir();
  if (home !== undefined && home !== '' && home !== '/') candidates.push(join(home, '.cache', 'mrm'));
  candidates.push(join(tmpdir(), `mrm-${process.getuid?.() ?? 'user'}`));
  return candidates;
}

function safeHomedir(): string | undefined {
  try {
    return homedir();
  } catch {
    return undefined;
  }
}

/**
 * Returns the folder `<cache root>/<name>`, created 0700 when missing. The shared-temp fallback
 * is only used when it is a real folder owned by this user and closed to others (another user
 * could have created it first). Throws `E_STATE` with one line when no candidate works.
 */
export async function userCacheDir(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const reasons: string[] = [];
  for (const root of cacheRootCandidates(env)) {
    try {
      await mkdir(root, { recursive: true, mode: CACHE_DIR_MODE });
      if (root.startsWith(join(tmpdir(), 'mrm-'))) await assertPrivate(root);
      const dir = join(root, name);
      await mkdir(dir, { recursive: true, mode: CACHE_DIR_MODE });
      return dir;
    } catch (e) {
      reasons.push(`${root}: ${(e as Error).message}`);
    }
  }
  throw new MrmError(ErrorCode.State, `no usable cache folder (${reasons.join('; ')}); set XDG_CACHE_HOME`);
}

async function assertPrivate(dir: string): Promise<void> {
  const info = await lstat(dir);
  const uid = process.getuid?.();
  if (!info.isDirectory()) throw new Error('not a folder');
  if (uid !== undefined && info.uid !== uid) throw new Error(`owned by uid ${info.uid}, not ${uid}`);
  if ((info.mode & 0o077) !== 0) throw new Error(`open to other users (mode ${(info.mode & 0o777).toString(8)})`);
}
