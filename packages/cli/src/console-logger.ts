/** The CLI's logger: one line per event on stderr, `time level message key=value…`. */
import type { LogFields, Logger } from '@mrm/core';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
/** Log levels. */
export type LogLevel = keyof typeof LEVELS;

function render(fields: LogFields): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

/** A logger writing to stderr from `level` up. */
export function consoleLogger(level: LogLevel, base: LogFields = {}): Logger {
  const min = LEVELS[level];
  const write = (lvl: LogLevel, message: string, fields?: LogFields) => {
    if (LEVELS[lvl] < min) return;
    const all = { ...base, ...fields };
    const tail = Object.keys(all).length > 0 ? ` ${render(all)}` : '';
    process.stderr.write(`${new Date().toISOString()} ${lvl} ${message}${tail}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => consoleLogger(level, { ...base, ...fields }),
  };
}
