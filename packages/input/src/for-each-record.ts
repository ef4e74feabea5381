import type { InputFormat } from '@mrm/core';
import { ErrorCode, errorMessage, MrmError, printable } from '@mrm/core';

const CR = 0x0d;
const BOM = 0xfeff;

/**
 * Calls `fn` with each record of a batch's text and its 1-based line number; returns the number
 * of records. `lines`: every line (empty ones too) without its '\n' or '\r\n'; a final line
 * without '\n' counts, but a '\n' at the very end does not make an empty record after it.
 * `jsonl`: each line that is not blank, parsed. A UTF-8 byte order mark opening line 1 is dropped.
 *
 * Synchronous on purpose: `fn` may start async work, and the caller decides how to await it.
 *
 * @throws MrmError `E_INPUT_MALFORMED` `<source>:<line>: invalid JSON: <reason>` for a bad jsonl line,
 *   unless `onMalformed` is given: then it gets the error and the line is skipped (not counted).
 */
export function forEachRecord(
  text: string,
  format: InputFormat,
  firstLine: number,
  source: string,
  fn: (record: unknown, line: number) => void,
  onMalformed?: (error: MrmError, line: number) => void,
): number {
  const jsonl = format === 'jsonl';
  const length = text.length;
  let start = firstLine === 1 && text.charCodeAt(0) === BOM ? 1 : 0;
  let line = firstLine;
  let records = 0;
  while (start < length) {
    const newline = text.indexOf('\n', start);
    const next = newline === -1 ? length : newline + 1;
    let end = newline === -1 ? length : newline;
    if (end > start && text.charCodeAt(end - 1) === CR) end--;
    const raw = text.slice(start, end);
    if (!jsonl) {
      fn(raw, line);
      records++;
    } else if (!isBlank(raw)) {
      let record: unknown;
      try {
        record = parseJsonLine(raw, source, line);
      } catch (e) {
        // With a handler, a malformed record is reported and skipped; without one it fails the batch.
        if (onMalformed === undefined) throw e;
        onMalformed(e as MrmError, line);
        start = next;
        line++;
        continue;
      }
      fn(record, line);
      records++;
    }
    start = next;
    line++;
  }
  return records;
}

/** True for an empty or whitespace-only line; cheap for the usual line that starts with '{' or '['. */
function isBlank(line: string): boolean {
  if (line.length === 0) return true;
  const first = line.charCodeAt(0);
  if (first > 0x20 && first < 0x7f) return false;
  return line.trim().length === 0;
}

function parseJsonLine(raw: string, source: string, line: number): unknown {
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw new MrmError(ErrorCode.InputMalformed, `${source}:${line}: invalid JSON: ${printable(errorMessage(e))}`, {
      cause: e,
      details: { source, line },
    });
  }
}
