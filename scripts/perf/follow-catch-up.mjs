// Catch-up latency of `mrm run --follow` (docs/decisions/0033): a real `mrm run --follow` process
// follows a log that this script appends to, APPENDS times, LINES lines each, on a schedule of its
// own (gaps uniform in GAP/2..3·GAP/2, seeded, from one append time to the next, not from the
// catch-up: so appends fall at every phase of mrm's looks alike); per append, the time from it to
// the `--out` file counting every line appended so far (a line count: the result is rewritten
// after each version). Prints its p50, p90 and max, and the p50 and p90 of what mrm printed per
// version (its look at the file → the version committed).
// node scripts/perf/follow-catch-up.mjs [--bin=packages/cli/bin/mrm.js] [--interval=250]
//   [--appends=20] [--lines=2000] [--gap=1500]
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
const GAP = Number(opt('gap', 1500));

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
  let appendAtMs = performance.now();
  for (let a = 0; a < APPENDS; a++) {
    appendAtMs += GAP * (0.5 + random());
    await new Promise((r) => setTimeout(r, Math.max(0, appendAtMs - performance.now())));
    appendFileSync(log, Array.from({ length: LINES }, (_, i) => `line ${a} ${i}\n`).join(''));
    expected += LINES;
    const at = performance.now();
    while (counted() < expected) {
      if (child.exitCode !== null) throw new Error(`mrm exited: ${stderr}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    latencies.push(performance.now() - at);
  }
} finally {
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
// What mrm itself printed per version: the time from its look at the file to the commit (a run
// per round before decisions/0033, an extension of the open run after).
const perVersion = [...stderr.matchAll(/ (\d+\.\d+) s[ ,].*→ version/g)].map((m) => Number(m[1]) * 1000);
console.log(
  `${BIN}: --batch-interval ${INTERVAL}, ${APPENDS} appends of ${LINES} lines: catch-up p50 ${quantile(latencies, 0.5).toFixed(0)} ms, p90 ${quantile(latencies, 0.9).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms; look to commit p50 ${quantile(perVersion, 0.5)} ms, p90 ${quantile(perVersion, 0.9)} ms (${perVersion.length} versions)`,
);
