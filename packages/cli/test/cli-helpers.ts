/** Running the real `mrm` binary in tests, and small helpers around its output. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ProcessResult, runProcess } from '@mrm/testkit';

/** Path of the `mrm` executable. */
export const MRM_BIN = fileURLToPath(new URL('../bin/mrm.js', import.meta.url));

/** What a finished `mrm` process left. */
export type CliResult = ProcessResult;

/** Runs `mrm <args>` to completion. */
export function mrm(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; uid?: number; gid?: number } = {},
): Promise<CliResult> {
  const { env, ...rest } = options;
  return runProcess(process.execPath, [MRM_BIN, ...args], { ...rest, env: { ...process.env, ...env } });
}

/** A temp dir removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'mrm-cli-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes a job file into `dir` and returns its path. */
export function writeJob(dir: string, name: string, source: string): string {
  const path = join(dir, name);
  writeFileSync(path, source);
  return path;
}

/** Parses a JSON Lines result file into [key, value] pairs, in file order. */
export function readJsonLines(path: string): Array<[unknown, unknown]> {
  const text = readFileSync(path, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const o = JSON.parse(l) as { key: unknown; value: unknown };
      return [o.key, o.value];
    });
}

/** The expected result file text for a Map of key → value: sorted by JSON text of the key. */
export function expectedLines(result: Map<unknown, unknown>): string {
  const lines = [...result].map(([k, v]) => ({ k: JSON.stringify(k), v: JSON.stringify(v) }));
  lines.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return lines.map(({ k, v }) => `{"key":${k},"value":${v}}\n`).join('');
}
