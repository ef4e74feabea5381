/**
 * Options of the LMDB state store: {@link LmdbStoreOptions} in, {@link ResolvedLmdbStoreOptions}
 * out (validated, defaults filled, the path made absolute once).
 */
import { resolve } from 'node:path';
import { ErrorCode, MrmError } from '@mrm/core';

/**
 * The memory map's initial size: 64 GiB of address space, never of disk or memory (the file grows
 * with the data). lmdb's own default starts at 128 KiB and maps the file again each time it
 * grows, keeping the older mappings, whose resident pages all count in RSS: a 16 MB `data.mdb`
 * showed 7 mappings and ~1.5× its size resident (docs/decisions/0052).
 */
export const DEFAULT_MAP_SIZE_BYTES = 64 * 1024 ** 3;

/** How to open an {@link LmdbStateStore}. */
export interface LmdbStoreOptions {
  /** Directory of the LMDB environment (`data.mdb`, `lock.mdb`); created when missing. */
  readonly path: string;
  /**
   * Initial size of the memory map in bytes; the map still grows past it when the data does.
   * Default {@link DEFAULT_MAP_SIZE_BYTES}: address space only, the file grows with the data
   * (docs/decisions/0052).
   */
  readonly mapSizeBytes?: number;
  /** Skips the flush to disk on commit: faster, but not crash-safe (tests, benchmarks). Default false. */
  readonly noSync?: boolean;
  /**
   * Page size of a NEW environment, in bytes: 4096, 8192, 16384, 32768 or 65536. Default
   * {@link DEFAULT_PAGE_SIZE_BYTES} (decisions/0045). An existing environment keeps the page size it
   * was created with, whatever this says.
   */
  readonly pageSizeBytes?: number;
  /**
   * Opens an existing environment for reading only (LMDB's read-only mode): nothing is written,
   * not even the lock file when the user may not write it, so a state on read-only media or owned
   * by another user can be read. Every write rejects. Default false.
   */
  readonly readOnly?: boolean;
}

/**
 * Page size of new environments: 16 KiB, not the OS's 4 KiB, so that values of a kilobyte or more
 * share pages instead of taking one each (decisions/0045).
 */
export const DEFAULT_PAGE_SIZE_BYTES = 16_384;

/** The page sizes LMDB accepts. */
const PAGE_SIZES = [4096, 8192, 16_384, 32_768, 65_536];

/** {@link LmdbStoreOptions} after {@link resolveLmdbStoreOptions}. */
export interface ResolvedLmdbStoreOptions {
  /** Absolute path of the environment's directory. */
  readonly path: string;
  /** Initial map size in bytes. */
  readonly mapSizeBytes: number;
  /** Whether commits skip the flush to disk. */
  readonly noSync: boolean;
  /** Page size of a new environment. */
  readonly pageSizeBytes: number;
  /** Whether the environment is opened read-only. */
  readonly readOnly: boolean;
}

/** Validates options (`E_BAD_OPTION` when invalid) and fills defaults; never mutates its argument. */
export function resolveLmdbStoreOptions(options: LmdbStoreOptions): ResolvedLmdbStoreOptions {
  const {
    path,
    mapSizeBytes = DEFAULT_MAP_SIZE_BYTES,
    noSync,
    readOnly,
    pageSizeBytes = DEFAULT_PAGE_SIZE_BYTES,
  } = options;
  if (typeof path !== 'string' || path.trim() === '') {
    throw new MrmError(ErrorCode.BadOption, `LMDB store path ${JSON.stringify(path)} is not a directory name`);
  }
  if (!(Number.isSafeInteger(mapSizeBytes) && mapSizeBytes > 0)) {
    throw new MrmError(ErrorCode.BadOption, `LMDB mapSizeBytes ${String(mapSizeBytes)} is not a positive integer`);
  }
  if (!PAGE_SIZES.includes(pageSizeBytes)) {
    throw new MrmError(
      ErrorCode.BadOption,
      `LMDB pageSizeBytes ${String(pageSizeBytes)} is not one of ${PAGE_SIZES.join(', ')}`,
    );
  }
  if (noSync !== undefined && typeof noSync !== 'boolean') {
    throw new MrmError(ErrorCode.BadOption, `LMDB noSync ${String(noSync)} is not a boolean`);
  }
  if (readOnly !== undefined && typeof readOnly !== 'boolean') {
    throw new MrmError(ErrorCode.BadOption, `LMDB readOnly ${String(readOnly)} is not a boolean`);
  }
  return Object.freeze({
    path: resolve(path),
    mapSizeBytes,
    noSync: noSync ?? false,
    pageSizeBytes,
    readOnly: readOnly ?? false,
  });
}
