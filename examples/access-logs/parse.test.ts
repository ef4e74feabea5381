import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseLogLine } from './parse.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const lineOf = (file: string, n: number): string => {
  const line = readFileSync(path.join(here, 'data', file), 'utf8').split('\n')[n - 1];
  if (line === undefined) throw new Error(`${file} has no line ${n}`);
  return line;
};

describe('parseLogLine', () => {
  it('reads every field of an Apache combined line', () => {
    expect(parseLogLine(lineOf('apache/apache_logs-lines-1-3000', 1))).toEqual({
      client: '83.149.9.216',
      ident: '-',
      user: '-',
      time: '2015-05-17T10:05:03Z',
      day: '2015-05-17',
      hour: '2015-05-17T10',
      request: 'GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1',
      method: 'GET',
      target: '/presentations/logstash-monitorama-2013/images/kibana-search.png',
      path: '/presentations/logstash-monitorama-2013/images/kibana-search.png',
      protocol: 'HTTP/1.1',
      status: 200,
      bytes: 203023,
      referer: 'http://semicomplete.com/presentations/logstash-monitorama-2013/',
      userAgent:
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36',
    });
  });

  it('returns undefined for the truncated line 8899 of the Apache sample', () => {
    expect(parseLogLine(lineOf('apache/apache_logs-line-8899', 1))).toBeUndefined();
  });

  it('counts a size of - as 0 bytes', () => {
    const entry = parseLogLine('1.2.3.4 - - [20/May/2015:12:05:25 +0000] "GET /robots.txt HTTP/1.1" 200 - "-" "x"');
    expect(entry?.bytes).toBe(0);
    expect(entry?.status).toBe(200);
  });

  it('keeps a user field with spaces, quotes and brackets (the injection line of 24 Dec) as data', () => {
    const entry = parseLogLine(lineOf('nginx/meatlabel.app.access.log-20251224', 16));
    expect(entry?.client).toBe('193.142.147.209');
    expect(entry?.user).toMatch(/^';echo '\[S\]';cd \/tmp; wget .*;echo '\[E\]';'$/);
    expect(entry?.time).toBe('2025-12-23T03:15:16Z');
    expect(entry?.path).toBe('/access/set');
    expect(entry?.target).toBe('/access/set?param=enableapi&value=1');
  });

  it('unescapes \\" and \\\\ inside quoted fields', () => {
    const entry = parseLogLine(
      '1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET /say?q=\\"hi\\" HTTP/1.0" 404 12 "-" "agent \\"x\\" \\\\ y"',
    );
    expect(entry?.target).toBe('/say?q="hi"');
    expect(entry?.userAgent).toBe('agent "x" \\ y');
  });

  it('leaves method, target and path undefined for a request line that is not HTTP', () => {
    const empty = parseLogLine('3.130.96.91 - - [24/Dec/2025:03:07:12 +0000] "" 400 0 "-" "-"');
    expect(empty?.request).toBe('');
    expect(empty?.path).toBeUndefined();
    const binary = parseLogLine('1.1.1.1 - - [24/Dec/2025:03:07:12 +0000] "\\x16\\x03\\x00" 400 166 "-" "-"');
    expect(binary?.request).toBe('\\x16\\x03\\x00');
    expect(binary?.method).toBeUndefined();
  });

  it('converts a non-zero offset to UTC, across midnight', () => {
    const entry = parseLogLine('1.2.3.4 - - [01/Jan/2026:01:30:00 +0200] "GET / HTTP/1.1" 200 1 "-" "-"');
    expect(entry?.time).toBe('2025-12-31T23:30:00Z');
    expect(entry?.day).toBe('2025-12-31');
    expect(entry?.hour).toBe('2025-12-31T23');
    const west = parseLogLine('1.2.3.4 - - [31/Dec/2025:22:15:00 -0430] "GET / HTTP/1.1" 200 1 "-" "-"');
    expect(west?.time).toBe('2026-01-01T02:45:00Z');
  });

  it('returns undefined for common-format lines, impossible dates and unknown months', () => {
    expect(parseLogLine('1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 1')).toBeUndefined();
    expect(parseLogLine('1.2.3.4 - - [31/Feb/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 1 "-" "-"')).toBeUndefined();
    expect(parseLogLine('1.2.3.4 - - [17/Mai/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 1 "-" "-"')).toBeUndefined();
    expect(parseLogLine('')).toBeUndefined();
  });

  it('parses every line of the nginx sample days', () => {
    for (const day of ['20251224', '20251225', '20251226', '20251227', '20251228']) {
      const text = readFileSync(path.join(here, 'data/nginx', `meatlabel.app.access.log-${day}`), 'utf8');
      const lines = text.split('\n').filter((l) => l !== '');
      expect(lines.filter((l) => parseLogLine(l) === undefined)).toEqual([]);
    }
  });
});
