// Preload that appends the main isolate's process.memoryUsage() (MB) and the process's RssAnon/RssFile (MiB)
// to OS_MEM_OUT (default /tmp/os-mem.log) every 0.5 s (worker threads do not run --import preloads):
//   node --import $PWD/scripts/perf/isolate-memory.mjs packages/cli/bin/mrm.js run …

import { appendFileSync, readFileSync } from 'node:fs';
import { isMainThread, threadId } from 'node:worker_threads';

const out = process.env.OS_MEM_OUT ?? '/tmp/os-mem.log';
const peak = { heapTotal: 0, heapUsed: 0, arrayBuffers: 0, external: 0 };
const t = setInterval(() => {
  const m = process.memoryUsage();
  for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], m[k]);
  let rss = '';
  if (isMainThread) {
    const s = readFileSync('/proc/self/status', 'utf8');
    rss =
      ' ' +
      (s.match(/RssAnon:\s+(\d+)/)[1] / 1024).toFixed(0) +
      '/' +
      (s.match(/RssFile:\s+(\d+)/)[1] / 1024).toFixed(0);
  }
  appendFileSync(
    out,
    `${Date.now()} t${threadId} heapTotal ${(m.heapTotal / 2 ** 20).toFixed(0)} used ${(m.heapUsed / 2 ** 20).toFixed(0)} ab ${(m.arrayBuffers / 2 ** 20).toFixed(0)} ext ${(m.external / 2 ** 20).toFixed(0)}${rss}\n`,
  );
}, 500);
t.unref();
