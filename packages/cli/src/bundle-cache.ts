/**
 * A cache of job bundles by job file, so that running the same job again skips esbuild (its
 * service process, and loading its JavaScript API) — a fixed cost of every `mrm run`.
 *
 * An entry is kept per absolute job path and holds the bundle's code and what it was built from:
 * the SHA-256 of every file that went into it (esbuild's metafile), the content (or absence) of
 * every `package.json`, `tsconfig.json` and `jsconfig.json` in their folders and the folders above
 * (they steer module resolution and TypeScript output), and a fingerprint of the build settings
 * and esbuild's version. An entry is used only when all of that still holds, so editing the job or
 * anything it imports bundles it again (docs/decisions/0028-run-fixed-cost-and-bundle-cache.md).
 *
 * Best effort: a missing, unreadable or malformed entry is a miss, and a failed write is ignored.
 *
 * ```ts
 * const hit = await readCachedBundle(cacheDir, '/abs/job.ts', settings);
 * if (hit === undefined) await writeCachedBundle(cacheDir, bundle, inputs, settings);
 * ```
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** What a cached bundle holds (the same shape as a freshly built `JobBundle`). */
export interface CachedBundle {
  readonly code: string;
  readonly hash: string;
  readonly sourcePath: string;
}

/** Files next to the inputs that change how they are resolved or compiled. */
const CONFIG_FILES = ['package.json', 'tsconfig.json', 'jsconfig.json'] as const;

/** Bumped when the entry's layout changes. */
const ENTRY_FORMAT = 1;

interface Entry {
  readonly format: number;
  readonly settings: string;
  readonly sourcePath: string;
  /** Absolute path → SHA-256 of the file, or `null` for a config file that was absent. */
  readonly files: Record<string, string | null>;
  readonly code: string;
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Where the entry of a job file lives. */
function entryPath(cacheDir: string, sourcePath: string): string {
  return path.join(cacheDir, `${sha256Hex(sourcePath)}.json`);
}

/** SHA-256 of a file, or `null` when it does not exist (other errors: undefined, a miss). */
async function fileHash(file: string): Promise<string | null | undefined> {
  try {
    return sha256Hex(await readFile(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? null : undefined;
  }
}

/** The config files that may steer how `inputs` are resolved or compiled: in their folders and above. */
function configFilesOf(inputs: readonly string[]): string[] {
  const folders = new Set<string>();
  for (const input of inputs) {
    let dir = path.dirname(input);
    while (!folders.has(dir)) {
      folders.add(dir);
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return [...folders].flatMap((dir) => CONFIG_FILES.map((name) => path.join(dir, name)));
}

/**
 * The cached bundle of `sourcePath`, when one was built with `settings` from files that are all
 * unchanged; otherwise undefined.
 */
export async function readCachedBundle(
  cacheDir: string,
  sourcePath: string,
  settings: string,
): Promise<CachedBundle | undefined> {
  let entry: Entry;
  try {
    entry = JSON.parse(await readFile(entryPath(cacheDir, sourcePath), 'utf8')) as Entry;
  } catch {
    return undefined;
  }
  if (
    entry.format !== ENTRY_FORMAT ||
    entry.settings !== settings ||
    entry.sourcePath !== sourcePath ||
    typeof entry.code !== 'string' ||
    typeof entry.files !== 'object' ||
    entry.files === null ||
    typeof entry.files[sourcePath] !== 'string'
  ) {
    return undefined;
  }
  const checks = await Promise.all(
    Object.entries(entry.files).map(async ([file, hash]) => (await fileHash(file)) === hash),
  );
  if (checks.includes(false)) return undefined;
  return { code: entry.code, hash: sha256Hex(entry.code), sourcePath };
}

/**
 * Stores `bundle` with the hashes of the files it was built from ({@link hashBuildFiles}) and the
 * build `settings`. Atomic (temp file, then rename); failures are ignored (the cache is an
 * optimisation).
 */
export async function writeCachedBundle(
  cacheDir: string,
  bundle: CachedBundle,
  files: Readonly<Record<string, string | null>>,
  settings: string,
): Promise<void> {
  const entry: Entry = { format: ENTRY_FORMAT, settings, sourcePath: bundle.sourcePath, files, code: bundle.code };
  const target = entryPath(cacheDir, bundle.sourcePath);
  const temp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await mkdir(cacheDir, { recursive: true });
    await writeFile(temp, JSON.stringify(entry));
    await rename(temp, target);
  } catch {
    await unlink(temp).catch(() => undefined);
  }
}

/**
 * Margin for file systems whose timestamps are coarse: a file modified less than this before the
 * build started may have been modified while esbuild read it.
 */
const MTIME_MARGIN_MS = 2_000;

/**
 * The hashes to store with a bundle built from `inputs` (absolute paths of every file esbuild read
 * into it) by a build that started at `buildStartMs`: each input, and each config file around them
 * (`null` for one that is absent). Undefined (nothing is to be cached) when a file cannot be read,
 * an input is gone, or a file was modified since shortly before the build: what is hashed now
 * might not be what esbuild read.
 */
export async function hashBuildFiles(
  inputs: readonly string[],
  buildStartMs: number,
): Promise<Record<string, string | null> | undefined> {
  const unique = [...new Set(inputs)];
  const files = [...unique, ...configFilesOf(unique)];
  const hashes = await Promise.all(
    files.map(async (file, i): Promise<string | null | undefined> => {
      const info = await stat(file).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : undefined));
      if (info === undefined) return undefined;
      // An input that vanished since esbuild read it: do not cache a bundle of it.
      if (info === null) return i < unique.length ? undefined : null;
      if (info.mtimeMs >= buildStartMs - MTIME_MARGIN_MS) return undefined;
      return fileHash(file);
    }),
  );
  if (hashes.includes(undefined)) return undefined;
  const out: Record<string, string | null> = {};
  for (let i = 0; i < files.length; i++) out[files[i] as string] = hashes[i] as string | null;
  return out;
}
