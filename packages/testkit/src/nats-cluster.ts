/**
 * Starts a real JetStream cluster of nats-servers for integration tests: every node on free
 * loopback ports (client and route), its own store directory, routes to all the others; resolves
 * once every node has seen a metadata leader elected (JetStream answers from then on). Nodes can
 * be killed one by one (SIGKILL to the node's own pid) to test fail-over.
 *
 * ```ts
 * const nats = await startNatsCluster({ nodes: 3 });
 * afterAll(() => nats.stop());
 * const transport = await NatsTransport.connect({ servers: nats.url }); // all three URLs
 * await nats.nodes[1]?.kill();
 * ```
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, MrmError } from '@mrm/core';
import { findNatsServer, freePorts, NATS_META_LEADER_PATTERN, natsServerConfig } from '@mrm/runtime';
import { kill, launch, ownStoreDir, removeOwnedStoreDir } from './nats-server.js';

/** How much of a node's log {@link NatsClusterNode.log} keeps. */
const LOG_KEPT_CHARS = 256 * 1024;

/** Options of {@link startNatsCluster}. */
export interface NatsClusterOptions {
  /** Nodes of the cluster; default 3. */
  readonly nodes?: number;
  /** Path of the nats-server binary; default the first on PATH, else /usr/sbin/nats-server. */
  readonly binary?: string;
  /** How long the cluster may take to elect its metadata leader; default 20 000 ms. */
  readonly readyTimeoutMs?: number;
  /**
   * How many times a cluster that did not come up is started again from scratch (new ports, new
   * store directories); default 2. On a loaded machine a node can miss its routes or the election
   * (seen once in CI: a node that never saw a metadata leader in 20 s); that is nats-server's
   * start-up, not what a test is about, so it is tried again rather than failing the test.
   */
  readonly retries?: number;
}

/** One node of a running cluster. */
export interface NatsClusterNode {
  /** `server_name` of the node (`n1`, `n2`…). */
  readonly name: string;
  /** `nats://127.0.0.1:<port>` of this node alone. */
  readonly url: string;
  /** Pid of the node's process (-1 once killed). */
  readonly pid: number;
  /** True until the node is killed or stopped. */
  readonly running: boolean;
  /** What the node logged since the cluster was ready (the last 256 KiB). */
  log(): string;
  /** Kills the node with SIGKILL (its own pid) and waits until it has exited. */
  kill(): Promise<void>;
}

/** A running cluster. */
export interface NatsClusterHandle {
  /** Every node's URL, comma-separated: what clients connect with, so they fail over. */
  readonly url: string;
  readonly nodes: readonly NatsClusterNode[];
  /** Stops every node still running and removes the store directories. */
  stop(): Promise<void>;
}

/** Starts a cluster of `options.nodes` nats-servers with JetStream; see the module comment. */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsClusterHandle> {
  const count = options.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1) {
    throw new MrmError(ErrorCode.BadOption, `startNatsCluster: nodes must be a positive integer, got ${count}`);
  }
  const binary = findNatsServer(options.binary);
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  const retries = options.retries ?? 2;
  const failures: string[] = [];
  for (let attempt = 0; ; attempt++) {
    try {
      return await startOnce(binary, count, readyTimeoutMs);
    } catch (error) {
      // Only a cluster that did not come up is tried again; anything else (no binary) is final.
      if (!(error instanceof MrmError) || error.code !== ErrorCode.Transport || attempt >= retries) {
        if (failures.length === 0) throw error;
        throw new MrmError(
          ErrorCode.Transport,
          `${error instanceof Error ? error.message : String(error)} (after ${failures.length} earlier attempts: ${failures.join('; ')})`,
        );
      }
      failures.push(error.message);
    }
  }
}

/** One attempt of {@link startNatsCluster}: every node launched and ready, or all of them stopped. */
async function startOnce(binary: string, count: number, readyTimeoutMs: number): Promise<NatsClusterHandle> {
  const root = mkdtempSync(join(tmpdir(), 'mrm-nats-cluster-'));
  ownStoreDir(root);
  const ports = await freePorts(2 * count);
  const clientPorts = ports.slice(0, count);
  const routePorts = ports.slice(count);
  const children: Array<ChildProcess | undefined> = [];
  const logs = clientPorts.map(() => '');
  const stopAll = async (): Promise<void> => {
    await Promise.all(children.map((c) => (c === undefined ? undefined : kill(c))));
    removeOwnedStoreDir(root);
  };
  try {
    const launched = clientPorts.map((port, i) => {
      const name = `n${i + 1}`;
      const file = join(root, `${name}.conf`);
      mkdirSync(join(root, name), { recursive: true });
      writeFileSync(
        file,
        natsServerConfig({
          serverName: name,
          port,
          storeDir: join(root, name),
          cluster: { name: 'mrm-test', routePort: routePorts[i] ?? 0, routePorts },
        }),
      );
      // A single node never elects a metadata leader: its "ready" line is enough.
      return launch(binary, ['-c', file], readyTimeoutMs, count > 1 ? NATS_META_LEADER_PATTERN : undefined).then(
        (child) => {
          children[i] = child;
          child.stderr?.on('data', (chunk: Buffer) => {
            logs[i] = (logs[i] + chunk.toString('utf8')).slice(-LOG_KEPT_CHARS);
          });
          return child;
        },
      );
    });
    // Every launch settles first: a node still starting would write into a removed folder.
    const settled = await Promise.allSettled(launched);
    const failure = settled.find((s) => s.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  } catch (error) {
    await stopAll();
    throw error;
  }
  const nodes = clientPorts.map((port, i): NatsClusterNode => {
    const url = `nats://127.0.0.1:${port}`;
    return {
      name: `n${i + 1}`,
      url,
      get pid() {
        return children[i]?.pid ?? -1;
      },
      log: () => logs[i] ?? '',
      get running() {
        const c = children[i];
        return c !== undefined && c.exitCode === null && c.signalCode === null;
      },
      async kill() {
        const c = children[i];
        if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((resolve) => c.once('exit', resolve));
        process.kill(c.pid ?? -1, 'SIGKILL');
        await exited;
      },
    };
  });
  return { url: nodes.map((n) => n.url).join(','), nodes, stop: stopAll };
}
