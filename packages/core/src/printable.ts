/** Making text from outside (input lines, user messages) safe to print on one terminal line. */

// C0 controls (tab and newline included), DEL and C1 controls: they move the cursor, change colours
// or end the line on a terminal.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * `text` with every control character written as an escape (`\n`, `\t`, `\r`, else `\xNN` /
 * `\u00NN`), so that quoting input in an error line prints exactly one harmless line.
 *
 * ```ts
 * printable('a\u0000b\u001b[31m'); // 'a\\x00b\\x1b[31m'
 * ```
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
