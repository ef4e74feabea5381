/**
 * Which engine a benchmark measured. The packages' compiled output can change while a long run
 * is going (someone rebuilds); a fingerprint taken before each measurement shows whether the
 * figures of one run came from one build.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function* filesUnder(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else if (entry.isFile() && /\.(js|mjs|cjs)$/.test(entry.name)) yield path;
  }
}

/**
 * A short hash of the compiled JavaScript under `packages/<pkg>/dist` (paths and contents): it
 * changes when any package is rebuilt with different output, and not when a rebuild writes the
 * same files again. About a megabyte to hash, so it is taken before every run.
 */
export function engineFingerprint(repoRoot: string): string {
  const hash = createHash('sha256');
  const packages = join(repoRoot, 'packages');
  for (const pkg of readdirSync(packages).sort()) {
    const dist = join(packages, pkg, 'dist');
    if (!existsSync(dist)) continue;
    for (const file of [...filesUnder(dist)].sort()) {
      hash.update(`${file.slice(repoRoot.length)}\0`);
      hash.update(readFileSync(file));
    }
  }
  return hash.digest('hex').slice(0, 12);
}

/** The checked-out commit (short), or null outside a git work tree. */
export function gitCommit(repoRoot: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}
