import fs from 'node:fs';
import { forEachRecord } from '@mrm/input';
import { describe, expect, it } from 'vitest';
import { fixture } from './helpers.js';

/** Records and their line numbers, as forEachRecord reports them. */
function collect(text: string, format: 'lines' | 'jsonl', firstLine = 1) {
  const records: unknown[] = [];
  const lines: number[] = [];
  const count = forEachRecord(text, format, firstLine, 'src.log', (record, line) => {
    records.push(record);
    lines.push(line);
  });
  return { count, records, lines };
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

describe('forEachRecord', () => {
  it('gives every line of an LF file with its line number', () => {
    const text = fs.readFileSync(fixture('apache-500.log'), 'utf8');
    const { count, records, lines } = collect(text, 'lines', 1001);
    expect(count).toBe(500);
    expect(records).toEqual(text.split('\n').slice(0, 500));
    expect(lines).toEqual(range(1001, 500));
  });

  it('drops the \\r of CRLF lines', () => {
    const text = fs.readFileSync(fixture('metamorphosis-crlf.txt'), 'utf8');
    const { count, records } = collect(text, 'lines');
    expect(count).toBe(40);
    expect(records).toEqual(text.split('\r\n').slice(0, 40));
    expect(records.some((r) => String(r).includes('\r'))).toBe(false);
  });

  it('counts a final line without a newline', () => {
    const text = fs.readFileSync(fixture('frankenstein-no-final-newline.txt'), 'utf8');
    const { count, records } = collect(text, 'lines');
    expect(count).toBe(25);
    expect(records[24]).toBe(text.slice(text.lastIndexOf('\n') + 1));
  });

  it('keeps empty lines as records but adds none after a final newline', () => {
    expect(collect('a\n\nb\n', 'lines').records).toEqual(['a', '', 'b']);
    expect(collect('a\r\n\r\nb', 'lines').records).toEqual(['a', '', 'b']);
    expect(collect('\n', 'lines').records).toEqual(['']);
    expect(collect('', 'lines').count).toBe(0);
  });

  it('strips only one \\r per line', () => {
    expect(collect('a\r\r\nb\r', 'lines').records).toEqual(['a\r', 'b']);
  });

  it('drops a byte order mark at the start of line 1 only', () => {
    expect(collect('\uFEFFa\nb\n', 'lines').records).toEqual(['a', 'b']);
    expect(collect('\uFEFFa\n', 'lines', 7).records).toEqual(['\uFEFFa']);
  });

  it('parses jsonl lines, skipping blank ones but counting their line numbers', () => {
    const lines = fs.readFileSync(fixture('access-bad-line.jsonl'), 'utf8').split('\n');
    lines.splice(26, 1, '{"fixed":true}\r'); // replace the bad line 27
    const result = collect(lines.join('\n'), 'jsonl', 1);
    expect(result.count).toBe(31);
    expect(result.lines).toEqual(range(1, 33).filter((n) => n !== 11 && n !== 21));
    expect(result.records[0]).toEqual({
      ip: '83.149.9.216',
      time: '17/May/2015:10:05:03 +0000',
      method: 'GET',
      path: '/presentations/logstash-monitorama-2013/images/kibana-search.png',
      status: 200,
      bytes: 203023,
    });
    expect(result.records[24]).toEqual({ fixed: true });
  });

  it('names the source and line of invalid JSON', () => {
    const text = fs.readFileSync(fixture('access-bad-line.jsonl'), 'utf8');
    const seen: number[] = [];
    let error: unknown;
    try {
      forEachRecord(text, 'jsonl', 1, 'logs/access-bad-line.jsonl', (_, line) => seen.push(line));
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      code: 'E_INPUT_MALFORMED',
      details: { source: 'logs/access-bad-line.jsonl', line: 27 },
    });
    expect(String((error as Error).message)).toMatch(/^logs\/access-bad-line\.jsonl:27: invalid JSON: \S/);
    expect(seen.at(-1)).toBe(26);
  });

  it('numbers jsonl errors from the batch first line', () => {
    expect(() => forEachRecord('{}\n{', 'jsonl', 41, 'x.jsonl', () => {})).toThrow(/^x\.jsonl:42: invalid JSON: /);
  });

  it('lets errors of the callback through', () => {
    expect(() =>
      forEachRecord('a\nb\n', 'lines', 1, 'x', (record) => {
        if (record === 'b') throw new Error('boom');
      }),
    ).toThrow('boom');
  });
});
