/** A plain-text table for the terminal and for pasting into Markdown. */

/**
 * Renders rows as a Markdown table; the first row is the header. The first `textColumns` columns
 * are left-aligned, the rest (numbers) right-aligned.
 */
export function markdownTable(rows: ReadonlyArray<readonly string[]>, textColumns = 1): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 3, cell.length);
  }
  const pad = (cell: string, i: number) =>
    i < textColumns ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0);
  const line = (row: readonly string[]) => `| ${row.map(pad).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (i < textColumns ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  const [header, ...body] = rows;
  return [line(header ?? []), rule, ...body.map(line)].join('\n');
}
