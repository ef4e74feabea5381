/** Reading an input split's text, as Hadoop's LineRecordReader does. */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** The byte range of one input file a task reads (a whole file when it is gzip). */
export interface InputSplit {
  readonly path: string;
  readonly displayPath: string;
  readonly start: number;
  readonly length: number;
  readonly gzip: boolean;
}

const NEWLINE = 0x0a;
const TAIL_CHUNK = 64 * 1024;

/**
 * The text of a split, by Hadoop's LineRecordReader rule: a split that does not start the file
 * skips through its first newline (that line belongs to the split before), and every split reads
 * on past its end to finish the line its last byte is in. A gzip file is one split.
 */
export function readSplitText(split: InputSplit): string {
  if (split.gzip) return gunzipSync(readFileSync(split.path)).toString('utf8');
  const fd = openSync(split.path, 'r');
  try {
    const size = fstatSync(fd).size;
    const end = Math.min(split.start + split.length, size);
    const chunks: Buffer[] = [];
    const body = Buffer.allocUnsafe(end - split.start);
    let got = 0;
    while (got < body.length) got += readSync(fd, body, got, body.length - got, split.start + got);
    chunks.push(body);
    for (let at = end; at < size; ) {
      const tail = Buffer.allocUnsafe(Math.min(TAIL_CHUNK, size - at));
      const n = readSync(fd, tail, 0, tail.length, at);
      const newline = tail.subarray(0, n).indexOf(NEWLINE);
      chunks.push(tail.subarray(0, newline === -1 ? n : newline + 1));
      if (newline !== -1 || n === 0) break;
      at += n;
    }
    let bytes = Buffer.concat(chunks);
    if (split.start > 0) {
      const first = bytes.indexOf(NEWLINE);
      bytes = first === -1 ? Buffer.alloc(0) : bytes.subarray(first + 1);
    }
    return bytes.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
