/**
 * The inputs a baseline has seen, kept in its state directory: a system without merge state
 * (Hadoop) can only bring an incremental result up to date by running again over all of them.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, MrmError } from '@mrm/core';
import type { SourceFile } from '@mrm/input';

const FILE = 'inputs.json';

/** The inputs recorded in `stateDir` (none when it has no record yet). */
export function readSeenInputs(stateDir: string): SourceFile[] {
  const path = join(stateDir, FILE);
  if (!existsSync(path)) return [];
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as SourceFile[];
  } catch (error) {
    throw new MrmError(ErrorCode.State, `${path}: not a list of inputs (${(error as Error).message})`);
  }
}

/** `seen` followed by the inputs of `added` not in it yet (by path). */
export function withNewInputs(seen: readonly SourceFile[], added: readonly SourceFile[]): SourceFile[] {
  const known = new Set(seen.map((s) => s.path));
  return [...seen, ...added.filter((s) => !known.has(s.path))];
}

/** Records `inputs` in `stateDir` (written whole: temp file, then rename). */
export function writeSeenInputs(stateDir: string, inputs: readonly SourceFile[]): void {
  const path = join(stateDir, FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(inputs, null, 1)}\n`);
  renameSync(`${path}.tmp`, path);
}
