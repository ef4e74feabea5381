/**
 * References for the examples/access-logs jobs, each computed in one process with a Map. They use
 * the example's own parser (plain TypeScript, no MRM code): what is under test is MRM's map,
 * shuffle, reduce and merge, not the parser (examples/access-logs/parse.test.ts tests that).
 */
import { type LogEntry, parseLogLine } from '../access-logs/parse.js';
import { addTo, compareByCodePoint, type ResultLine, readLines, toResult } from './result.js';

/** Calls `each` with the parsed entry (or `undefined`) of every line of every file. */
function forEachEntry(paths: readonly string[], each: (entry: LogEntry | undefined) => void): void {
  for (const path of paths) for (const line of readLines(path)) each(parseLogLine(line));
}

/** Requests per `[status, hour]`; lines the parser cannot read under `"malformed"`. */
export function statusPerHourReference(paths: readonly string[]): ResultLine[] {
  const counts = new Map<string, number>();
  forEachEntry(paths, (e) => addTo(counts, JSON.stringify(e === undefined ? 'malformed' : [e.status, e.hour]), 1));
  return toResult(counts);
}

/** Response bytes per client address. */
export function bytesPerClientReference(paths: readonly string[]): ResultLine[] {
  const bytes = new Map<string, number>();
  forEachEntry(paths, (e) => {
    if (e !== undefined) addTo(bytes, JSON.stringify(e.client), e.bytes);
  });
  return toResult(bytes);
}

/** Number of distinct client addresses per UTC day. */
export function clientsPerDayReference(paths: readonly string[]): ResultLine[] {
  const clients = new Map<string, Set<string>>();
  forEachEntry(paths, (e) => {
    if (e === undefined) return;
    const day = JSON.stringify(e.day);
    clients.set(day, (clients.get(day) ?? new Set()).add(e.client));
  });
  return toResult(new Map([...clients].map(([day, set]) => [day, set.size])));
}

/**
 * The ten most requested paths under `"top-urls"`, as `[[path, count], …]`: count descending,
 * ties by path in code-point order. Non-HTTP request lines count as `"(not http)"`.
 */
export function topUrlsReference(paths: readonly string[]): ResultLine[] {
  const hits = new Map<string, number>();
  forEachEntry(paths, (e) => {
    if (e !== undefined) addTo(hits, e.path ?? '(not http)', 1);
  });
  const top = [...hits].sort((a, b) => (a[1] !== b[1] ? b[1] - a[1] : compareByCodePoint(a[0], b[0]))).slice(0, 10);
  return hits.size === 0 ? [] : toResult(new Map([[JSON.stringify('top-urls'), top]]));
}

/** Each access-log job (by file name without `.ts`, which is also its job name) and its reference. */
export const accessLogReferences = {
  'status-per-hour': statusPerHourReference,
  'bytes-per-client': bytesPerClientReference,
  'clients-per-day': clientsPerDayReference,
  'top-urls': topUrlsReference,
} as const;
