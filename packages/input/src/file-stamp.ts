/**
 * A file's stat as planning trusts it: when a source's stamp is what it was when its stored plan
 * was made, the plan is taken without reading the file again (decisions/0032). Like git's index,
 * a stamp taken too soon after the file's last change is "racy" (a write in the same timestamp
 * tick would leave it unchanged) and is never stored.
 */
import type { BigIntStats } from 'node:fs';
import { stat } from 'node:fs/promises';

/**
 * What identifies one state of a file on disk. Numbers are decimal strings: nanosecond times and
 * 64-bit inode numbers do not fit a double, and stored plans are MessagePack/JSON data.
 */
export interface FileStamp {
  readonly dev: string;
  readonly ino: string;
  /** Size on disk in bytes (compressed size for gzip). */
  readonly size: string;
  /** Last change of the content (settable by `touch -d`, `utimes`). */
  readonly mtimeNs: string;
  /** Last change of the content or the inode (not settable: moves on every write and every `utimes`). */
  readonly ctimeNs: string;
  /** Wall clock (ms since the epoch) just before the stat: what {@link isRacy} measures against. */
  readonly takenAtMs: number;
}

/**
 * How long before its stamp was taken a file must have last changed for the stamp to be trusted.
 * File times tick coarsely (the kernel's coarse clock, ~4 ms on Linux; 1 s or 2 s on some file
 * systems), so a write just after the stamp could leave both times unchanged; 2 s covers the
 * coarsest common granularity (FAT's) and small clock differences with a file server.
 */
export const RACY_MARGIN_MS = 2000;

/** The stamp of `stats`, taken at `takenAtMs`. */
export function stampOf(stats: BigIntStats, takenAtMs: number): FileStamp {
  return {
    dev: stats.dev.toString(),
    ino: stats.ino.toString(),
    size: stats.size.toString(),
    mtimeNs: stats.mtimeNs.toString(),
    ctimeNs: stats.ctimeNs.toString(),
    takenAtMs,
  };
}

/** Stats `path` (following symlinks) and stamps it; the clock is read before the stat. */
export async function readStamp(path: string): Promise<FileStamp> {
  const takenAtMs = Date.now();
  return stampOf(await stat(path, { bigint: true }), takenAtMs);
}

/** True when both stamps describe the same file in the same state (the time of taking aside). */
export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/**
 * True when the file changed less than `marginMs` before the stamp was taken (or after it: a
 * clock ahead of ours): a later write might then not move its times, and the stamp cannot vouch
 * for the content.
 */
export function isRacy(stamp: FileStamp, marginMs = RACY_MARGIN_MS): boolean {
  const mtime = BigInt(stamp.mtimeNs);
  const ctime = BigInt(stamp.ctimeNs);
  const latestMs = Number((mtime > ctime ? mtime : ctime) / 1_000_000n);
  return latestMs >= stamp.takenAtMs - marginMs;
}

/** A stored value that is a well-formed stamp (stored plans are data read back from disk). */
export function isFileStamp(value: unknown): value is FileStamp {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  const digits = (v: unknown) => typeof v === 'string' && /^\d+$/.test(v);
  return (
    digits(s.dev) &&
    digits(s.ino) &&
    digits(s.size) &&
    digits(s.mtimeNs) &&
    digits(s.ctimeNs) &&
    typeof s.takenAtMs === 'number' &&
    Number.isFinite(s.takenAtMs)
  );
}
