// Catch-up latency of `mrm run --follow` (docs/decisions/0033): a real `mrm run --follow` process
// follows a log that this script appends to, APPENDS times, LINES lines each, one append every
// GAP ms on average (uniform in GAP/2..3·GAP/2, seeded, so appends fall at every phase of the
// interval alike); per append, the time from the append to the `--out` file counting every line appended so
// far (a word count: the result is rewritten after each version). Prints p50, p90 and max.
// node scripts/perf/follow-catch-up.mjs [--bin=packages/cli/bin/mrm.js] [--interval=250]
//   [--appends=20] [--lines=2000] [--gap=700]
// `--bin` another checkout's bin (e.g. /work/main/packages/cli/bin/mrm.js) measures its code.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const opt = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const BIN = resolve(opt('bin', new URL('../../packages/cli/bin/mrm.js', import.meta.url).pathname));
const INTERVAL = Number(opt('interval', 250));
const APPENDS = Number(opt('appends', 20));
const LINES = Number(opt('lines', 2000));
const GAP = Number(opt('gap', 700));

const dir = mkdtempSync(join(tmpdir(), 'mrm-follow-catch-up-'));
const job = join(dir, 'count.mjs');
writeFileSync(
  job,
  `import { aggregates } from '@mrm/core';\nexport default { name: 'count', map(line, emit) { emit('lines', 1); }, ...aggregates.count() };\n`,
);
const log = join(dir, 'app.log');
const out = join(dir, 'out.jsonl');
writeFileSync(log, '');
const child = spawn(
  process.execPath,
  [
    BIN,
    'run',
    job,
    '--input',
    log,
    '--state',
    join(dir, 'state'),
    '--out',
    out,
    '--follow',
    '--batch-interval',
    `${INTERVAL}`,
    '--threads',
    '1',
  ],
  { stdio: ['ignore', 'ignore', 'pipe'] },
);
let stderr = '';
child.stderr.on('data', (d) => {
  stderr += d.toString();
});

function counted() {
  if (!existsSync(out)) return 0;
  const text = readFileSync(out, 'utf8').trim();
  return text === '' ? 0 : JSON.parse(text.split('\n')[0]).value;
}

let seed = 42;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const latencies = [];
try {
  // Warm up: the process started and merged a first line.
  appendFileSync(log, 'warm up\n');
  const started = Date.now();
  while (counted() < 1) {
    if (child.exitCode !== null) throw new Error(`mrm exited: ${stderr}`);
    if (Date.now() - started > 60_000) throw new Error(`no first version after 60 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  let expected = 1;
  for (let a = 0; a < APPENDS; a++) {
    appendFileSync(log, Array.from({ length: LINES }, (_, i) => `line ${a} ${i}\n`).join(''));
    expected += LINES;
    const at = performance.now();
    while (counted() < expected) {
      if (child.exitCode !== null) throw new Error(`mrm exited: ${stderr}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    latencies.push(performance.now() - at);
    await new Promise((r) => setTimeout(r, GAP * (0.5 + random())));
  }
} finally {
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
const sorted = [...latencies].sort((a, b) => a - b);
const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(0);
console.log(
  `${BIN}: --batch-interval ${INTERVAL}, ${APPENDS} appends of ${LINES} lines: catch-up p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${sorted.at(-1).toFixed(0)} ms`,
);
