/**
 * Reads one blob of a JetStream object store bucket laid out as `@nats-io/obj` (and object-put.ts)
 * writes it, without a consumer: the metadata by "last message on its subject", then each chunk by
 * "next message on the chunk subject from a sequence", all stream message-get requests answered by
 * the stream's leader. The library's `get` creates an ephemeral push consumer per read instead,
 * and on a NATS cluster that lost a node (nats-server 2.9) the consumer is often placed on the
 * dead peer: its creation then waits out the 5 s request timeout, again and again (measured: one
 * read in two took 5–30 s for as long as the node stayed away). A message-get fails only while
 * the stream has no leader, which the caller's retry (retry.ts) waits out.
 *
 * The chunks are read by *direct* get (the object store's stream allows it): the answer is the
 * chunk's raw bytes, where the leader's message-get answers JSON with the data in base64, which
 * cost both sides most of a restore's time (decisions/0047). Any replica may answer a direct get;
 * one that lags behind finds no chunk (a chunk's subject holds nothing else), and the chunk is
 * then asked of the leader, as is every chunk of a stream without direct access. The metadata is
 * always the leader's, and the data must match its size and SHA-256 digest either way.
 */
import { createHash } from 'node:crypto';
import { ErrorCode, MrmError } from '@mrm/core';
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import { type ObjectMeta, objectDigest, objectMetaSubject, objectStreamName } from './object-put.js';

/** What {@link getObject} needs of a connection. */
export interface ObjectGetSource {
  readonly jsm: JetStreamManager;
  /** The object store bucket (its stream is `OBJ_<bucket>`). */
  readonly bucket: string;
}

/** Asks the stream for a message; the server's query (`next_by_subj` from `seq`) is wider than nats.js types it. */
type MessageQuery = { readonly last_by_subj: string } | { readonly seq: number; readonly next_by_subj: string };

function getMessage(jsm: JetStreamManager, stream: string, query: MessageQuery): Promise<StoredMsg | null> {
  return jsm.streams.getMessage(stream, query as Parameters<JetStreamManager['streams']['getMessage']>[1]);
}

/** A chunk's bytes and sequence. */
interface Chunk {
  readonly data: Uint8Array;
  readonly seq: number;
}

/**
 * Streams (per connection's manager) whose direct get failed: they do not allow direct access (or
 * it does not answer), and are read from the leader from then on instead of waiting each time.
 */
const noDirect = new WeakMap<JetStreamManager, Set<string>>();

/** The next message on `subject` from `seq`: by direct get, else (none there, or no direct access) the leader's. */
async function getChunk(jsm: JetStreamManager, stream: string, seq: number, subject: string): Promise<Chunk | null> {
  const refused = noDirect.get(jsm);
  if (refused?.has(stream) !== true) {
    try {
      const direct = await jsm.direct.getMessage(stream, { seq, next_by_subj: subject });
      if (direct !== null && direct.subject === subject) return { data: direct.data, seq: direct.seq };
    } catch {
      if (refused === undefined) noDirect.set(jsm, new Set([stream]));
      else refused.add(stream);
    }
  }
  return getMessage(jsm, stream, { seq, next_by_subj: subject });
}

/**
 * The data of object `name`, or undefined when there is none (never written, or deleted). Fails
 * when a chunk is missing or the data does not match the object's size and SHA-256 digest.
 */
export async function getObject(source: ObjectGetSource, name: string): Promise<Uint8Array | undefined> {
  const { jsm, bucket } = source;
  const stream = objectStreamName(bucket);
  const metaMessage = await getMessage(jsm, stream, { last_by_subj: objectMetaSubject(bucket, name) });
  if (metaMessage === null) return undefined;
  const meta = metaMessage.json<ObjectMeta>();
  if (meta.deleted) return undefined;
  const data = new Uint8Array(meta.size);
  const sha = createHash('sha256');
  const chunkSubject = `$O.${bucket}.C.${meta.nuid}`;
  let at = 0;
  let seq = 1;
  for (let chunk = 0; chunk < meta.chunks; chunk++) {
    const m = await getChunk(jsm, stream, seq, chunkSubject);
    if (m === null || at + m.data.length > meta.size) {
      throw new MrmError(
        ErrorCode.Transport,
        `blob '${name}' is damaged: chunk ${chunk + 1} of ${meta.chunks} is missing or too long`,
      );
    }
    data.set(m.data, at);
    sha.update(m.data);
    at += m.data.length;
    seq = m.seq + 1;
  }
  if (at !== meta.size || objectDigest(sha.digest()) !== meta.digest) {
    throw new MrmError(ErrorCode.Transport, `blob '${name}' is damaged: its data does not match its size and digest`);
  }
  return data;
}
