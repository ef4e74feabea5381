// Preload that records the longest event-loop stalls of a process's main thread, for every
// process that loads it (e.g. a whole `mrm up` cluster):
//   NODE_OPTIONS="--import $PWD/scripts/perf/loop-stalls.mjs" node packages/cli/bin/mrm.js up …
// Every 20 ms a timer compares the wall time since its last tick with the process's CPU time in
// it: a long gap full of CPU is a synchronous stretch of our own; a long gap with little CPU is a
// loaded machine not scheduling the process. Writes /tmp/mrm-stalls-<pid>.json (totals, every
// second) and appends one line per 5 s to /tmp/mrm-stalls-<pid>.series: ISO time, the window's
// longest gap (ms), the CPU used in that gap (ms).
import { appendFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let lastMs = performance.now();
  let lastCpuMs = cpuMs();
  const total = { maxGapMs: 0, cpuInMaxGapMs: 0, maxCpuInGapMs: 0, gapOfMaxCpuMs: 0 };
  let windowMax = { gapMs: 0, cpuMs: 0 };
  setInterval(() => {
    const now = performance.now();
    const cpu = cpuMs();
    const gap = now - lastMs;
    const used = cpu - lastCpuMs;
    if (gap > total.maxGapMs) Object.assign(total, { maxGapMs: gap, cpuInMaxGapMs: used });
    if (used > total.maxCpuInGapMs) Object.assign(total, { maxCpuInGapMs: used, gapOfMaxCpuMs: gap });
    if (gap > windowMax.gapMs) windowMax = { gapMs: gap, cpuMs: used };
    lastMs = now;
    lastCpuMs = cpu;
  }, 20).unref();
  setInterval(() => {
    appendFileSync(
      `/tmp/mrm-stalls-${process.pid}.series`,
      `${new Date().toISOString()} ${windowMax.gapMs.toFixed(0)} ${windowMax.cpuMs.toFixed(0)}\n`,
    );
    windowMax = { gapMs: 0, cpuMs: 0 };
  }, 5000).unref();
  setInterval(() => {
    writeFileSync(
      `/tmp/mrm-stalls-${process.pid}.json`,
      JSON.stringify({
        argv: process.argv.slice(2, 5).join(' '),
        loopDelayMaxMs: delay.max / 1e6,
        loopDelayP99Ms: delay.percentile(99) / 1e6,
        ...total,
        cpuTotalMs: cpuMs(),
      }),
    );
  }, 1000).unref();
}
