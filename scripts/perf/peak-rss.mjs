// Wall, CPU (GNU time) and peak RSS, anonymous and file-backed (polling /proc every 20 ms) of a command:
// node scripts/perf/peak-rss.mjs node packages/cli/bin/mrm.js run …
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const [cmd, ...args] = process.argv.slice(2);
const t0 = Date.now();
const child = spawn('/usr/bin/time', ['-f', '%U %S %M', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
let err = '';
child.stderr.on('data', (d) => (err += d));
let anon = 0,
  file = 0;
const timer = setInterval(() => {
  try {
    const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/);
    for (const k of kids) {
      const s = readFileSync(`/proc/${k}/status`, 'utf8');
      const a = +(/RssAnon:\s+(\d+)/.exec(s)?.[1] ?? 0),
        f = +(/RssFile:\s+(\d+)/.exec(s)?.[1] ?? 0);
      anon = Math.max(anon, a);
      file = Math.max(file, f);
    }
  } catch {}
}, 20);
child.on('exit', () => {
  clearInterval(timer);
  const [u, s, m] = err.trim().split('\n').at(-1).split(' ');
  console.log(
    `wall ${((Date.now() - t0) / 1000).toFixed(1)} s, cpu ${(+u + +s).toFixed(2)} s (user ${u} sys ${s}), peak RSS ${(m / 1024).toFixed(0)} MiB, anon ${(anon / 1024).toFixed(0)} MiB, file ${(file / 1024).toFixed(0)} MiB | ${err
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('wordcount'))
      .join(' ')}`,
  );
});
