/**
 * `mrm baseline records`: a job run record at a time, the way a Storm topology runs it. The spout
 * (this process) reads the input and calls `map`; every key/value pair becomes its own NATS
 * request to the bolt process that owns the key, which applies it to that key's state in LMDB and
 * acks it; at most `maxPending` pairs are unacknowledged at once (Storm's
 * `topology.max.spout.pending`). With a state dir, an incremental job's bolts keep their state and
 * inputs already applied are skipped, as `mrm run` does.
 *
 * ```ts
 * const run = await runRecordsBaseline({ job, bundlePath, inputs, natsUrl: 'nats://127.0.0.1:4333' });
 * await writeJsonLines(run.entries(), 'out.jsonl');
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { canonicalKey, decode, ErrorCode, encode, MrmError, partitionOf, type ResolvedJob } from '@mrm/core';
import { forEachRecord, type SourceFile } from '@mrm/input';
import { type NatsServerHandle, startNatsServer } from '@mrm/testkit';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { readSplitText } from '../read-split.js';
import { type BaselineEntry, resultEntries } from '../result-parts.js';
import { readSeenInputs, withNewInputs, writeSeenInputs } from '../seen-inputs.js';
import { BoltMessage, type BoltSpec, type BoltSummary, boltSubject } from './records-protocol.js';

const BOLT_MAIN = fileURLToPath(new URL('./bolt-main.js', import.meta.url));
/** Unacknowledged pairs allowed at once (Storm's `topology.max.spout.pending`, commonly 1,000). */
export const DEFAULT_MAX_PENDING = 1000;
/** How long one pair may wait for its ack. */
const ACK_TIMEOUT_MS = 60_000;

/** One run of the record-at-a-time baseline. */
export interface RecordsBaselineRequest {
  readonly job: ResolvedJob;
  readonly bundlePath: string;
  readonly inputs: readonly SourceFile[];
  /** Keeps the bolts' state and the inputs applied; without it, a temp dir. */
  readonly stateDir?: string;
  /** NATS server to use; without it the run starts its own nats-server on a free port. */
  readonly natsUrl?: string;
  /** Bolt processes (default one per core). Fixed for a state dir. */
  readonly bolts?: number;
  readonly maxPending?: number;
  readonly log?: (line: string) => void;
}

/** What a run did; `entries()` reads its result in key order. */
export interface RecordsBaselineRun {
  readonly inputFiles: number;
  readonly records: number;
  readonly pairs: number;
  readonly keys: number;
  readonly bolts: number;
  entries(): AsyncIterable<BaselineEntry>;
  close(): void;
}

/** Starts a bolt process; resolves once it is subscribed. */
function startBolt(spec: BoltSpec): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BOLT_MAIN, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line === 'ready') resolve(child);
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      reject(
        new MrmError(
          ErrorCode.JobFailed,
          `bolt ${spec.subject} exited (${code}): ${stderr.trim().split('\n')[0] ?? ''}`,
        ),
      ),
    );
  });
}

/** Sends pairs one NATS request each, with at most `limit` unacknowledged. */
class Spout {
  private pending = 0;
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  pairs = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: readonly string[],
    private readonly limit: number,
  ) {}

  async send(ck: string, value: unknown): Promise<void> {
    while (this.pending >= this.limit) await new Promise<void>((r) => (this.wake = r));
    if (this.failure !== undefined) throw this.failure;
    const body = encode([ck, value]);
    const payload = new Uint8Array(body.length + 1);
    payload[0] = BoltMessage.Pair;
    payload.set(body, 1);
    const subject = this.subjects[partitionOf(ck, this.subjects.length)] as string;
    this.pending++;
    this.pairs++;
    this.nc.request(subject, payload, { timeout: ACK_TIMEOUT_MS }).then(
      (reply) => {
        if (reply.data.length > 0)
          this.failure ??= new MrmError(ErrorCode.UserCode, new TextDecoder().decode(reply.data));
        this.settle();
      },
      (error: unknown) => {
        this.failure ??= new MrmError(ErrorCode.Transport, `pair for key ${ck} not acknowledged: ${String(error)}`);
        this.settle();
      },
    );
  }

  private settle(): void {
    this.pending--;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Resolves once every pair sent is acknowledged. */
  async drain(): Promise<void> {
    while (this.pending > 0) await new Promise<void>((r) => (this.wake = r));
    if (this.failure !== undefined) throw this.failure;
  }
}

interface RecordsMeta {
  readonly bolts: number;
}

/** Runs the job record at a time; the result is complete when this resolves. */
export async function runRecordsBaseline(request: RecordsBaselineRequest): Promise<RecordsBaselineRun> {
  const { job } = request;
  const log = request.log ?? (() => {});
  const base = request.stateDir ?? mkdtempSync(join(tmpdir(), 'mrm-records-'));
  mkdirSync(base, { recursive: true });
  const metaPath = join(base, 'records.json');
  const stored = existsSync(metaPath) ? (JSON.parse(readFileSync(metaPath, 'utf8')) as RecordsMeta) : undefined;
  const bolts = request.bolts ?? stored?.bolts ?? availableParallelism();
  if (stored !== undefined && stored.bolts !== bolts)
    throw new MrmError(
      ErrorCode.BadOption,
      `${base} holds the state of ${stored.bolts} bolts; cannot run with ${bolts}`,
    );
  const keepState = job.incremental && request.stateDir !== undefined;
  const seen = keepState ? readSeenInputs(base) : [];
  const known = new Set(seen.map((s) => s.path));
  const inputs = keepState ? request.inputs.filter((s) => !known.has(s.path)) : [...request.inputs];
  if (!keepState)
    for (let n = 0; n < bolts; n++) rmSync(join(base, `bolt-${n}.lmdb`), { recursive: true, force: true });
  writeFileSync(metaPath, JSON.stringify({ bolts }));

  let server: NatsServerHandle | undefined;
  const children: ChildProcess[] = [];
  let nc: NatsConnection | undefined;
  try {
    if (request.natsUrl === undefined) server = await startNatsServer();
    const natsUrl = request.natsUrl ?? (server as NatsServerHandle).url;
    const run = `${process.pid}-${Date.now().toString(36)}`;
    const subjects = Array.from({ length: bolts }, (_, n) => boltSubject(run, n));
    const parts = Array.from({ length: bolts }, (_, n) => join(base, `part-b-${n}`));
    for (let n = 0; n < bolts; n++) {
      const spec = {
        natsUrl,
        subject: subjects[n] as string,
        bundlePath: request.bundlePath,
        statePath: join(base, `bolt-${n}.lmdb`),
        partPath: parts[n] as string,
      };
      children.push(await startBolt(spec));
    }
    nc = await connect({ servers: natsUrl, name: 'mrm-records-spout' });
    const spout = new Spout(nc, subjects, request.maxPending ?? DEFAULT_MAX_PENDING);
    log(`${inputs.length} input files, ${bolts} bolts on ${natsUrl}`);
    let records = 0;
    for (const input of inputs) {
      const text = readSplitText({
        path: input.path,
        displayPath: input.displayPath,
        start: 0,
        length: input.size,
        gzip: input.gzip,
      });
      let pairs: Array<[string, unknown]> = [];
      const emit = (key: unknown, value: unknown) => pairs.push([canonicalKey(key), value]);
      const queued: Array<[unknown, number]> = [];
      records += forEachRecord(text, job.input, 1, input.displayPath, (record, line) => queued.push([record, line]));
      for (const [record, line] of queued) {
        await job.map(record, emit as never, { source: input.displayPath, line, batchId: 'records' });
        for (const [ck, value] of pairs) await spout.send(ck, value);
        pairs = [];
      }
    }
    await spout.drain();
    const summaries: BoltSummary[] = [];
    for (const subject of subjects) {
      const reply = await nc.request(subject, new Uint8Array([BoltMessage.Finish]), { timeout: ACK_TIMEOUT_MS });
      summaries.push(decode<BoltSummary>(reply.data));
    }
    await Promise.all(
      children.map((c) => new Promise((r) => (c.exitCode !== null ? r(undefined) : c.once('exit', r)))),
    );
    if (keepState) writeSeenInputs(base, withNewInputs(seen, inputs));
    return {
      inputFiles: inputs.length,
      records,
      pairs: spout.pairs,
      keys: summaries.reduce((n, s) => n + s.keys, 0),
      bolts,
      entries: () => resultEntries(job, parts),
      close: () => {
        if (request.stateDir === undefined) rmSync(base, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (request.stateDir === undefined) rmSync(base, { recursive: true, force: true });
    throw error;
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await nc?.close();
    await server?.stop();
  }
}
