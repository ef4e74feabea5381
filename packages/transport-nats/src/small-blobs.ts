/**
 * Small blobs as one JetStream message each (docs/decisions/0031). A blob of at most
 * {@link smallBlobLimit} bytes is the one message on its own subject of the stream
 * `BLOBS_<prefix>` (at most one message per subject: a put replaces, a purge of the subject
 * deletes, leaving nothing behind), read back with one direct get. The object store spends a
 * metadata record, a chunk, a metadata lookup per put and four requests one after another per
 * delete on the same blob; a version's checkpoint copies (one per partition, most a few KB) were
 * most of a version's JetStream work that way.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { Base64UrlPaddedCodec } from '@nats-io/obj';

/** Largest blob kept as one message (bounded by half the server's max_payload too). */
export const SMALL_BLOB_MAX_BYTES = 256 * 1024;

/** The largest blob kept as one message on a server with this max_payload. */
export function smallBlobLimit(maxPayloadBytes: number): number {
  return Math.min(SMALL_BLOB_MAX_BYTES, Math.floor(maxPayloadBytes / 2));
}

/** Stream of the small blobs of transport prefix `prefix`. */
export function smallBlobStreamName(prefix: string): string {
  return `BLOBS_${prefix}`;
}

/** Subject of small blob `name` (base64url, padded, as the object store encodes names). */
export function smallBlobSubject(prefix: string, name: string): string {
  return `${SUBJECT_ROOT}.${prefix}.${Base64UrlPaddedCodec.encode(name)}`;
}

/** First token of every small blob's subject (as `$O` is the object store's). */
const SUBJECT_ROOT = '$MRMB';

/** Header a headers-only consumer sets to the size of the message it left out. */
const MSG_SIZE_HEADER = 'Nats-Msg-Size';

/** What the small-blob functions need of a connection (the stream exists: {@link ensureSmallBlobStream}). */
export interface SmallBlobsTarget {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly prefix: string;
  readonly replicas: number;
}

/** Creates the stream when it does not exist yet (another process may create it meanwhile). */
export async function ensureSmallBlobStream(t: SmallBlobsTarget): Promise<void> {
  const name = smallBlobStreamName(t.prefix);
  try {
    await t.jsm.streams.info(name);
  } catch {
    const config = {
      name,
      subjects: [`${SUBJECT_ROOT}.${t.prefix}.>`],
      max_msgs_per_subject: 1,
      allow_direct: true,
      num_replicas: t.replicas,
    };
    await t.jsm.streams.add(config).catch(async (e: unknown) => {
      if ((await t.jsm.streams.info(name).catch(() => undefined)) === undefined) throw e;
    });
  }
}

/** Writes `data` as blob `name`; resolves once JetStream acknowledged it (it replaced any older one). */
export async function putSmallBlob(t: SmallBlobsTarget, name: string, data: Uint8Array): Promise<void> {
  await t.js.publish(smallBlobSubject(t.prefix, name), data);
}

/** Blob `name`, or undefined when no small blob has that name. */
export async function getSmallBlob(t: SmallBlobsTarget, name: string): Promise<Uint8Array | undefined> {
  const m = await t.jsm.direct.getMessage(smallBlobStreamName(t.prefix), {
    last_by_subj: smallBlobSubject(t.prefix, name),
  });
  // A copy, as a plain Uint8Array: the message's data is a view into the socket's read buffer.
  return m === null ? undefined : new Uint8Array(m.data);
}

/** Deletes small blob `name`; returns whether there was one. */
export async function deleteSmallBlob(t: SmallBlobsTarget, name: string): Promise<boolean> {
  const r = await t.jsm.streams.purge(smallBlobStreamName(t.prefix), { filter: smallBlobSubject(t.prefix, name) });
  return r.purged > 0;
}

/**
 * Every small blob whose name starts with `prefix`, with its size: one headers-only pass over the
 * stream (the payloads are not sent), names decoded from the subjects.
 */
export async function listSmallBlobs(t: SmallBlobsTarget, prefix: string): Promise<{ name: string; bytes: number }[]> {
  const stream = smallBlobStreamName(t.prefix);
  const { state } = await t.jsm.streams.info(stream);
  if (state.messages === 0) return [];
  const subjectStart = smallBlobSubject(t.prefix, '').length;
  const consumer = await t.js.consumers.get(stream, { headers_only: true });
  const found: { name: string; bytes: number }[] = [];
  try {
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 2000 });
      let pending = -1;
      let got = 0;
      for await (const m of batch) {
        got++;
        pending = m.info.pending;
        const name = Base64UrlPaddedCodec.decode(m.subject.slice(subjectStart)) as string;
        if (name.startsWith(prefix)) found.push({ name, bytes: Number(m.headers?.get(MSG_SIZE_HEADER) ?? 0) });
        if (pending === 0) break;
      }
      // Done when the last message read had nothing after it (or the stream ran dry meanwhile).
      if (pending === 0 || got === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => {});
  }
  return found;
}
