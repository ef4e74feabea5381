/**
 * The bare NATS loop the push suite compares MRM's push against: one publisher process and one
 * subscriber process (lib/cluster-bare-nats-peer.ts) on a given server, a fixed number of equal
 * payloads, throughput measured at the subscriber from the first message to the last.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { BenchFailure } from '../suite.js';

const PEER = fileURLToPath(new URL('./cluster-bare-nats-peer.js', import.meta.url));

/** What to send. */
export interface BareLoopSpec {
  readonly url: string;
  readonly payloadBytes: number;
  /** Bytes to send in all (rounded up to whole payloads). */
  readonly totalBytes: number;
  /** The publisher waits for the server's flush after this many bytes (MRM's credit window: 8 MiB). */
  readonly windowBytes: number;
  /** Give up after this long; default 120 s. */
  readonly timeoutMs?: number;
}

/** What the subscriber saw. */
export interface BareLoopResult {
  readonly payloadBytes: number;
  readonly messages: number;
  readonly bytes: number;
  /** First to last message at the subscriber. */
  readonly seconds: number;
  /** Bytes after the first message over `seconds`. */
  readonly bytesPerSecond: number;
  readonly messagesPerSecond: number;
  /** The publisher's own time to publish and flush everything. */
  readonly publisherSeconds: number;
}

interface Peer {
  readonly child: ChildProcess;
  readonly lines: AsyncIterator<string>;
}

function startPeer(args: readonly string[]): Peer {
  const child = spawn(process.execPath, [PEER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let buffered = '';
  child.stdout?.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      queue.push(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
    }
    wake?.();
  });
  child.on('close', (code) => {
    ended = true;
    if (code !== 0 && code !== null) queue.push(`!exit ${code}: ${stderr.trim().split('\n').slice(-2).join(' | ')}`);
    wake?.();
  });
  const lines: AsyncIterator<string> = {
    async next() {
      while (queue.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
      const line = queue.shift();
      if (line === undefined) return { done: true, value: undefined };
      if (line.startsWith('!exit')) throw new BenchFailure(`a bare NATS peer failed (${line.slice(1)})`);
      return { done: false, value: line };
    },
  };
  return { child, lines };
}

async function lineOf(peer: Peer, what: string): Promise<string> {
  const r = await peer.lines.next();
  if (r.done === true) throw new BenchFailure(`the bare NATS ${what} ended without a result`);
  return r.value;
}

/** Runs the loop once. */
export async function bareNatsLoop(spec: BareLoopSpec): Promise<BareLoopResult> {
  const subject = `bench.bare.${randomBytes(6).toString('hex')}`;
  const messages = Math.ceil(spec.totalBytes / spec.payloadBytes);
  const sub = startPeer(['sub', spec.url, subject, String(messages)]);
  let pub: Peer | undefined;
  const timeoutMs = spec.timeoutMs ?? 120_000;
  const timer = setTimeout(() => {
    sub.child.kill('SIGKILL');
    pub?.child.kill('SIGKILL');
  }, timeoutMs);
  try {
    if ((await lineOf(sub, 'subscriber')) !== 'ready') throw new BenchFailure('the bare NATS subscriber did not start');
    pub = startPeer(['pub', spec.url, subject, String(spec.payloadBytes), String(messages), String(spec.windowBytes)]);
    const [received, published] = await Promise.all([lineOf(sub, 'subscriber'), lineOf(pub, 'publisher')]);
    const r = JSON.parse(received) as {
      messages: number;
      bytes: number;
      firstToLastMs: number;
      bytesAfterFirst: number;
    };
    const p = JSON.parse(published) as { publishMs: number };
    const seconds = r.firstToLastMs / 1000;
    if (r.bytes !== messages * spec.payloadBytes) {
      throw new BenchFailure(`the bare NATS subscriber got ${r.bytes} bytes, expected ${messages * spec.payloadBytes}`);
    }
    return {
      payloadBytes: spec.payloadBytes,
      messages: r.messages,
      bytes: r.bytes,
      seconds,
      bytesPerSecond: seconds > 0 ? r.bytesAfterFirst / seconds : 0,
      messagesPerSecond: seconds > 0 ? (r.messages - 1) / seconds : 0,
      publisherSeconds: p.publishMs / 1000,
    };
  } catch (e) {
    throw e instanceof BenchFailure ? e : new BenchFailure(`the bare NATS loop failed: ${String(e)}`);
  } finally {
    clearTimeout(timer);
    // No-ops for peers that have exited; a peer still running after a failure is stopped here.
    sub.child.kill('SIGKILL');
    pub?.child.kill('SIGKILL');
  }
}
