/**
 * Starts a real `nats-server` for integration tests: on a free loopback port, optionally with
 * JetStream in a temporary store directory, and never left behind (stop kills it, and a process
 * exit hook kills any the test forgot).
 *
 * ```ts
 * const server = await startNatsServer({ jetstream: true });
 * afterAll(() => server.stop());
 * const transport = await NatsTransport.connect({ servers: server.url });
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ErrorCode, MrmError } from '@mrm/core';
import { findNatsServer, freePort } from '@mrm/runtime';

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /** Enable JetStream (streams, KV, object store); default false. */
  readonly jetstream?: boolean;
  /** JetStream store directory; default a new temporary directory, removed by `stop()`. */
  readonly storeDir?: string;
  /** Port to listen on; default a free one. Never 4222: that is the system server's. */
  readonly port?: number;
  /** Path of the nats-server binary; default the first on PATH, else /usr/sbin/nats-server. */
  readonly binary?: string;
  /** How long to wait for "Server is ready"; default 10 000 ms. */
  readonly readyTimeoutMs?: number;
  /**
   * More configuration (nats-server's file format: `tls { … }`, `authorization { … }`, an
   * operator set-up): written to a file the server reads with `-c`; the options above win.
   */
  readonly config?: string;
}

/** A running nats-server. */
export interface NatsServerHandle {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Pid of the current process (changes on restart). */
  readonly pid: number;
  /** The JetStream store directory, when JetStream is on. */
  readonly storeDir: string | undefined;
  /** Kills the server and waits for it to exit; removes the store directory if it created it. */
  stop(): Promise<void>;
  /** Kills and starts the server again on the same port and store directory. */
  restart(): Promise<void>;
}

const STOP_GRACE_MS = 5_000;

/** Every server this process started and has not stopped yet: killed if the process exits. */
const running = new Set<ChildProcess>();
/** Store directories this module created and has not removed yet: removed if the process exits. */
const ownedStoreDirs = new Set<string>();
let exitHookInstalled = false;

/** Starts `nats-server` and resolves once it accepts connections. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const binary = findNatsServer(options.binary);
  const port = options.port ?? (await freePort());
  if (port === 4222) {
    throw new MrmError(
      ErrorCode.BadOption,
      'startNatsServer: port 4222 belongs to the system nats-server; use another',
    );
  }
  const ownsStoreDir = options.jetstream === true && options.storeDir === undefined;
  const storeDir = options.jetstream ? (options.storeDir ?? mkdtempSync(join(tmpdir(), 'mrm-nats-'))) : undefined;
  if (ownsStoreDir && storeDir !== undefined) ownStoreDir(storeDir);
  const configFile = options.config === undefined ? undefined : writeConfig(options.config);
  const args = [
    ...(configFile === undefined ? [] : ['-c', configFile]),
    ...['-a', '127.0.0.1', '-p', String(port)],
    ...(storeDir === undefined ? [] : ['-js', '-sd', storeDir]),
  ];
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;

  const removeStoreDir = (): void => {
    if (ownsStoreDir && storeDir !== undefined) removeOwnedStoreDir(storeDir);
    if (configFile !== undefined) removeOwnedStoreDir(dirname(configFile));
  };
  let child: ChildProcess;
  try {
    child = await launch(binary, args, readyTimeoutMs);
  } catch (error) {
    removeStoreDir();
    throw error;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid ?? -1;
    },
    storeDir,
    async stop() {
      await kill(child);
      removeStoreDir();
    },
    async restart() {
      await kill(child);
      child = await launch(binary, args, readyTimeoutMs);
    },
  };
}

/** Writes `config` into a new temporary folder (removed with the server); returns the file. */
function writeConfig(config: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mrm-nats-conf-'));
  ownStoreDir(dir);
  const file = join(dir, 'nats-server.conf');
  writeFileSync(file, config, { mode: 0o600 });
  return file;
}

/**
 * Spawns the server and waits for its "Server is ready" line (it logs to stderr), or for
 * `readyPattern` (a cluster node: its metadata leader line) when given.
 */
export function launch(
  binary: string,
  args: readonly string[],
  readyTimeoutMs: number,
  readyPattern: RegExp = /Server is ready/,
): Promise<ChildProcess> {
  installExitHook();
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(child);
    let log = '';
    const fail = (reason: string): void => {
      clearTimeout(timer);
      const tail = log.trim().split('\n').slice(-3).join(' | ');
      const error = new MrmError(
        ErrorCode.Transport,
        `nats-server ${args.join(' ')} ${reason}${tail ? `: ${tail}` : ''}`,
      );
      // Rejected once the process is gone, so the caller can remove its store directory safely.
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        running.delete(child);
        reject(error);
        return;
      }
      child.off('exit', onEarlyExit);
      child.once('exit', () => {
        running.delete(child);
        reject(error);
      });
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => fail(`was not ready after ${readyTimeoutMs} ms`), readyTimeoutMs);
    const onData = (chunk: Buffer): void => {
      log += chunk.toString('utf8');
      if (readyPattern.test(log)) {
        clearTimeout(timer);
        child.off('exit', onEarlyExit);
        child.stderr?.off('data', onData);
        child.stderr?.resume(); // keep reading so a chatty server never blocks on a full pipe
        resolve(child);
      }
    };
    const onEarlyExit = (code: number | null, signal: string | null): void => {
      running.delete(child);
      fail(`exited before it was ready (${signal ?? `code ${code}`})`);
    };
    child.stderr?.on('data', onData);
    child.once('exit', onEarlyExit);
    child.once('error', (error) => fail(`could not be started (${error.message})`));
  });
}

/** Terminates a server (SIGTERM, then SIGKILL after a grace period) and waits for the exit. */
export function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    running.delete(child);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(force);
      running.delete(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Records a directory to remove when the test process exits, should the test not remove it. */
export function ownStoreDir(dir: string): void {
  ownedStoreDirs.add(dir);
}

/** Removes a directory {@link ownStoreDir} recorded, and forgets it. */
export function removeOwnedStoreDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  ownedStoreDirs.delete(dir);
}

/**
 * Kills leftover servers and removes their store directories when the test process exits, even
 * after a failed test skipped `stop()` (the directory may be half-written: removal is best effort).
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
    for (const dir of ownedStoreDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
  });
}
