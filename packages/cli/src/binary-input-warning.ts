/** The warning `run` and `submit` give for an input file that does not look like text. */
import { printable } from '@mrm/core';
import { looksLikeText, type SourceFile, TEXT_SNIFF_BYTES } from '@mrm/input';
import { say } from './report.js';

/** Says, one line per file on stderr, which inputs hold NUL bytes in their first block. */
export async function warnAboutBinaryInputs(files: readonly SourceFile[]): Promise<void> {
  for (const file of files) {
    if (await looksLikeText(file)) continue;
    say(
      `mrm: warning: input '${printable(file.displayPath)}' does not look like text (NUL bytes in its first ${TEXT_SNIFF_BYTES / 1024} KiB); reading it as records anyway`,
    );
  }
}
