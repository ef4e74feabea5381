/**
 * What the CLI tells a person on stderr: errors as one line (the stack only with --verbose),
 * progress on a terminal, and the one-line summary of a run.
 */
import { ErrorCode, errorMessage, isMrmError, printable } from '@mrm/core';

/** Writes a line to stderr. */
export function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Prints an error as one line (plus stack and causes when verbose); returns the exit code. */
export function reportError(e: unknown, verbose: boolean): number {
  // One line, and nothing in it (input quoted by a parser, a user's message) that a terminal obeys.
  const message = printable(errorMessage(e).split('\n')[0] ?? String(e));
  // An error that is not one of ours is a bug or an unexpected failure: say where to look.
  const hint = !verbose && (!isMrmError(e) || e.code === ErrorCode.Internal) ? ' (--verbose for details)' : '';
  say(`mrm: error: ${message}${hint}`);
  if (verbose) {
    let cause: unknown = e;
    while (cause instanceof Error) {
      say(cause.stack ?? cause.message);
      cause = cause.cause;
      if (cause !== undefined) say('caused by:');
    }
  }
  return 1;
}

/** `1234567` → `1,234,567`. */
export function thousands(n: number): string {
  // Not toLocaleString: loading ICU's locale data costs ~30 ms at start-up.
  const digits = String(Math.abs(Math.round(n)));
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return n < 0 && Math.round(n) !== 0 ? `-${grouped}` : grouped;
}

/** Seconds with sensible precision. */
export function seconds(ms: number): string {
  return ms < 10_000 ? (ms / 1000).toFixed(2) : (ms / 1000).toFixed(1);
}

/**
 * What a run or job says about late records (a window with lateness), or `''` when there were
 * none: `12 late records (windows already final, not merged)`.
 */
export function lateNote(lateRecords: number | undefined): string {
  if (lateRecords === undefined || lateRecords === 0) return '';
  return `${thousands(lateRecords)} late record${lateRecords === 1 ? '' : 's'} (windows already final, not merged)`;
}

/** A watermark for people: ISO 8601 UTC, or `-` when there is none. */
export function watermarkText(watermarkMs: number | undefined): string {
  return watermarkMs === undefined ? '-' : new Date(watermarkMs).toISOString();
}
