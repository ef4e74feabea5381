/**
 * The event time of a log line for windowed jobs. `window.time` is called right before `map` on
 * the same line, so the parsed entry is kept for `map` to reuse instead of parsing twice.
 */
import { type LogEntry, parseLogLine } from './parse.js';

let lastLine: string | undefined;
let lastEntry: LogEntry | undefined;

/** The parsed entry of `line` (cached for the line last asked). */
export function entryOf(line: string): LogEntry | undefined {
  if (line !== lastLine) {
    lastLine = line;
    lastEntry = parseLogLine(line);
  }
  return lastEntry;
}

/**
 * The request time of a line. A line the parser cannot read has no time of its own: it is put at
 * the Unix epoch, so it is still counted (under the window `1970-01-01T00:00:00.000Z`).
 */
export function requestTime(line: string): string | number {
  return entryOf(line)?.time ?? 0;
}
