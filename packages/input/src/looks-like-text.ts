/**
 * A cheap guess whether an input file is text: no NUL byte in its first block (after gunzip for a
 * `.gz`), the test `grep` and `git` use. Reading a binary file as lines "works" and yields garbage
 * records, so the CLI warns about such a file before it runs a job on it.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { SourceFile } from './source-file.js';

/** How much of the start of a file is looked at. */
export const TEXT_SNIFF_BYTES = 8192;

/** True when the first {@link TEXT_SNIFF_BYTES} of the file's content hold no NUL byte. */
export async function looksLikeText(file: Pick<SourceFile, 'path' | 'gzip'>): Promise<boolean> {
  const raw = createReadStream(file.path, { start: 0, end: TEXT_SNIFF_BYTES - 1 });
  const content = file.gzip ? raw.pipe(createGunzip()) : raw;
  let seen = 0;
  try {
    for await (const chunk of content) {
      const block = (chunk as Buffer).subarray(0, TEXT_SNIFF_BYTES - seen);
      if (block.includes(0)) return false;
      seen += block.length;
      if (seen >= TEXT_SNIFF_BYTES) break;
    }
  } catch {
    // A gzip stream cut off at the sniffed block ends early ("unexpected end of file"): what was
    // decompressed before is all there is to judge; a real read error is reported by the reader.
  } finally {
    raw.destroy();
    content.destroy();
  }
  return true;
}
