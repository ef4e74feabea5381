/**
 * Turns the `--input <path...>` of `mrm run` / `mrm submit` into a list of files.
 *
 * ```ts
 * const files = await expandInputs(['access.log', 'logs/', 'archive/*.gz']);
 * ```
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, MrmError } from '@mrm/core';
import { globFiles, isGlob, joinDisplay, splitGlob } from './glob-spec.js';
import { isNotFound, missing, type SourceFile, sourceFileOf, unreadable } from './source-file.js';
import { walkFolder } from './walk-folder.js';

/** Options of {@link expandInputs}. */
export interface ExpandInputsOptions {
  /** Folder relative specs are resolved against (default `process.cwd()`). */
  readonly cwd?: string;
}

/**
 * Expands input specs into files. A spec is a file, a folder (all files below it, recursively,
 * skipping names that begin with '.'), or a glob. A spec that exists as a path is taken literally
 * even if it contains pattern characters. Files come in the order of the specs, sorted by path
 * within a folder or glob; a file reached twice (same real path) is kept at its first place.
 *
 * @throws MrmError `E_INPUT_MISSING` naming the spec: missing path, glob matching nothing, folder
 *   without files, unreadable file, not a regular file. `E_INPUT_MALFORMED` for a `.gz` that is not gzip.
 */
export async function expandInputs(specs: readonly string[], options: ExpandInputsOptions = {}): Promise<SourceFile[]> {
  const cwd = options.cwd ?? process.cwd();
  const files: SourceFile[] = [];
  const seen = new Set<string>();
  for (const spec of specs) {
    for (const file of await expandSpec(spec, cwd)) {
      if (seen.has(file.path)) continue;
      seen.add(file.path);
      files.push(file);
    }
  }
  return files;
}

async function expandSpec(spec: string, cwd: string): Promise<SourceFile[]> {
  if (spec === '') throw new MrmError(ErrorCode.InputMissing, 'an input path is empty');
  const abs = path.resolve(cwd, spec);
  let isFolder: boolean;
  try {
    isFolder = (await stat(abs)).isDirectory();
  } catch (e) {
    if (!isNotFound(e)) throw unreadable(spec, e);
    if (isGlob(spec)) return expandGlob(spec, cwd);
    throw missing(spec, e);
  }
  if (!isFolder) return [await sourceFileOf(abs, spec)];
  const rels = await walkFolder(abs, spec);
  if (rels.length === 0) {
    throw new MrmError(ErrorCode.InputMissing, `input folder '${spec}' contains no files`, {
      details: { source: spec },
    });
  }
  return filesUnder(abs, spec, rels);
}

async function expandGlob(spec: string, cwd: string): Promise<SourceFile[]> {
  const parts = splitGlob(spec);
  const rels = await globFiles(parts, cwd);
  if (rels.length === 0) {
    throw new MrmError(ErrorCode.InputMissing, `input '${spec}' matches no files`, { details: { source: spec } });
  }
  return filesUnder(path.resolve(cwd, parts.prefix === '' ? '.' : parts.prefix), parts.prefix, rels);
}

async function filesUnder(baseAbs: string, prefix: string, rels: readonly string[]): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  for (const rel of rels) files.push(await sourceFileOf(path.join(baseAbs, rel), joinDisplay(prefix, rel)));
  return files;
}
