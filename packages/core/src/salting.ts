/**
 * Salting hot keys (docs/decisions/0016-salted-hot-keys.md): a hot key `k` travels as sub-keys
 * spread over `factor` partitions next to its home partition; the merge worker owning a sub-key
 * reduces it per batch and forwards the partial result to the owner of `k`, which folds the
 * partials into `k`'s state with the job's own `merge`. Sub-keys never reach the state.
 *
 * This file holds the shared vocabulary: the job spec's `salt` setting, the plan a map task
 * carries, where a sub-key goes, and how a sub-key is spelled on the wire.
 */
import { ErrorCode, MrmError } from './errors.js';
import { type CanonicalKey, canonicalKey, type Key } from './key.js';

/** The job spec's `salt` field: detect hot keys (`'auto'`), never salt (`false`), or a fixed factor. */
export type SaltSetting = 'auto' | false | { readonly factor: number; readonly keys?: readonly Key[] };

/** {@link SaltSetting} validated: keys in canonical form. */
export type ResolvedSalt =
  | { readonly mode: 'auto' }
  | { readonly mode: 'off' }
  | { readonly mode: 'fixed'; readonly factor: number; readonly keys?: readonly CanonicalKey[] };

/** Largest salt factor (sub-keys per hot key). */
export const MAX_SALT_FACTOR = 64;

/** The default when a job says nothing. */
export const DEFAULT_SALT: ResolvedSalt = Object.freeze({ mode: 'auto' });

/** What a map task salts: each hot key (canonical) with its factor. Empty: nothing. */
export interface SaltPlan {
  /** Canonical hot keys, parallel to `factors`. */
  readonly keys: readonly CanonicalKey[];
  readonly factors: readonly number[];
  /**
   * True when the job's functions must first pass the associativity check on this task's own
   * values ({@link checkAssociative}); false when they declare it (built-in aggregates).
   */
  readonly check: boolean;
  /**
   * `auto` salting: the map task also salts the keys that are hot in each batch by its own count
   * ({@link hotFactor}), so salting starts with the first batch, before any report came back.
   * `factor` is the fixed factor of `{ factor }`, else 0 (derived from the share).
   */
  readonly detect?: { readonly factor: number };
}

/** A key is hot when it carries at least this share of a batch's pairs ÷ partitions. */
export const HOT_SHARE_OF_PARTITION = 0.5;

/**
 * The factor for a key carrying `share` (0–1) of the pairs, or 0 when it is not hot: sub-keys of
 * about half a partition's share each, in whole rounds over the merge workers (so each worker
 * gets as many), at most `partitions - 1`. A `fixed` factor replaces the derived one.
 */
export function hotFactor(share: number, partitions: number, workers: number, fixed = 0): number {
  if (share * partitions < HOT_SHARE_OF_PARTITION) return 0;
  const w = Math.max(1, workers);
  const wanted = fixed > 0 ? fixed : Math.ceil(Math.ceil((share * partitions) / HOT_SHARE_OF_PARTITION) / w) * w;
  return Math.max(2, Math.min(wanted, maxFactorFor(partitions)));
}

function badSalt(where: string, message: string): MrmError {
  return new MrmError(ErrorCode.JobInvalid, `${where}: salt ${message}`);
}

function checkFactor(where: string, factor: unknown): number {
  if (typeof factor !== 'number' || !Number.isInteger(factor) || factor < 2 || factor > MAX_SALT_FACTOR) {
    throw badSalt(where, `factor must be an integer from 2 to ${MAX_SALT_FACTOR}, got ${String(factor)}`);
  }
  return factor;
}

/** Validates a job spec's `salt` field (`where` names the job in messages). */
export function resolveSaltSetting(value: unknown, where = 'job'): ResolvedSalt {
  if (value === undefined || value === 'auto') return DEFAULT_SALT;
  if (value === false || value === 'off') return { mode: 'off' };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badSalt(where, `must be 'auto', false or { factor, keys? }, got ${JSON.stringify(value)}`);
  }
  const { factor, keys, ...rest } = value as { factor?: unknown; keys?: unknown };
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw badSalt(where, `has an unknown field '${extra}' (known: factor, keys)`);
  const f = checkFactor(where, factor);
  if (keys === undefined) return { mode: 'fixed', factor: f };
  if (!Array.isArray(keys)) throw badSalt(where, 'keys must be an array of keys');
  try {
    return { mode: 'fixed', factor: f, keys: keys.map((k) => canonicalKey(k)) };
  } catch (e) {
    throw badSalt(where, `keys: ${(e as Error).message}`);
  }
}

/** Parses the CLI's `--salt auto|off|<factor>`. */
export function parseSaltOption(text: string): ResolvedSalt {
  if (text === 'auto') return DEFAULT_SALT;
  if (text === 'off') return { mode: 'off' };
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n < 2 || n > MAX_SALT_FACTOR) {
    throw new MrmError(
      ErrorCode.BadOption,
      `--salt must be 'auto', 'off' or a factor from 2 to ${MAX_SALT_FACTOR}, got '${text}'`,
    );
  }
  return { mode: 'fixed', factor: n };
}

/**
 * The partition of sub-key `s` (0 ≤ s < factor) of a key whose home partition is `home`: the
 * partitions right after it, so that with partitions dealt round-robin to merge workers the
 * sub-keys land on different workers. A factor is at most `partitions - 1`, so a sub-key never
 * lands on the home partition itself.
 */
export function subKeyPartition(home: number, s: number, partitions: number): number {
  return (home + 1 + s) % partitions;
}

/** Largest usable factor for a job with `partitions` partitions (0: cannot salt). */
export function maxFactorFor(partitions: number): number {
  return Math.min(MAX_SALT_FACTOR, partitions - 1);
}

/** First character of a sub-key on the wire: never the start of a canonical key (JSON text). */
const SUB_KEY_MARK = '\u0000';

/** The wire spelling of a sub-key of `canonical` whose home partition is `home`. */
export function subKey(canonical: CanonicalKey, home: number): string {
  return `${SUB_KEY_MARK}${home}${SUB_KEY_MARK}${canonical}`;
}

/** Whether a key on the wire is a sub-key. */
export function isSubKey(wireKey: string): boolean {
  return wireKey.charCodeAt(0) === 0;
}

/** The home partition and canonical key of a sub-key. */
export function parseSubKey(wireKey: string): { readonly home: number; readonly canonical: CanonicalKey } {
  const end = wireKey.indexOf(SUB_KEY_MARK, 1);
  return { home: Number(wireKey.slice(1, end)), canonical: wireKey.slice(end + 1) };
}
