/**
 * Validation of a job spec: every problem named in one line, so `mrm run` can say exactly what is
 * wrong with a job file.
 */
import { ErrorCode, MrmError } from './errors.js';
import type { InputFormat, JobSpec } from './job.js';
import type { JobRef } from './protocol.js';
import { type ResolvedSalt, resolveSaltSetting } from './salting.js';
import { type ResolvedWindow, resolveWindow, windowedMap } from './window.js';

/** Loads a job's code from its reference (a bundle path, or a bundle fetched by hash). */
export type JobLoader = (ref: JobRef) => Promise<ResolvedJob>;

/** Job names: what `--job` takes and what names the state. */
export const JOB_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
/** Default number of partitions of a job's state. */
export const DEFAULT_PARTITIONS = 16;
const MAX_PARTITIONS = 4096;

/** A validated job spec: defaults filled, a frozen copy of the caller's object. */
export interface ResolvedJob extends Readonly<Omit<JobSpec, 'input' | 'partitions' | 'salt' | 'window'>> {
  readonly input: InputFormat;
  readonly partitions: number;
  /** The `salt` field validated (default `'auto'`). */
  readonly salt: ResolvedSalt;
  /** True when the job has `merge` (incremental). */
  readonly incremental: boolean;
  /** The job's event-time window, when it declares one (its `map` is then already windowed). */
  readonly window?: ResolvedWindow;
}

const FUNCTION_FIELDS = ['map', 'combine', 'fold', 'reduce', 'merge', 'finalize'] as const;
const KNOWN_FIELDS = new Set<string>([
  ...FUNCTION_FIELDS,
  'name',
  'input',
  'description',
  'stateVersion',
  'partitions',
  'salt',
  'window',
]);

function invalid(where: string, message: string): MrmError {
  return new MrmError(ErrorCode.JobInvalid, `${where}: ${message}`);
}

/**
 * Validates a job spec and fills defaults. `where` names the job file in messages.
 * Throws {@link MrmError} `E_JOB_INVALID`.
 */
export function resolveJob(spec: unknown, where = 'job'): ResolvedJob {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw invalid(where, 'the default export must be a job spec object (use defineJob({...}))');
  }
  const s = spec as Record<string, unknown>;
  for (const field of Object.keys(s)) {
    if (!KNOWN_FIELDS.has(field)) {
      throw invalid(where, `unknown field '${field}' (known: ${[...KNOWN_FIELDS].join(', ')})`);
    }
  }
  const name = s.name;
  if (typeof name !== 'string' || name.length === 0) throw invalid(where, "the job has no 'name' (a string)");
  if (!JOB_NAME_PATTERN.test(name) || name.length > 64) {
    throw invalid(where, `name '${name}' must match [a-z0-9][a-z0-9_-]* and be at most 64 characters`);
  }
  if (s.reduce === undefined) throw invalid(where, `job '${name}' has no 'reduce' (required)`);
  if (s.map === undefined) throw invalid(where, `job '${name}' has no 'map' (required)`);
  for (const f of FUNCTION_FIELDS) {
    if (s[f] !== undefined && typeof s[f] !== 'function') {
      throw invalid(where, `'${f}' of job '${name}' must be a function, got ${typeof s[f]}`);
    }
  }
  const input = s.input ?? 'lines';
  if (input !== 'lines' && input !== 'jsonl') {
    throw invalid(where, `input '${String(input)}' of job '${name}' must be 'lines' or 'jsonl'`);
  }
  const partitions = s.partitions ?? DEFAULT_PARTITIONS;
  if (
    typeof partitions !== 'number' ||
    !Number.isInteger(partitions) ||
    partitions < 1 ||
    partitions > MAX_PARTITIONS
  ) {
    throw invalid(where, `partitions of job '${name}' must be an integer from 1 to ${MAX_PARTITIONS}`);
  }
  if (s.description !== undefined && typeof s.description !== 'string') {
    throw invalid(where, `description of job '${name}' must be a string`);
  }
  if (s.stateVersion !== undefined && typeof s.stateVersion !== 'string' && typeof s.stateVersion !== 'number') {
    throw invalid(where, `stateVersion of job '${name}' must be a string or a number`);
  }
  const window = s.window === undefined ? undefined : resolveWindow(s.window, `${where}: job '${name}'`);
  if (window?.latenessMs !== undefined && typeof s.merge !== 'function') {
    throw invalid(
      where,
      `job '${name}': window.lateness needs an incremental job (one with 'merge'): a plain job has no final windows`,
    );
  }
  const jobSpec = s as unknown as JobSpec;
  return Object.freeze({
    ...jobSpec,
    name,
    input,
    partitions,
    salt: resolveSaltSetting(s.salt, `${where}: job '${name}'`),
    incremental: typeof s.merge === 'function',
    ...(window !== undefined ? { window, map: windowedMap(jobSpec.map, window) } : {}),
  }) as ResolvedJob;
}

/**
 * The job spec of an imported job module: its default export (also when a CommonJS module comes
 * back as a double `default`). Throws `E_JOB_INVALID` naming `where` when there is none.
 */
export function jobFromModule(moduleNamespace: unknown, where: string): ResolvedJob {
  let spec = (moduleNamespace as { default?: unknown } | undefined)?.default;
  const inner = (spec as { default?: unknown } | undefined)?.default;
  if (inner !== undefined && typeof spec === 'object' && spec !== null && !('map' in spec)) spec = inner;
  if (spec === undefined) {
    throw new MrmError(
      ErrorCode.JobInvalid,
      `${where}: the job file has no default export (export default defineJob({...}))`,
    );
  }
  return resolveJob(spec, where);
}
