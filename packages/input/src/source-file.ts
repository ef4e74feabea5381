/**
 * One input file as `expandInputs` found it, checked once: it exists, is a regular file, can be
 * opened, and a `.gz` name really holds gzip.
 */
import type { BigIntStats } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { ErrorCode, MrmError } from '@mrm/core';
import { type FileStamp, stampOf } from './file-stamp.js';

/** An input file ready to be planned. */
export interface SourceFile {
  /** Absolute real path (symlinks resolved): where this process reads it. */
  readonly path: string;
  /**
   * Identity of the source across runs, when it differs from `path` (a cluster job's input read
   * from a local copy: the submitter's path). Batch ids and stored plans hang on it.
   */
  readonly identity?: string;
  /** Where map workers read it, when it differs from `path` (`blob:<name>` for an uploaded input). */
  readonly location?: string;
  /** The path as the user gave it, or the path under a given folder/glob joined to the given prefix. */
  readonly displayPath: string;
  /** True when the name ends in `.gz` (checked against the gzip magic bytes `1f 8b`). */
  readonly gzip: boolean;
  /** Size on disk in bytes (compressed size for gzip). */
  readonly size: number;
  /**
   * Read no further than this (decompressed) byte: a followed file is planned up to the end of
   * its last complete line, so a line caught mid-write waits for its newline.
   */
  readonly endOffset?: number;
  /**
   * The caller knows this file was only appended to since the previous plan (a followed file:
   * same inode, never shorter): planning trusts the previous plan's batches without reading them
   * again, but for the last, which it still checks (a file truncated and written again shows
   * there). A round of `--follow` then costs what was appended, not the whole file.
   */
  readonly appendOnly?: boolean;
  /**
   * The file's stat when it was found (before it is read). Planning takes a stored plan whose
   * stamp is the same without reading the file (decisions/0032); no stamp, no such shortcut.
   */
  readonly stamp?: FileStamp;
}

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/** Error codes that mean "no such path" rather than "cannot read it". */
export function isNotFound(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** `E_INPUT_MISSING` for a path that exists but cannot be read. */
export function unreadable(displayPath: string, e: unknown): MrmError {
  const code = (e as { code?: unknown } | null)?.code;
  const why = typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
  return new MrmError(ErrorCode.InputMissing, `input '${displayPath}' is not readable (${why})`, {
    cause: e,
    details: { source: displayPath },
  });
}

/** `E_INPUT_MISSING` for a path that does not exist. */
export function missing(displayPath: string, e?: unknown): MrmError {
  return new MrmError(ErrorCode.InputMissing, `input '${displayPath}' does not exist`, {
    cause: e,
    details: { source: displayPath },
  });
}

/**
 * Checks the file at `absPath` and describes it. Opening it is the only honest readability check
 * (permissions, ACLs and mounts all have a say), and it lets us read the gzip magic in passing.
 */
export async function sourceFileOf(absPath: string, displayPath: string): Promise<SourceFile> {
  let info: BigIntStats;
  const takenAtMs = Date.now();
  try {
    info = await stat(absPath, { bigint: true });
  } catch (e) {
    throw isNotFound(e) ? missing(displayPath, e) : unreadable(displayPath, e);
  }
  if (!info.isFile()) {
    throw new MrmError(ErrorCode.InputMissing, `input '${displayPath}' is not a regular file`, {
      details: { source: displayPath },
    });
  }
  const gzip = absPath.toLowerCase().endsWith('.gz');
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(absPath, 'r');
  } catch (e) {
    throw isNotFound(e) ? missing(displayPath, e) : unreadable(displayPath, e);
  }
  try {
    // An empty .gz has nothing to verify; the readers treat it as zero bytes.
    if (gzip && info.size > 0n) {
      const magic = Buffer.alloc(2);
      const { bytesRead } = await handle.read(magic, 0, 2, 0);
      if (bytesRead < 2 || magic[0] !== GZIP_MAGIC_0 || magic[1] !== GZIP_MAGIC_1) {
        throw new MrmError(ErrorCode.InputMalformed, `input '${displayPath}' ends in .gz but is not gzip`, {
          details: { source: displayPath },
        });
      }
    }
  } finally {
    await handle.close();
  }
  return {
    path: await realpath(absPath),
    displayPath,
    gzip,
    size: Number(info.size),
    stamp: stampOf(info, takenAtMs),
  };
}

/** The file ends before `offset`, where its plan said a batch ends: it changed after planning. */
export function endsEarly(displayPath: string, offset: number): MrmError {
  return new MrmError(
    ErrorCode.InputMissing,
    `input '${displayPath}' ends before offset ${offset}: it changed after it was planned`,
    { details: { source: displayPath } },
  );
}
