/** What a benchmark ran on: the figures mean little without it. */
import { availableParallelism, cpus, totalmem } from 'node:os';

/** The machine and runtime of a benchmark run. */
export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly totalMemoryMb: number;
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
}

/** This machine and runtime. */
export function machineInfo(): MachineInfo {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    totalMemoryMb: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
  };
}
