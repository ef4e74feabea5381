/**
 * @mrm/cli — the `mrm` command and the embedded engine. The composition root: the only place
 * where concrete adapters (LMDB, NATS, threads) meet the roles.
 *
 * ```ts
 * import { main } from '@mrm/cli';
 * process.exitCode = await main(process.argv);
 * ```
 * @packageDocumentation
 */

export type {
  EmbeddedEngine,
  EmbeddedEngineOptions,
  EmbeddedRunInput,
  EmbeddedRunRequest,
} from './embedded-engine.js';
export { openEmbeddedEngine, runEmbedded } from './embedded-engine.js';
export type { JobBundle, LoadedJob } from './job-loader.js';
export { bundleJob, importJob, loadJob, materializeBundle } from './job-loader.js';
export { buildProgram, main } from './main.js';
export type { MemoryRoles } from './memory-roles.js';
export { startMemoryRoles } from './memory-roles.js';
export { writeJobResult } from './result-output.js';
export type { ReadResultOptions, ResultEntry } from './result-reader.js';
export { readKey, readResult } from './result-reader.js';
export { writeJsonLines } from './result-writer.js';
export { lockStateDir, openExistingStore, statePaths } from './state-dir.js';
