/**
 * Reading a cluster job's result: the coordinator says which merge worker owns each partition
 * and which versions exist; the entries come from the owners, page by page.
 */
import {
  type CanonicalKey,
  encodeApi,
  expectReply,
  type JobInfoReply,
  type ScanOptions,
  type Transport,
  type VersionInfo,
} from '@mrm/core';
import { userCacheDir } from '../cache-dir.js';
import type { ResultJob } from '../result-output.js';
import type { ResultSource } from '../result-reader.js';
import { clusterJobLoader } from './job-shipping.js';
import { fetchJobInfo, OwnerRequests } from './owner-requests.js';

const PAGE_ENTRIES = 5000;

/** A {@link ResultSource} over the merge workers of a cluster. */
export class RemoteResultSource implements ResultSource {
  private readonly requests: OwnerRequests;

  constructor(transport: Transport, info: JobInfoReply, timeoutMs: number) {
    this.requests = new OwnerRequests(transport, info, timeoutMs);
  }

  private get info(): JobInfoReply {
    return this.requests.info;
  }

  async listVersions(): Promise<VersionInfo[]> {
    return [...this.info.versions];
  }

  async latestVersion(): Promise<VersionInfo | undefined> {
    return this.info.versions.at(-1);
  }

  async get(job: string, partition: number, key: CanonicalKey, asOf: number): Promise<unknown> {
    const reply = await this.requests.ask(partition, encodeApi({ type: 'get', job, partition, version: asOf, key }));
    const m = expectReply(reply, 'get-reply');
    return m.found ? m.value : undefined;
  }

  async *scan(job: string, partition: number, options: ScanOptions): AsyncIterable<readonly [CanonicalKey, unknown]> {
    let after: string | undefined;
    for (;;) {
      const reply = await this.requests.ask(
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
