/** `mrm status`: jobs, batches, workers and lag at a glance (or as JSON). */
import { encodeApi, expectReply, type JobStatus, type StatusReply, type WorkerStatus } from '@mrm/core';
import { connectCluster } from '../cluster/connect.js';
import { requestCoordinator } from '../cluster/coordinator-request.js';
import { statusJson } from '../cluster/status-json.js';
import { watermarkText } from '../report.js';
import { skewLines } from '../skew-text.js';

/** Options of `mrm status`. */
export interface StatusCommandOptions {
  readonly nats?: string;
  readonly json?: boolean;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function age(ms: number | undefined, now: number): string {
  if (ms === undefined) return '-';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  return s < 120 ? `${s}s ago` : `${Math.round(s / 60)}m ago`;
}

function jobRows(jobs: readonly JobStatus[], now: number): string[][] {
  return [
    [
      'JOB',
      'NAME',
      'STATE',
      'BATCHES',
      'LAG',
      'RECORDS',
      'DEAD',
      'LATE',
      'WATERMARK',
      'VERSIONS',
      'SUBMITTED',
      'ERROR',
    ],
    ...jobs.map((j) => [
      j.jobId,
      j.name,
      j.state,
      j.progress !== undefined ? `${j.progress.mergedBatches}/${j.progress.totalBatches}` : '-',
      j.progress !== undefined ? String(j.progress.lagBatches) : '-',
      j.progress !== undefined ? String(j.progress.records) : '-',
      String(j.progress?.deadLetters ?? 0),
      String(j.progress?.lateRecords ?? 0),
      watermarkText(j.progress?.watermarkMs),
      j.versions !== undefined && j.versions.length > 0 ? `${j.versions[0]}–${j.versions.at(-1)}` : '-',
      age(j.submittedAtMs, now),
      j.error?.message ?? (j.stalled !== undefined ? `STALLED: ${j.stalled.message}` : ''),
    ]),
  ];
}

function workerRows(workers: readonly WorkerStatus[], now: number): string[][] {
  return [
    ['WORKER', 'ROLE', 'ALIVE', 'SEEN', 'CPU', 'MEMORY', 'PARTITIONS', 'DOING', 'STATS'],
    ...workers.map((w) => [
      w.workerId,
      w.role,
      w.alive ? 'yes' : 'no',
      age(w.lastSeenMs, now),
      w.resources !== undefined ? `${w.resources.cpuPercent.toFixed(1)}%` : '-',
      w.resources !== undefined ? `${Math.round(w.resources.rssBytes / (1024 * 1024))} MiB` : '-',
      partitionsText(w.partitions),
      w.phase ?? '-',
      Object.entries(w.stats)
        .map(([k, v]) => `${k}=${Math.round(v)}`)
        .join(' '),
    ]),
  ];
}

/** How many partitions of each job a merge worker owns (`wordcount:8 logs:4`), so a user sees the balance. */
function partitionsText(partitions: WorkerStatus['partitions']): string {
  const jobs = Object.entries(partitions ?? {});
  return jobs.length > 0 ? jobs.map(([job, ps]) => `${job}:${ps.length}`).join(' ') : '-';
}

/** Runs `mrm status`. */
export async function statusCommand(jobId: string | undefined, options: StatusCommandOptions): Promise<void> {
  const transport = await connectCluster(options, 'mrm-status');
  let status: StatusReply;
  try {
    const reply = await requestCoordinator(
      transport,
      encodeApi({ type: 'status', ...(jobId !== undefined ? { jobId } : {}) }),
      10_000,
    );
    status = expectReply(reply, 'status-reply');
  } finally {
    await transport.close();
  }
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(statusJson(status, jobId), null, 2)}\n`);
    return;
  }
  const now = Date.now();
  const skew = status.jobs.flatMap((j) => (j.skew !== undefined ? skewLines(j.jobId, j.skew) : []));
  const skewText = skew.length > 0 ? `\nSKEW\n${skew.join('\n')}\n` : '';
  process.stdout.write(`${table(jobRows(status.jobs, now))}\n${skewText}\n${table(workerRows(status.workers, now))}\n`);
}
