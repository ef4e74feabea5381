/**
 * Contenders measured in alternating rounds: in round r the order is rotated by r, so a slow
 * phase of a shared machine hits every contender alike; figures are medians per contender, and
 * ratios are taken between medians of the same invocation.
 */

import { BenchFailure } from '../suite.js';
import { type ChildMeasurement, type MeasureOptions, measureChild } from './measure-child.js';
import { median, round } from './stats.js';

/** One timed run of a contender. */
export interface TimedRun {
  readonly seconds: number;
  readonly cpuSeconds: number | null;
  readonly peakRssMiB: number | null;
}

/** A contender: an id, a label for tables and charts, and one run. */
export interface Contender {
  readonly id: string;
  readonly label: string;
  run(round: number): Promise<TimedRun>;
}

/** Runs every contender `runs` times in rotated order; returns the runs per contender id. */
export async function alternateRounds(
  contenders: readonly Contender[],
  runs: number,
  log: (line: string) => void,
): Promise<Record<string, TimedRun[]>> {
  const samples: Record<string, TimedRun[]> = Object.fromEntries(contenders.map((c) => [c.id, []]));
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(i + r) % contenders.length] as Contender;
      const run = await c.run(r);
      (samples[c.id] as TimedRun[]).push(run);
      log(`round ${r + 1}/${runs}: ${c.label}: ${run.seconds.toFixed(2)} s`);
    }
  }
  return samples;
}

/** The median seconds of each contender's runs. */
export function medianSeconds(samples: Record<string, readonly TimedRun[]>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(samples).map(([id, runs]) => [id, round(median(runs.map((r) => r.seconds)) ?? Number.NaN, 3)]),
  );
}

/** Runs a command as a measured child; a non-zero exit is a {@link BenchFailure} naming `what`. */
export async function measured(
  what: string,
  command: string,
  args: readonly string[],
  options: MeasureOptions = {},
): Promise<ChildMeasurement> {
  const m = await measureChild(command, args, options);
  if (m.code !== 0) {
    const tail = m.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new BenchFailure(`${what} failed (exit ${m.code ?? m.signal}): ${tail}`);
  }
  return m;
}

/** A measured child as a {@link TimedRun} (wall seconds unless `seconds` is given). */
export function timedRun(m: ChildMeasurement, seconds = m.wallMs / 1000): TimedRun {
  return {
    seconds,
    cpuSeconds: m.cpuSeconds,
    peakRssMiB: m.peakRssBytes !== null ? round(m.peakRssBytes / 2 ** 20, 1) : null,
  };
}
