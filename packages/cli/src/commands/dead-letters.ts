/** `mrm dead-letters`: the records and keys a job set aside (`--on-error skip`), as JSON Lines. */
import { encodeApi, expectReply, type StoredDeadLetter, type Transport } from '@mrm/core';
import { type ClusterConnectOptions, connectCluster } from '../cluster/connect.js';
import { fetchJobInfo, OwnerRequests } from '../cluster/owner-requests.js';
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

/**
 * Every dead letter of a job, partition by partition, each from the partition's owner, page by
 * page. An owner that is gone is asked about again as a query does ({@link OwnerRequests}); a
 * partition whose owner changed under way is listed again from its new owner, from the start.
 */
async function* clusterDeadLetters(transport: Transport, job: string): AsyncIterable<StoredDeadLetter> {
  const requests = new OwnerRequests(transport, await fetchJobInfo(transport, job, QUERY_TIMEOUT_MS), QUERY_TIMEOUT_MS);
  const version = requests.info.versions.at(-1)?.version ?? 0;
  if (version === 0) return;
  const all: StoredDeadLetter[] = [];
  for (let partition = 0; partition < requests.info.partitions; partition++) {
    let letters: StoredDeadLetter[] = [];
    for (let skip = 0; ; ) {
      const asked = requests.owner(partition);
      const reply = await requests.ask(
        partition,
        encodeApi({ type: 'dead-letters', job, version, partition, skip, limit: PAGE_LETTERS }),
      );
      if (requests.owner(partition) !== asked) {
        // Answered by the partition's new owner, whose pages need not be the old one's.
        letters = [];
        skip = 0;
        continue;
      }
      const page = expectReply(reply, 'dead-letters-reply');
      // A worker of an older version answers with every letter it holds: the partition's are these.
      letters.push(...page.letters.filter((d) => d.partition === partition));
      skip += page.letters.length;
      if (page.done) break;
    }
    all.push(...letters);
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
