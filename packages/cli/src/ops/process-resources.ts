/** CPU and memory of this process, sampled for heartbeats. */
import type { WorkerResources } from '@mrm/core';

/** Returns a sampler: each call gives CPU use since the previous call, and memory now. */
export function processResourceSampler(): () => WorkerResources {
  let lastCpu = process.cpuUsage();
  let lastMs = performance.now();
  return () => {
    const cpu = process.cpuUsage(lastCpu);
    const now = performance.now();
    const wallUs = Math.max(1, (now - lastMs) * 1000);
    lastCpu = process.cpuUsage();
    lastMs = now;
    const memory = process.memoryUsage();
    return {
      cpuPercent: Math.round(((cpu.user + cpu.system) / wallUs) * 1000) / 10,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
    };
  };
}
