/**
 * What a tumbling-window count with allowed lateness must give, computed the plain way: batch by
 * batch, a record is late when its window ended at or before the watermark of the batch before
 * it; after each batch the watermark is the latest event time so far minus the lateness; windows
 * ending at or before `watermark − retain` are gone. Written apart from the engine, as the spec
 * in docs/decisions/0022 says it, to check the engine against.
 */
import { seededRandom } from '@mrm/testkit';

/** A record of the test jobs: event time (ms) and a client. */
export interface TimedRecord {
  readonly t: number;
  readonly ip: string;
}

/** What the reference computes. */
export interface WindowReference {
  /** Live windows at the end: `[ISO start, 'hits']` → count, sorted as results are. */
  readonly result: string;
  /** Late records (1-based line numbers in the input). */
  readonly lateLines: number[];
  /** Records that arrived behind a later record and still counted. */
  readonly outOfOrderOnTime: number;
  /** Watermark after each checkpoint (one per `checkpointEvery` batches). */
  readonly watermarks: number[];
  /** Live windows after each checkpoint. */
  readonly keys: number[];
  /** Distinct windows ever counted. */
  readonly windowsSeen: number;
}

/** Records whose times march on with jitter: some late, most out of order within the lateness. */
export function timedRecords(n: number, seed: number, startMs: number): TimedRecord[] {
  const random = seededRandom(seed);
  const out: TimedRecord[] = [];
  for (let i = 0; i < n; i++) {
    // 6 s apart on average, up to 6 minutes back (a few far behind), up to 30 s ahead.
    const back = random() < 0.03 ? 20 * 60_000 : random() * 6 * 60_000;
    out.push({ t: startMs + i * 6000 - Math.round(back) + Math.round(random() * 30_000), ip: `10.0.0.${i % 7}` });
  }
  return out;
}

/** The reference computation over `records` cut in batches of `batchSize`. */
export function windowReference(
  records: readonly TimedRecord[],
  o: { sizeMs: number; latenessMs: number; retainMs?: number; batchSize: number; checkpointEvery: number },
): WindowReference {
  const windows = new Map<number, number>();
  const seen = new Set<number>();
  const lateLines: number[] = [];
  const watermarks: number[] = [];
  const keys: number[] = [];
  let watermark: number | undefined;
  let outOfOrderOnTime = 0;
  let latest = Number.NEGATIVE_INFINITY;
  const batches = Math.ceil(records.length / o.batchSize);
  for (let b = 0; b < batches; b++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let i = b * o.batchSize; i < Math.min(records.length, (b + 1) * o.batchSize); i++) {
      const { t } = records[i] as TimedRecord;
      const start = Math.floor(t / o.sizeMs) * o.sizeMs;
      max = Math.max(max, t);
      if (watermark !== undefined && start + o.sizeMs <= watermark) {
        lateLines.push(i + 1);
        continue;
      }
      if (t < latest) outOfOrderOnTime++;
      latest = Math.max(latest, t);
      windows.set(start, (windows.get(start) ?? 0) + 1);
      seen.add(start);
    }
    if (max > Number.NEGATIVE_INFINITY) watermark = Math.max(watermark ?? max - o.latenessMs, max - o.latenessMs);
    const cut = (b + 1) % o.checkpointEvery === 0 || b === batches - 1;
    if (!cut) continue;
    if (o.retainMs !== undefined && watermark !== undefined) {
      for (const start of [...windows.keys()]) {
        if (start + o.sizeMs <= watermark - o.retainMs) windows.delete(start);
      }
    }
    watermarks.push(watermark as number);
    keys.push(windows.size);
  }
  const lines = [...windows.entries()]
    .map(([start, n]) => ({ key: [new Date(start).toISOString(), 'hits'], value: n }))
    .map((e) => JSON.stringify(e))
    .sort();
  return {
    result: lines.map((l) => `${l}\n`).join(''),
    lateLines,
    outOfOrderOnTime,
    watermarks,
    keys,
    windowsSeen: seen.size,
  };
}

/** A job file counting hits per window (and distinct clients with approxDistinct, when asked). */
export function timedJob(o: { name: string; lateness: string; retain?: string; distinct?: boolean }): string {
  const retain = o.retain !== undefined ? `, retain: ${JSON.stringify(o.retain)}` : '';
  return `import { aggregates, defineJob } from '@mrm/core';
export default defineJob({
  name: '${o.name}',
  input: 'jsonl',
  window: { time: (r: { t: number }) => r.t, size: '1m', lateness: '${o.lateness}'${retain} },
  map(r: { t: number; ip: string }, emit) { ${o.distinct === true ? 'emit(r.ip.slice(0, 8), r.ip);' : "emit('hits', 1);"} },
  ...aggregates.${o.distinct === true ? 'approxDistinct' : 'count'}(),
});
`;
}
