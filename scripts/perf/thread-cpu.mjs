// CPU seconds per thread of a command (polling /proc/<pid>/task/*/stat every 25 ms), e.g.
// node scripts/perf/thread-cpu.mjs node packages/cli/bin/mrm.js run examples/wordcount/job.ts --input <files> --state <dir>
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const [cmd, ...args] = process.argv.slice(2);
const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
const seen = new Map();
const tick = 100; // clock ticks per second
const poll = () => {
  try {
    for (const t of readdirSync(`/proc/${child.pid}/task`)) {
      try {
        const s = readFileSync(`/proc/${child.pid}/task/${t}/stat`, 'utf8');
        const close = s.lastIndexOf(')');
        const name = s.slice(s.indexOf('(') + 1, close);
        const f = s.slice(close + 2).split(' ');
        const u = +f[11],
          sy = +f[12];
        seen.set(t, { name, u: u / tick, s: sy / tick });
      } catch {}
    }
  } catch {}
};
const timer = setInterval(poll, 25);
const t0 = Date.now();
child.on('exit', () => {
  clearInterval(timer);
  const by = new Map();
  let tu = 0,
    ts = 0;
  for (const [_tid, v] of seen) {
    const k = v.name;
    const e = by.get(k) ?? { n: 0, u: 0, s: 0 };
    e.n++;
    e.u += v.u;
    e.s += v.s;
    by.set(k, e);
    tu += v.u;
    ts += v.s;
  }
  for (const [tid, v] of [...seen].sort((a, b) => b[1].u + b[1].s - a[1].u - a[1].s).slice(0, 8))
    console.error(`  tid ${tid} ${v.name.padEnd(16)} user ${v.u.toFixed(2)} sys ${v.s.toFixed(2)}`);
  for (const [k, e] of by) console.error(`  ${k.padEnd(16)} x${e.n} user ${e.u.toFixed(2)} sys ${e.s.toFixed(2)}`);
  console.error(`  wall ${((Date.now() - t0) / 1000).toFixed(2)} total user ${tu.toFixed(2)} sys ${ts.toFixed(2)}`);
});
