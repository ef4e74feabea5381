/**
 * The push suite's figures: medians of MRM's push rate and of the bare NATS loop's, MRM's share
 * of bare NATS, and the JSON, table and chart the runner writes.
 */
import type { BareLoopResult } from '../lib/cluster-bare-nats.js';
import { medianOf, round } from '../lib/stats.js';
import { type BarPanel, barChartSvg, chartFooter } from '../lib/svg-chart.js';
import { markdownTable } from '../lib/text-table.js';
import type { SuiteReport } from '../suite.js';

/** One bare NATS loop. */
export interface BareSample extends BareLoopResult {
  readonly round: number;
}

/** One MRM push run (rates in per second of the push window unless named otherwise). */
export interface PushSample {
  readonly round: number;
  readonly jobId: string;
  readonly batches: number;
  /** Payloads the map worker pushed (data frames and the small per-partition end markers). */
  readonly frames: number;
  readonly bytes: number;
  readonly avgFrameBytes: number;
  /** Of `frames`, the per-(batch, partition) end markers (a few dozen bytes each). */
  readonly endMarkers: number;
  /** Bytes per frame without the end markers: how full the data frames are. */
  readonly avgDataFrameBytes: number;
  /** First dispatch to the last `task-done` (every frame published and flushed). */
  readonly pushSeconds: number;
  readonly framesPerSecond: number;
  readonly bytesPerSecond: number;
  /** First dispatch to the last batch merged on the merge worker. */
  readonly mergedSeconds: number;
  readonly bytesPerSecondToMerged: number;
  /** Between the map worker's first and last heartbeat inside the push window (no start-up, no tail). */
  readonly steadyBytesPerSecond: number | null;
  readonly steadyFramesPerSecond: number | null;
  /** The `mrm submit --wait` process, for reference (bundling, planning and the final commit too). */
  readonly submitSeconds: number;
  /** Times the map worker waited for the merge worker's credit, and how long in all. */
  readonly creditWaits: number;
  readonly creditWaitSeconds: number;
  /** CPU seconds of each cluster process during the submit. */
  readonly cpuByProcess: Readonly<Record<string, number>>;
}

/** What the suite measured. */
export interface PushRun {
  readonly quick: boolean;
  readonly input: { readonly bytes: number; readonly lines: number };
  readonly partitions: number;
  readonly batchLines: number;
  readonly windowBytes: number;
  readonly bareTotalBytes: number;
  readonly pushes: readonly PushSample[];
  readonly bares: readonly BareSample[];
}

const r3 = (x: number | null) => (x === null ? null : round(x));
const med = (xs: ReadonlyArray<number | null>) => r3(medianOf(xs));

interface Row {
  readonly label: string;
  /** The label in the chart, where space is short. */
  readonly short: string;
  readonly payload: string;
  readonly runs: number;
  readonly bytesPerSecond: number | null;
  readonly messagesPerSecond: number | null;
  readonly rangeMBps: string;
}

function rangeOf(values: readonly number[]): string {
  if (values.length < 2) return '';
  return `${(Math.min(...values) / 1e6).toFixed(0)}–${(Math.max(...values) / 1e6).toFixed(0)}`;
}

function rows(run: PushRun): Row[] {
  const out: Row[] = [];
  const payloads = [...new Set(run.bares.map((b) => b.payloadBytes))].sort((a, b) => b - a);
  for (const payload of payloads) {
    const s = run.bares.filter((b) => b.payloadBytes === payload);
    out.push({
      label: 'bare NATS pub → sub',
      short: `bare NATS, ${payload / 1024} KiB`,
      payload: `${payload / 1024} KiB`,
      runs: s.length,
      bytesPerSecond: med(s.map((b) => b.bytesPerSecond)),
      messagesPerSecond: med(s.map((b) => b.messagesPerSecond)),
      rangeMBps: rangeOf(s.map((b) => b.bytesPerSecond)),
    });
  }
  const p = run.pushes;
  const frame = med(p.map((x) => x.avgFrameBytes));
  const dataFrame = med(p.map((x) => x.avgDataFrameBytes));
  const framePayload =
    frame === null || dataFrame === null
      ? '?'
      : `${(frame / 1024).toFixed(0)} KiB avg (data frames ${(dataFrame / 1024).toFixed(0)} KiB)`;
  out.push(
    {
      label: 'MRM push, map → merge (dispatch → last task done)',
      short: 'MRM push',
      payload: framePayload,
      runs: p.length,
      bytesPerSecond: med(p.map((x) => x.bytesPerSecond)),
      messagesPerSecond: med(p.map((x) => x.framesPerSecond)),
      rangeMBps: rangeOf(p.map((x) => x.bytesPerSecond)),
    },
    {
      label: 'MRM push, steady (map worker heartbeats)',
      short: 'MRM push, steady',
      payload: framePayload,
      runs: p.filter((x) => x.steadyBytesPerSecond !== null).length,
      bytesPerSecond: med(p.map((x) => x.steadyBytesPerSecond)),
      messagesPerSecond: med(p.map((x) => x.steadyFramesPerSecond)),
      rangeMBps: rangeOf(p.flatMap((x) => (x.steadyBytesPerSecond === null ? [] : [x.steadyBytesPerSecond]))),
    },
    {
      label: 'MRM push to merged (dispatch → last batch merged)',
      short: 'MRM push to merged',
      payload: framePayload,
      runs: p.length,
      bytesPerSecond: med(p.map((x) => x.bytesPerSecondToMerged)),
      messagesPerSecond: med(p.map((x) => x.frames / x.mergedSeconds)),
      rangeMBps: rangeOf(p.map((x) => x.bytesPerSecondToMerged)),
    },
  );
  return out;
}

const share = (x: number | null, of: number | null) => (x !== null && of !== null && of > 0 ? round(x / of) : null);
const fixed = (x: number | null, digits = 0) => (x === null ? '?' : x.toFixed(digits));

function cpuLine(run: PushRun): string {
  const names = [...new Set(run.pushes.flatMap((p) => Object.keys(p.cpuByProcess)))];
  const parts = names.map((name) => {
    const cores = med(run.pushes.map((p) => (p.cpuByProcess[name] ?? 0) / p.submitSeconds));
    return `${name} ${fixed(cores, 2)}`;
  });
  return `Cores busy during the MRM submit (median CPU seconds / submit seconds): ${parts.join(', ')}; the map worker waited for credit a median ${fixed(
    med(run.pushes.map((p) => p.creditWaits)),
  )} times, ${fixed(med(run.pushes.map((p) => p.creditWaitSeconds)), 2)} s in all.`;
}

/** The suite's JSON results, table and chart. */
export function pushReport(run: PushRun): SuiteReport {
  const all = rows(run);
  const bare512 = all[0];
  const reference = {
    bytesPerSecond: bare512?.bytesPerSecond ?? null,
    messagesPerSecond: bare512?.messagesPerSecond ?? null,
  };
  const mrm = all.find((r) => r.label.startsWith('MRM push, map'));
  const fractions = {
    bytes: share(mrm?.bytesPerSecond ?? null, reference.bytesPerSecond),
    frames: share(mrm?.messagesPerSecond ?? null, reference.messagesPerSecond),
  };
  const tableRows = [
    [
      'path',
      'payload',
      'runs',
      'median MB/s',
      'min–max MB/s',
      'median msgs/s',
      `share of bare ${bare512?.payload ?? ''} (MB/s)`,
    ],
    ...all.map((r) => [
      r.label,
      r.payload,
      String(r.runs),
      fixed(r.bytesPerSecond === null ? null : r.bytesPerSecond / 1e6, 1),
      r.rangeMBps,
      fixed(r.messagesPerSecond, 0),
      r === bare512 ? '' : fixed(share(r.bytesPerSecond, reference.bytesPerSecond), 2),
    ]),
  ];
  const table = [
    markdownTable(tableRows, 2),
    '',
    `MB = 10^6 bytes. Input ${(run.input.bytes / 1e6).toFixed(1)} MB (${run.input.lines.toLocaleString('en-US')} lines \`key\\t~1 KB value\`, every line its own key), ${run.partitions} partitions, ${run.batchLines.toLocaleString('en-US')} lines per batch, default 512 KiB frames, 1 map + 1 merge worker; bare loop: ${(run.bareTotalBytes / 2 ** 20).toFixed(0)} MiB per payload size, publisher flushing every ${run.windowBytes / 2 ** 20} MiB (MRM's credit window), same nats-server.`,
    `MRM push reaches ${fixed(fractions.bytes, 2)} of bare NATS's bytes/s and ${fixed(fractions.frames, 2)} of its messages/s at 512 KiB (median over median). MRM's messages are its frames and its per-(batch, partition) end markers.`,
    cpuLine(run),
    "Correct: in every run the merge worker received exactly the frames and bytes the map worker pushed, the job's record count is the input's, and sampled keys hold their values.",
  ].join('\n');
  const panel = (title: string, unit: string, pick: (r: Row) => number | null, scale: number): BarPanel => ({
    title,
    unit,
    groups: [
      {
        label: 'median',
        ...(fractions.bytes !== null ? { note: `MRM / bare = ${fractions.bytes.toFixed(2)}` } : {}),
        bars: all.map((r, i) => ({
          label: r.short,
          value: (pick(r) ?? 0) / scale,
          color: r.label.startsWith('bare') ? (i === 0 ? '#8c8c8c' : '#b8b8b8') : '#2b6cb0',
        })),
      },
    ],
  });
  const footer = chartFooter(`1 map + 1 merge worker, loopback NATS`);
  return {
    results: {
      quick: run.quick,
      input: run.input,
      partitions: run.partitions,
      batchLines: run.batchLines,
      maxFrameBytes: 512 * 1024,
      bare: { totalBytes: run.bareTotalBytes, flushWindowBytes: run.windowBytes },
      correctness: {
        passed: true,
        check: "frames and bytes pushed = received; job records = input lines; sampled keys' values",
      },
      medians: all,
      mrmShareOfBare512: fractions,
      samples: { mrm: run.pushes, bare: run.bares },
    },
    table,
    svg: barChartSvg(
      [
        panel('Throughput, median (higher is better)', 'MB/s', (r) => r.bytesPerSecond, 1e6),
        panel('Messages (frames) per second, median', 'msgs/s', (r) => r.messagesPerSecond, 1),
      ],
      footer,
    ),
  };
}
