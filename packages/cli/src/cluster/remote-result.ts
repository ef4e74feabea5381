/**
 * Reading a cluster job's result: the coordinator says which merge worker owns each partition
 * and which versions exist; the entries come from the owners, page by page.
 */
import {
  type CanonicalKey,
  ErrorCode,
  encodeApi,
  expectReply,
  isMrmError,
  type JobInfoReply,
  MrmError,
  type ScanOptions,
  type Transport,
  type VersionInfo,
} from '@mrm/core';
import { userCacheDir } from '../cache-dir.js';
import type { ResultJob } from '../result-output.js';
import type { ResultSource } from '../result-reader.js';
import { requestCoordinator } from './coordinator-request.js';
import { clusterJobLoader } from './job-shipping.js';

const PAGE_ENTRIES = 5000;

/** Asks the coordinator where a job's state lives. */
export async function fetchJobInfo(transport: Transport, name: string, timeoutMs: number): Promise<JobInfoReply> {
  const reply = await requestCoordinator(transport, encodeApi({ type: 'job-info', name }), timeoutMs);
  return expectReply(reply, 'job-info-reply');
}

/**
 * How long a read goes on asking the coordinator for a partition's owner after the owner stopped
 * answering (its process is gone): the coordinator moves the partition to a live merge worker,
 * which restores it from its copies, once it has found the owner lost (decisions/0037).
 */
const OWNER_GONE_RETRY_MS = 30_000;
/** The first pause before asking again; it doubles up to {@link OWNER_GONE_MAX_PAUSE_MS}. */
const OWNER_GONE_PAUSE_MS = 250;
const OWNER_GONE_MAX_PAUSE_MS = 2_000;

/**
 * True for a request nobody subscribes to (the process that did is gone), or one left unanswered
 * (it may have died with the request under way).
 */
function ownerMayBeGone(e: unknown): boolean {
  return isMrmError(e) && e.code === ErrorCode.Timeout;
}

/** A {@link ResultSource} over the merge workers of a cluster. */
export class RemoteResultSource implements ResultSource {
  constructor(
    private readonly transport: Transport,
    private info: JobInfoReply,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Sends a query about `partition` to its owner. An owner that is gone (no responders, or no
   * answer) makes it ask the coordinator where the partition is now and send it there, for up to
   * {@link OWNER_GONE_RETRY_MS} after the first failure; every answer comes from a worker
   * holding the committed state (it refuses otherwise: `assertHeld` in the merge worker).
   */
  private async ask(partition: number, body: Uint8Array): Promise<Uint8Array> {
    let deadline: number | undefined;
    for (let pause = OWNER_GONE_PAUSE_MS; ; pause = Math.min(pause * 2, OWNER_GONE_MAX_PAUSE_MS)) {
      const owner = this.owner(partition);
      try {
        return await this.transport.request({ kind: 'query', workerId: owner }, body, { timeoutMs: this.timeoutMs });
      } catch (e) {
        if (!ownerMayBeGone(e)) throw e;
        deadline ??= Date.now() + OWNER_GONE_RETRY_MS;
        if (Date.now() + pause >= deadline) {
          throw new MrmError(
            ErrorCode.Timeout,
            `merge worker ${owner}, the owner of partition ${partition} of job '${this.info.name}', does not answer, and the coordinator named no other owner within ${OWNER_GONE_RETRY_MS / 1000} s`,
            { cause: e },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, pause));
        // The coordinator may be restoring the partition elsewhere for longer than a request.
        this.info = await fetchJobInfo(this.transport, this.info.name, this.timeoutMs).catch((f: unknown) => {
          if (ownerMayBeGone(f)) return this.info;
          throw f;
        });
      }
    }
  }

  private owner(partition: number): string {
    const owner = this.info.owners[partition];
    if (owner === undefined)
      throw new MrmError(ErrorCode.State, `partition ${partition} of job '${this.info.name}' has no owner`);
    return owner;
  }

  async listVersions(): Promise<VersionInfo[]> {
    return [...this.info.versions];
  }

  async latestVersion(): Promise<VersionInfo | undefined> {
    return this.info.versions.at(-1);
  }

  async get(job: string, partition: number, key: CanonicalKey, asOf: number): Promise<unknown> {
    const reply = await this.ask(partition, encodeApi({ type: 'get', job, partition, version: asOf, key }));
    const m = expectReply(reply, 'get-reply');
    return m.found ? m.value : undefined;
  }

  async *scan(job: string, partition: number, options: ScanOptions): AsyncIterable<readonly [CanonicalKey, unknown]> {
    let after: string | undefined;
    for (;;) {
      const reply = await this.ask(
        partition,
        encodeApi({
          type: 'scan',
          job,
          partition,
          version: options.asOf,
          limit: PAGE_ENTRIES,
          ...(after !== undefined ? { after } : {}),
        }),
      );
      const page = expectReply(reply, 'scan-reply');
      for (let i = 0; i + 1 < page.entries.length; i += 2) {
        after = page.entries[i] as string;
        yield [after, page.entries[i + 1]] as const;
      }
      if (page.done) return;
    }
  }
}

/**
 * A cluster job's result, ready to read: its merge workers as the source, its finalize from the
 * cluster's bundle. `info` is fetched from the coordinator unless given (the coordinator itself
 * passes its own). What `mrm query --nats`, `submit --out` and `GET /api/query` all read through.
 */
export async function openClusterResult(
  transport: Transport,
  name: string,
  timeoutMs: number,
  known?: JobInfoReply,
): Promise<{ source: RemoteResultSource; job: ResultJob; info: JobInfoReply }> {
  const info = known ?? (await fetchJobInfo(transport, name, timeoutMs));
  const code = await clusterJobLoader(
    transport,
    await userCacheDir('query-bundles'),
  )({
    name: info.name,
    bundleHash: info.bundleHash,
  });
  return {
    source: new RemoteResultSource(transport, info, timeoutMs),
    job: {
      name: info.name,
      partitions: info.partitions,
      ...(code.finalize !== undefined ? { finalize: code.finalize } : {}),
    },
    info,
  };
}
