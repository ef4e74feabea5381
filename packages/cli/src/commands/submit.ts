/** `mrm submit`: ship a job and its input to the cluster; with --wait, follow it to the end. */
import { randomBytes } from 'node:crypto';
import { coordinatorExpected } from '@mrm/coordinator';
import {
  decodeApi,
  ErrorCode,
  encodeApi,
  expectReply,
  fromWireError,
  type JobStatus,
  MrmError,
  type Transport,
} from '@mrm/core';
import { expandInputs } from '@mrm/input';
import { warnAboutBinaryInputs } from '../binary-input-warning.js';
import { userCacheDir } from '../cache-dir.js';
import { connectCluster } from '../cluster/connect.js';
import { requestCoordinator } from '../cluster/coordinator-request.js';
import { shipInputs } from '../cluster/input-shipping.js';
import { publishBundle } from '../cluster/job-shipping.js';
import { type JobFlags, jobOptionsFromFlags } from '../job-flags.js';
import { loadJob } from '../job-loader.js';
import { lateNote, say, seconds, thousands } from '../report.js';
import { writeClusterResult } from './query.js';

/** Options of `mrm submit`. */
export interface SubmitCommandOptions extends JobFlags {
  /** Input files, folders or globs; or, for a streaming job, `stream`. */
  readonly input?: string[];
  /** Subject of the input stream of a streaming job (`mrm publish` writes it). */
  readonly stream?: string;
  /** With `stream`: milliseconds between micro-batches (segments). */
  readonly batchInterval?: number;
  /** With `stream`: milliseconds without records after which the watermark moves on by as much. */
  readonly idleTimeout?: number;
  readonly nats?: string;
  readonly wait?: boolean;
  readonly out?: string;
  readonly priority?: number;
  readonly sharedFs?: boolean;
  readonly timeout?: number;
}

const REQUEST_TIMEOUT_MS = 15_000;
/** Default milliseconds between two micro-batches (segments) of a streaming job. */
export const DEFAULT_STREAM_BATCH_INTERVAL_MS = 500;

/** Runs `mrm submit`. */
export async function submitCommand(jobPath: string, options: SubmitCommandOptions): Promise<void> {
  if (options.out !== undefined && options.wait !== true) {
    throw new MrmError(ErrorCode.BadOption, '--out needs --wait (the result exists when the job has finished)');
  }
  if ((options.input === undefined) === (options.stream === undefined)) {
    throw new MrmError(ErrorCode.BadOption, 'give either --input <path...> or --stream <subject>');
  }
  if (options.batchInterval !== undefined && options.stream === undefined) {
    throw new MrmError(ErrorCode.BadOption, '--batch-interval goes with --stream');
  }
  if (options.idleTimeout !== undefined && options.stream === undefined) {
    throw new MrmError(ErrorCode.BadOption, '--idle-timeout goes with --stream');
  }
  const loaded = await loadJob(jobPath, await userCacheDir('submit-bundles'));
  const files = options.input !== undefined ? await expandInputs(options.input) : [];
  await warnAboutBinaryInputs(files);
  const transport = await connectCluster(options, 'mrm-submit');
  // Ends the wait (its subscription and status polls) whatever way this command ends.
  const stopWaiting = new AbortController();
  try {
    await publishBundle(transport, loaded.bundle);
    const inputs = await shipInputs(transport, files, options.sharedFs === true);
    const jobId = `${loaded.job.name}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const finished =
      options.wait === true ? waitForEnd(transport, jobId, options.timeout, stopWaiting.signal) : undefined;
    finished?.catch(() => {});
    await transport.flush();
    const reply = await requestCoordinator(
      transport,
      encodeApi({
        type: 'submit',
        jobId,
        job: { name: loaded.job.name, bundleHash: loaded.bundle.hash },
        inputs,
        options: {
          ...jobOptionsFromFlags(options),
          ...(options.priority !== undefined ? { priority: options.priority } : {}),
          ...(options.stream !== undefined
            ? {
                stream: {
                  subject: options.stream,
                  batchIntervalMs: options.batchInterval ?? DEFAULT_STREAM_BATCH_INTERVAL_MS,
                  ...(options.idleTimeout !== undefined ? { idleTimeoutMs: options.idleTimeout } : {}),
                },
              }
            : {}),
        },
      }),
      REQUEST_TIMEOUT_MS,
    ).catch((e: unknown) => {
      throw new MrmError(ErrorCode.Transport, `no coordinator answered on the cluster: ${(e as Error).message}`, {
        cause: e,
      });
    });
    expectReply(reply, 'status-reply');
    process.stdout.write(`${jobId}\n`);
    if (finished === undefined) return;
    const status = await finished;
    if (status.state === 'cancelled') {
      throw new MrmError(
        ErrorCode.Aborted,
        `job ${jobId} was cancelled; its result stays at its last committed version`,
      );
    }
    if (status.state === 'failed') {
      const error = status.error !== undefined ? fromWireError(status.error) : undefined;
      throw new MrmError(
        error?.code ?? ErrorCode.JobFailed,
        `job ${jobId} failed: ${error?.message ?? 'unknown error'}`,
        {
          ...(error !== undefined ? { cause: error } : {}),
        },
      );
    }
    for (const skipped of status.skippedInputs ?? []) say(`skipped ${skipped}: already merged`);
    const ms = (status.finishedAtMs ?? 0) - (status.startedAtMs ?? 0);
    const versions = status.versions ?? [];
    const dead = status.progress?.deadLetters ?? 0;
    const late = lateNote(status.progress?.lateRecords);
    const deadNote =
      (late !== '' ? `, ${late}` : '') +
      (dead > 0
        ? `, ${thousands(dead)} dead letter${dead === 1 ? '' : 's'} (mrm dead-letters --job ${loaded.job.name})`
        : '');
    say(
      `${loaded.job.name}: ${thousands(status.progress?.records ?? 0)} records, ${thousands(status.progress?.totalBatches ?? 0)} batches${deadNote}, ${seconds(ms)} s${versions.length > 0 ? ` → version ${versions.at(-1)}` : ' → nothing new to merge'}`,
    );
    if (options.out !== undefined) {
      await writeClusterResult(transport, loaded.job, { out: options.out });
    }
  } finally {
    stopWaiting.abort();
    await transport.close();
  }
}

/** How long `submit --wait` goes on with no coordinator answering before it gives up. */
export const COORDINATOR_SILENCE_MS = 30_000;
/**
 * How long it goes on instead while the lead's record says a coordinator leads or will
 * (`coordinatorExpected`): takeovers in a row on a loaded machine (each a lease plus a start-up)
 * can leave the job without an answering coordinator for longer than 30 s while it still runs.
 */
export const TAKEOVERS_SILENCE_MS = 300_000;
/** How often `submit --wait` asks for the job's status besides listening to its events. */
const STATUS_POLL_MS = 2000;

/**
 * Resolves with the job's final status (from its events, checked against status now and then).
 * Every wait is bounded: `timeoutMs` (the user's `--timeout`) for the job, and
 * {@link COORDINATOR_SILENCE_MS} without any coordinator answering; `signal` ends it early.
 */
function waitForEnd(
  transport: Transport,
  jobId: string,
  timeoutMs: number | undefined,
  signal: AbortSignal,
): Promise<JobStatus> {
  return new Promise<JobStatus>((resolve, reject) => {
    let lastAnswerMs = Date.now();
    const done = (s: JobStatus) => {
      if (s.state !== 'succeeded' && s.state !== 'failed' && s.state !== 'cancelled') return;
      cleanup();
      resolve(s);
    };
    const fail = (error: MrmError) => {
      cleanup();
      reject(error);
    };
    const sub = transport.subscribe({ kind: 'events', jobId }, (payload) => {
      const m = decodeApi(payload);
      if (m.type === 'job-event') {
        lastAnswerMs = Date.now();
        done(m.status);
      }
    });
    // Events can be missed (a reconnect); ask for the status now and then as well.
    const poll = setInterval(() => {
      transport
        .request({ kind: 'api' }, encodeApi({ type: 'status', jobId }), { timeoutMs: REQUEST_TIMEOUT_MS })
        .then((r) => {
          lastAnswerMs = Date.now();
          const s = expectReply(r, 'status-reply').jobs[0];
          if (s !== undefined) done(s);
        })
        .catch(async (e: unknown) => {
          const silentMs = Date.now() - lastAnswerMs;
          if (silentMs < COORDINATOR_SILENCE_MS) return;
          if (silentMs < TAKEOVERS_SILENCE_MS && (await coordinatorExpected(transport).catch(() => false))) return;
          fail(
            new MrmError(
              ErrorCode.Timeout,
              `no coordinator has answered for ${Math.round(silentMs / 1000)} s while waiting for job ${jobId} (${(e as Error).message}); it may still run: mrm status ${jobId}`,
            ),
          );
        });
    }, STATUS_POLL_MS);
    const timer =
      timeoutMs !== undefined
        ? setTimeout(
            () => fail(new MrmError(ErrorCode.Timeout, `job ${jobId} did not finish within ${timeoutMs} ms`)),
            timeoutMs,
          )
        : undefined;
    const onAbort = () => fail(new MrmError(ErrorCode.Timeout, `stopped waiting for job ${jobId}`));
    signal.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      sub.unsubscribe();
      clearInterval(poll);
      if (timer !== undefined) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
  });
}
