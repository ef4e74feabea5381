/**
 * Hand-written SVG bar charts: panels of horizontal bars stacked vertically, one group of bars
 * per input size. Small enough to read as text, viewable in any browser or on GitHub.
 */

/** One bar: a contender's value. */
export interface Bar {
  readonly label: string;
  readonly value: number;
  readonly color: string;
}

/** Bars that belong together (one input size), with an optional note (e.g. the ratio). */
export interface BarGroup {
  readonly label: string;
  readonly bars: readonly Bar[];
  readonly note?: string;
}

/** One chart: a title, a unit and its groups. */
export interface BarPanel {
  readonly title: string;
  readonly unit: string;
  readonly groups: readonly BarGroup[];
}

const WIDTH = 800;
const LABEL_WIDTH = 170;
const BAR_AREA = 380;
const BAR_HEIGHT = 18;
const BAR_GAP = 4;
const GROUP_GAP = 14;
const TITLE_HEIGHT = 30;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function formatValue(value: number, unit: string): string {
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

/** Renders one panel at vertical offset `top`; returns its SVG elements and height. */
function renderPanel(panel: BarPanel, top: number): { svg: string[]; height: number } {
  const max = Math.max(1e-9, ...panel.groups.flatMap((g) => g.bars.map((b) => b.value)));
  const svg = [`<text x="10" y="${top + 20}" class="title">${escapeXml(panel.title)}</text>`];
  let y = top + TITLE_HEIGHT;
  for (const group of panel.groups) {
    const groupHeight = group.bars.length * (BAR_HEIGHT + BAR_GAP);
    svg.push(`<text x="10" y="${y + 13}" class="group">${escapeXml(group.label)}</text>`);
    if (group.note !== undefined) {
      svg.push(`<text x="10" y="${y + 29}" class="note">${escapeXml(group.note)}</text>`);
    }
    group.bars.forEach((bar, i) => {
      const barY = y + i * (BAR_HEIGHT + BAR_GAP);
      const width = Math.max(1, (bar.value / max) * BAR_AREA);
      svg.push(
        `<rect x="${LABEL_WIDTH}" y="${barY}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${bar.color}"/>`,
        `<text x="${(LABEL_WIDTH + width + 6).toFixed(1)}" y="${barY + 13}">${escapeXml(`${bar.label}: ${formatValue(bar.value, panel.unit)}`)}</text>`,
      );
    });
    y += Math.max(groupHeight, 34) + GROUP_GAP;
  }
  return { svg, height: y - top };
}

/** An SVG document with `panels` stacked top to bottom and a footer line. */
export function barChartSvg(panels: readonly BarPanel[], footer: string): string {
  const body: string[] = [];
  let top = 0;
  for (const panel of panels) {
    const rendered = renderPanel(panel, top);
    body.push(...rendered.svg);
    top += rendered.height + 6;
  }
  const height = top + 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
    '<style>text{font:12px sans-serif;fill:#222}.title{font-size:14px;font-weight:bold}.group{font-weight:bold}.note{fill:#555}.footer{font-size:10px;fill:#777}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    ...body,
    `<text x="10" y="${height - 8}" class="footer">${escapeXml(footer)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

/** A chart's footer: the date, Node's version, what was run (`what`), and where the method is told. */
export function chartFooter(what: string): string {
  return `${new Date().toISOString().slice(0, 10)} · node ${process.version} · ${what} · see docs/benchmarks.md`;
}
