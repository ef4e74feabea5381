/**
 * A parser for Apache/nginx "combined" access-log lines, shared by the access-log jobs:
 *
 * ```
 * %h %l %u [%t] "%r" %>s %b "%{Referer}i" "%{User-Agent}i"
 * 83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /a.png HTTP/1.1" 200 203023 "-" "Mozilla/5.0"
 * ```
 *
 * It has no MRM imports: a job imports it by relative path (`./parse.js`), and the framework bundles
 * it with the job. It never throws: a line it cannot read gives `undefined`, so a job can count it.
 */

/** One parsed log line. Times are converted to UTC whatever offset the line carries. */
export interface LogEntry {
  /** Remote host or address (`%h`). */
  readonly client: string;
  /** RFC 1413 identity (`%l`), usually `-`. */
  readonly ident: string;
  /** Authenticated user (`%u`), usually `-`. May contain spaces: scanners put shell commands here. */
  readonly user: string;
  /** Time of the request in UTC, ISO 8601 to the second: `2015-05-17T10:05:03Z`. */
  readonly time: string;
  /** UTC day: `2015-05-17`. */
  readonly day: string;
  /** UTC hour: `2015-05-17T10`. */
  readonly hour: string;
  /** The request line as logged, with `\"` and `\\` unescaped. Can be empty or binary junk. */
  readonly request: string;
  /** Method of an HTTP request line (`GET`), or `undefined` when the request line is not HTTP. */
  readonly method: string | undefined;
  /** Request target as sent (`/a?b=1`), or `undefined` when the request line is not HTTP. */
  readonly target: string | undefined;
  /** The target without its query string (`/a`), or `undefined` when the request line is not HTTP. */
  readonly path: string | undefined;
  /** Protocol of an HTTP request line (`HTTP/1.1`), or `undefined`. */
  readonly protocol: string | undefined;
  /** Final status code. */
  readonly status: number;
  /** Response bytes; a logged `-` (no body) is 0. */
  readonly bytes: number;
  /** Referer header as logged, `-` when absent. */
  readonly referer: string;
  /** User-Agent header as logged, `-` when absent. */
  readonly userAgent: string;
}

/** A quoted field: anything but a quote, where a backslash escapes the next character. */
const QUOTED = String.raw`"((?:[^"\\]|\\.)*)"`;

/**
 * The whole line. The user field is matched lazily up to a strict timestamp because scanners put
 * spaces, quotes and brackets into it (`';echo '[S]';cd /tmp; …'`).
 */
const LINE = new RegExp(
  String.raw`^(\S+) (\S+) (.*?) \[(\d{2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\] ` +
    `${QUOTED} (\\d{3}) (\\d+|-) ${QUOTED} ${QUOTED}$`,
);

/** `METHOD target HTTP/x.y`; the target may contain spaces when a client sent them raw. */
const REQUEST = /^([A-Z][A-Z_-]*) (.+) (HTTP\/\d(?:\.\d)?)$/;

const MONTHS: Readonly<Record<string, number>> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

function unescapeQuoted(field: string): string {
  // Apache writes `\"` and `\\`; nginx writes `\x22`-style escapes, which stay as logged.
  return field.replace(/\\(["\\])/g, '$1');
}

/** UTC ISO time of `[dd/Mon/yyyy:hh:mm:ss ±hhmm]`, or `undefined` for an impossible date. */
function utcTime(parts: readonly string[]): string | undefined {
  const [dd, mon, yyyy, hh, mi, ss, sign, offH, offM] = parts.map((p) => p ?? '');
  const month = MONTHS[mon ?? ''];
  const day = Number(dd);
  const hour = Number(hh);
  const minute = Number(mi);
  const second = Number(ss);
  if (month === undefined || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const local = Date.UTC(Number(yyyy), month, day, hour, minute, second);
  if (new Date(local).getUTCDate() !== day) return undefined; // 31 Feb and the like
  const offsetMinutes = (sign === '-' ? -1 : 1) * (Number(offH) * 60 + Number(offM));
  // Local time = UTC + offset, so UTC = local − offset.
  return new Date(local - offsetMinutes * 60_000).toISOString().replace('.000Z', 'Z');
}

/**
 * Parses one combined-format line (without its line terminator). Returns `undefined` when the line
 * is not a complete combined line: truncated, another format, or an impossible timestamp.
 */
export function parseLogLine(line: string): LogEntry | undefined {
  const m = LINE.exec(line);
  if (m === null) return undefined;
  const time = utcTime(m.slice(4, 13));
  if (time === undefined) return undefined;
  const request = unescapeQuoted(m[13] ?? '');
  const r = REQUEST.exec(request);
  const target = r?.[2];
  return {
    client: m[1] ?? '',
    ident: m[2] ?? '',
    user: m[3] ?? '',
    time,
    day: time.slice(0, 10),
    hour: time.slice(0, 13),
    request,
    method: r?.[1],
    target,
    path: target?.split('?', 1)[0],
    protocol: r?.[3],
    status: Number(m[14]),
    bytes: m[15] === '-' ? 0 : Number(m[15]),
    referer: unescapeQuoted(m[16] ?? ''),
    userAgent: unescapeQuoted(m[17] ?? ''),
  };
}
