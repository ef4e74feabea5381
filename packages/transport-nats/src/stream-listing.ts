/**
 * Listing the keys of a KV bucket and the objects of an object store without a consumer: the
 * subjects that hold messages come from stream info (paged by nats.js), and the last message of
 * each from stream message-get requests, a window of them in flight. The libraries' `keys()` and
 * `list()` create an ephemeral consumer instead, which on a NATS cluster that lost a node (nats-server
 * 2.9) is often placed on the dead peer and waits out the 5 s request timeout, again and again
 * (measured: one listing in three took 5–10 s for as long as the node stayed away). Both requests
 * here are answered by the stream's leader; they fail only while it has none, which the caller's
 * retry (retry.ts) waits out.
 */

import type { BlobInfo } from '@mrm/core';
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import { type ObjectMeta, objectStreamName } from './object-put.js';

/** Message-get requests in flight at once while a listing reads the last message of each subject. */
const GET_WINDOW = 64;
/** The header a KV bucket marks deletes and purges with (`@nats-io/kv`'s `kvOperationHdr`). */
const KV_OPERATION_HEADER = 'KV-Operation';

/** Every subject of `stream` matching `filter` that holds a message now. */
export async function subjectsOf(jsm: JetStreamManager, stream: string, filter: string): Promise<string[]> {
  const info = await jsm.streams.info(stream, { subjects_filter: filter });
  return Object.keys(info.state.subjects ?? {});
}

/** The last message on each of `subjects` (null where there is none any more), in order. */
export async function lastMessages(
  jsm: JetStreamManager,
  stream: string,
  subjects: readonly string[],
): Promise<(StoredMsg | null)[]> {
  const out: (StoredMsg | null)[] = [];
  for (let at = 0; at < subjects.length; at += GET_WINDOW) {
    const window = subjects.slice(at, at + GET_WINDOW);
    out.push(...(await Promise.all(window.map((s) => jsm.streams.getMessage(stream, { last_by_subj: s })))));
  }
  return out;
}

/** The (encoded) keys of KV bucket `bucket` that hold a value: deleted and purged keys left out. */
export async function listKvKeys(jsm: JetStreamManager, bucket: string): Promise<string[]> {
  const stream = `KV_${bucket}`;
  const prefix = `$KV.${bucket}.`;
  const subjects = await subjectsOf(jsm, stream, `${prefix}>`);
  const last = await lastMessages(jsm, stream, subjects);
  return subjects
    .filter((_, i) => {
      const operation = last[i]?.header?.get(KV_OPERATION_HEADER) ?? '';
      return last[i] != null && operation !== 'DEL' && operation !== 'PURGE';
    })
    .map((subject) => subject.slice(prefix.length));
}

/** Every object of object store `bucket` (name and size), deleted ones left out. */
export async function listObjects(jsm: JetStreamManager, bucket: string): Promise<BlobInfo[]> {
  const stream = objectStreamName(bucket);
  const subjects = await subjectsOf(jsm, stream, `$O.${bucket}.M.>`);
  const objects: BlobInfo[] = [];
  for (const m of await lastMessages(jsm, stream, subjects)) {
    const meta = m?.json<ObjectMeta>();
    if (meta !== undefined && !meta.deleted) objects.push({ name: meta.name, bytes: meta.size });
  }
  return objects;
}
