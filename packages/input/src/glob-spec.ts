import path from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';

/** Characters that may make a path segment a pattern; a segment without them is taken literally. */
const PATTERN_CHARS = /[*?[\]{}()!+@\\]/;

/** True when `spec` is a glob pattern rather than a path. */
export function isGlob(spec: string): boolean {
  return isDynamicPattern(spec);
}

/** A glob split into its literal leading folder (`prefix`, as written) and the pattern under it. */
export interface GlobParts {
  /** Literal leading folder as the user wrote it ('' when the pattern starts at once). */
  readonly prefix: string;
  /** The rest of the pattern, relative to the prefix. */
  readonly pattern: string;
}

/**
 * Splits `logs/2025/*.log` into `logs/2025` and `*.log`. Matches are then reported as
 * prefix + '/' + match, which spells the path the way the user wrote it (`./logs/a.log` stays
 * `./logs/a.log`, `/data/x.log` stays absolute) instead of relative to some other folder.
 */
export function splitGlob(spec: string): GlobParts {
  const segments = spec.split('/');
  let literal = 0;
  while (literal < segments.length - 1 && !PATTERN_CHARS.test(segments[literal] ?? '')) literal++;
  const prefix = segments.slice(0, literal).join('/');
  const pattern = segments.slice(literal).join('/');
  // A leading '/' leaves an empty first segment: the prefix is the root itself.
  return { prefix: literal === 1 && prefix === '' ? '/' : prefix, pattern };
}

/** Joins a prefix as written and a `/`-separated relative path, without normalising the prefix. */
export function joinDisplay(prefix: string, rel: string): string {
  if (prefix === '') return rel;
  return prefix.endsWith('/') ? `${prefix}${rel}` : `${prefix}/${rel}`;
}

/** Files (relative to the prefix, sorted) that the glob matches; hidden names only when spelled out. */
export async function globFiles(parts: GlobParts, cwd: string): Promise<string[]> {
  const base = path.resolve(cwd, parts.prefix === '' ? '.' : parts.prefix);
  const matches = await glob(parts.pattern, {
    cwd: base,
    onlyFiles: true,
    dot: false,
    // Without this, a pattern naming a folder would silently expand into everything inside it.
    expandDirectories: false,
    followSymbolicLinks: true,
  });
  return matches.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
