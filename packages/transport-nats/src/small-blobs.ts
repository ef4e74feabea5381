/**
 * Small blobs as one JetStream message each (docs/decisions/0031). A blob of at most
 * {@link smallBlobLimit} bytes is the one message on its own subject of the stream
 * `BLOBS_<prefix>` (at most one message per subject: a put replaces, a purge of the subject
 * deletes, leaving nothing behind), read back with one stream message-get. The object store spends a
 * metadata record, a chunk, a metadata lookup per put and four requests one after another per
 * delete on the same blob; a version's checkpoint copies (one per partition, most a few KB) were
 * most of a version's JetStream work that way.
 */
import type { BlobInfo } from '@mrm/core';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { Base64UrlPaddedCodec } from '@nats-io/obj';
import { lastMessages, subjectsOf } from './stream-listing.js';

/** First token of every small blob's subject (as `$O` is the object store's). */
const SUBJECT_ROOT = '$MRMB';

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

/**
 * Blob `name`, or undefined when no small blob has that name: a stream message-get, which the
 * stream's leader answers (a direct get may be answered by a replica that lags behind, and a copy
 * a version committed with must be found).
 */
export async function getSmallBlob(t: SmallBlobsTarget, name: string): Promise<Uint8Array | undefined> {
  const m = await t.jsm.streams.getMessage(smallBlobStreamName(t.prefix), {
    last_by_subj: smallBlobSubject(t.prefix, name),
  });
  // A copy, as a plain Uint8Array: the message's data may be a view into a larger buffer.
  return m === null ? undefined : new Uint8Array(m.data);
}

/** Deletes small blob `name`; returns whether there was one. */
export async function deleteSmallBlob(t: SmallBlobsTarget, name: string): Promise<boolean> {
  const r = await t.jsm.streams.purge(smallBlobStreamName(t.prefix), { filter: smallBlobSubject(t.prefix, name) });
  return r.purged > 0;
}

/** The subjects of the small blobs whose name starts with `prefix`, by name: one stream info request. */
async function subjectsUnder(t: SmallBlobsTarget, prefix: string): Promise<Map<string, string>> {
  const root = smallBlobSubject(t.prefix, '');
  const found = new Map<string, string>();
  for (const subject of await subjectsOf(t.jsm, smallBlobStreamName(t.prefix), `${root}>`)) {
    const name = Base64UrlPaddedCodec.decode(subject.slice(root.length)) as string;
    if (name.startsWith(prefix)) found.set(name, subject);
  }
  return found;
}

/** The names of the small blobs that start with `prefix` (stream info: no data is read). */
export async function smallBlobNames(t: SmallBlobsTarget, prefix: string): Promise<string[]> {
  return [...(await subjectsUnder(t, prefix)).keys()];
}

/**
 * Every small blob whose name starts with `prefix`, with its size: the names from stream info, the
 * sizes from a message-get of each (no consumer: see stream-listing.ts). Reads every such blob:
 * {@link smallBlobNames} when the sizes are not needed.
 */
export async function listSmallBlobs(t: SmallBlobsTarget, prefix: string): Promise<BlobInfo[]> {
  const subjects = await subjectsUnder(t, prefix);
  const messages = await lastMessages(t.jsm, smallBlobStreamName(t.prefix), [...subjects.values()]);
  const found: BlobInfo[] = [];
  [...subjects.keys()].forEach((name, i) => {
    const m = messages[i];
    if (m != null) found.push({ name, bytes: m.data.byteLength });
  });
  return found;
}
