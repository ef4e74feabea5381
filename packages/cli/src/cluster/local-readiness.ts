/**
 * Waiting for a starting local cluster: first the nats-server accepts connections, then the
 * coordinator answers `status` listing every expected worker alive. A process that exits on the
 * way, the deadline, or an abort (Ctrl-C) ends the wait with one line naming the log to read.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { ErrorCode, encodeApi, errorMessage, expectReply, MrmError } from '@mrm/core';
import { NatsTransport } from '@mrm/transport-nats';
import { type ClusterPaths, lastLogLine } from './local-cluster-files.js';
import { acceptsConnections, isRunning } from './local-processes.js';

/** How often a condition is checked again while waiting. */
const POLL_MS = 100;
/** How long one status request to the coordinator may take. */
const STATUS_TIMEOUT_MS = 5_000;

/** What the waits need to know. */
export interface ReadinessContext {
  readonly paths: ClusterPaths;
  /** Epoch ms after which the wait fails. */
  readonly deadline: number;
  /** Overall time allowed, for the error message. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** Throws when a started process has exited: it will not become ready. */
function assertAlive(ctx: ReadinessContext, pids: Readonly<Record<string, number>>): void {
  for (const [name, pid] of Object.entries(pids)) {
    if (isRunning(pid)) continue;
    const file = ctx.paths.log(name);
    const last = lastLogLine(file);
    throw new MrmError(
      ErrorCode.Internal,
      `${name} of the local cluster exited during start-up${last ? `: ${last}` : ''} (read ${file})`,
    );
  }
}

/** Throws on abort or after the deadline (with `waitingFor` and the logs to read). */
function assertInTime(ctx: ReadinessContext, waitingFor: string, logs: readonly string[]): void {
  if (ctx.signal?.aborted === true) {
    throw new MrmError(ErrorCode.Aborted, `start of the local cluster in ${ctx.paths.root} was interrupted`);
  }
  if (Date.now() > ctx.deadline) {
    throw new MrmError(
      ErrorCode.Timeout,
      `the local cluster in ${ctx.paths.root} was not ready after ${ctx.timeoutMs} ms: ${waitingFor} (read ${logs.join(', ')})`,
    );
  }
}

/** Resolves once the nats-server `name` (pid `pid`) accepts connections on `port`. */
export async function waitForNats(ctx: ReadinessContext, name: string, pid: number, port: number): Promise<void> {
  for (;;) {
    if (await acceptsConnections(port)) return;
    assertAlive(ctx, { [name]: pid });
    assertInTime(ctx, `${name} does not accept connections on port ${port}`, [ctx.paths.log(name)]);
    await delay(POLL_MS);
  }
}

/**
 * Resolves with the match once the log of process `name` (pid `pid`) holds a line matching
 * `pattern` after byte `fromOffset` (where this start's lines begin: logs are appended to across
 * starts).
 */
export async function waitForLogLine(
  ctx: ReadinessContext,
  name: string,
  pid: number,
  pattern: RegExp,
  fromOffset: number,
): Promise<RegExpExecArray> {
  const file = ctx.paths.log(name);
  for (;;) {
    const match = pattern.exec(logTail(file, fromOffset));
    if (match !== null) return match;
    assertAlive(ctx, { [name]: pid });
    assertInTime(ctx, `${name} has not logged ${pattern}`, [file]);
    await delay(POLL_MS);
  }
}

/** The text of `file` from byte `offset` on ('' when there is none). */
function logTail(file: string, offset: number): string {
  try {
    return readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

/**
 * What to say of workers that run but are not listed alive at the coordinator: their names and
 * what the first of them logged last (where it stopped on its way to its first heartbeat).
 */
function notRegistered(ctx: ReadinessContext, missing: readonly string[]): string {
  const [first] = missing;
  const last = first !== undefined ? lastLogLine(ctx.paths.log(first)) : '';
  const who = `worker${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
  return `${who} running but not registered with the coordinator${last ? ` (${first} last logged: ${last})` : ''}`;
}

/**
 * Resolves once the coordinator at `url` lists every one of `workerIds` alive, while every
 * process of `pids` keeps running.
 */
export async function waitForWorkers(
  ctx: ReadinessContext,
  url: string,
  pids: Readonly<Record<string, number>>,
  workerIds: readonly string[],
  auth?: { readonly user: string; readonly pass: string } | { readonly token: string },
): Promise<void> {
  const transport = await NatsTransport.connect({
    servers: url,
    name: 'mrm-up',
    ...(auth !== undefined ? { security: auth } : {}),
  });
  try {
    for (;;) {
      let missing: readonly string[] = workerIds;
      let coordinatorProblem: string | undefined;
      try {
        // A loaded machine may take a while to answer (the coordinator asks every worker for
        // fresh counters): wait up to STATUS_TIMEOUT_MS, never past the deadline.
        const reply = await transport.request({ kind: 'api' }, encodeApi({ type: 'status' }), {
          timeoutMs: Math.max(POLL_MS, Math.min(STATUS_TIMEOUT_MS, ctx.deadline - Date.now())),
        });
        const alive = new Set(
          expectReply(reply, 'status-reply')
            .workers.filter((w) => w.alive)
            .map((w) => w.workerId),
        );
        missing = workerIds.filter((id) => !alive.has(id));
        if (missing.length === 0) return;
      } catch (e) {
        // Not subscribed yet (no responders) or busy starting: ask again until the deadline.
        coordinatorProblem = errorMessage(e);
      }
      assertAlive(ctx, pids);
      if (coordinatorProblem !== undefined) {
        assertInTime(ctx, `the coordinator does not answer (${coordinatorProblem})`, [ctx.paths.log('coordinator')]);
      } else {
        assertInTime(
          ctx,
          notRegistered(ctx, missing),
          missing.map((id) => ctx.paths.log(id)),
        );
      }
      await delay(POLL_MS);
    }
  } finally {
    await transport.close();
  }
}
