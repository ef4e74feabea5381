/**
 * `mrm publish <subject>`: appends lines (from files, else stdin) to the JetStream stream of
 * `subject`, creating it when missing, one record per line. A streaming job
 * (`mrm submit --stream <subject>`) reads them in sequence ranges.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { type ClusterConnectOptions, connectCluster } from '../cluster/connect.js';
import { say, thousands } from '../report.js';

/** Options of `mrm publish`. */
export interface PublishCommandOptions extends ClusterConnectOptions {
  readonly file?: string[];
  readonly quiet?: boolean;
}

async function* linesOf(inputs: readonly Readable[]): AsyncIterable<Uint8Array> {
  const encoder = new TextEncoder();
  for (const input of inputs) {
    for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
      yield encoder.encode(line);
    }
  }
}

/** Runs `mrm publish`; prints the stream's last sequence number on stdout. */
export async function publishCommand(subject: string, options: PublishCommandOptions): Promise<void> {
  const transport = await connectCluster(options, 'mrm-publish');
  try {
    await transport.streams.ensure(subject);
    const inputs = (options.file ?? []).map((path) => createReadStream(path));
    let count = 0;
    const counted = async function* (records: AsyncIterable<Uint8Array>) {
      for await (const r of records) {
        count++;
        yield r;
      }
    };
    const last = await transport.streams.append(
      subject,
      counted(linesOf(inputs.length > 0 ? inputs : [process.stdin])),
    );
    process.stdout.write(`${last}\n`);
    if (options.quiet !== true) say(`published ${thousands(count)} records to '${subject}' (last sequence ${last})`);
  } finally {
    await transport.close();
  }
}
