/** `mrm dead-letters`: the records and keys a job set aside (`--on-error skip`), as JSON Lines. */
import { encodeApi, expectReply, type StoredDeadLetter, type Transport } from '@mrm/core';
import { type ClusterConnectOptions, connectCluster } from '../cluster/connect.js';
import { fetchJobInfo } from '../cluster/remote-result.js';
import { withJobStore } from './query.js';

/** Options of `mrm dead-letters`. */
export interface DeadLettersCommandOptions extends ClusterConnectOptions {
  readonly state?: string;
  readonly job: string;
}

const QUERY_TIMEOUT_MS = 30_000;
const PAGE_LETTERS = 1000;

/** One output line: the job first, then where, what and when. */
function line(job: string, d: StoredDeadLetter): string {
  const { stage, batchId, source, line: at, offset, key, message, atMs, version, partition } = d;
  return `${JSON.stringify({
    job,
    stage,
    ...(source !== undefined ? { source } : {}),
    ...(at !== undefined ? { line: at } : {}),
    ...(offset !== undefined ? { offset } : {}),
    ...(key !== undefined ? { key: JSON.parse(key) as unknown } : {}),
    message,
    batch: batchId,
    version,
    partition,
    at: new Date(atMs).toISOString(),
  })}\n`;
}

/** Every dead letter of a job, each from its partition's owner, page by page. */
async function* clusterDeadLetters(transport: Transport, job: string): AsyncIterable<StoredDeadLetter> {
  const info = await fetchJobInfo(transport, job, QUERY_TIMEOUT_MS);
  const version = info.versions.at(-1)?.version ?? 0;
  if (version === 0) return;
  const all: StoredDeadLetter[] = [];
  for (const worker of new Set(info.owners)) {
    for (let skip = 0; ; ) {
      const reply = await transport.request(
        { kind: 'query', workerId: worker },
        encodeApi({ type: 'dead-letters', job, version, skip, limit: PAGE_LETTERS }),
        { timeoutMs: QUERY_TIMEOUT_MS },
      );
      const page = expectReply(reply, 'dead-letters-reply');
      // A worker may still hold letters of partitions that moved away from it: their owner lists them.
      all.push(...page.letters.filter((d) => info.owners[d.partition] === worker));
      skip += page.letters.length;
      if (page.done) break;
    }
  }
  yield* all.sort((a, b) => a.version - b.version || a.partition - b.partition);
}

/** Runs `mrm dead-letters`: on a local --state, else on the cluster at --nats / MRM_NATS_URL. */
export async function deadLettersCommand(options: DeadLettersCommandOptions): Promise<void> {
  const { job } = options;
  if (options.state === undefined) {
    const transport = await connectCluster(options, 'mrm-dead-letters');
    try {
      for await (const d of clusterDeadLetters(transport, job)) process.stdout.write(line(job, d));
    } finally {
      await transport.close();
    }
    return;
  }
  await withJobStore(options.state, job, async (store) => {
    const latest = await store.latestVersion(job);
    if (latest === undefined) return;
    for await (const d of store.deadLetters(job, latest.version)) process.stdout.write(line(job, d));
  });
}
