/**
 * Writes one blob into a JetStream object store bucket exactly as `@nats-io/obj`'s `put` lays it
 * out — the data in chunks on `$O.<bucket>.C.<nuid>`, then the object's metadata (name, size,
 * chunk count, SHA-256 digest) on `$O.<bucket>.M.<name, base64url padded>` as a subject rollup,
 * then the chunks of the object it replaced are purged — so the library reads, lists and deletes
 * it unchanged. What differs is the cost (docs/decisions/0026): the library publishes one chunk at
 * a time, each acknowledgement awaited before the next, and computes the digest in JavaScript; here
 * up to {@link PUT_WINDOW} chunks are in flight, their acknowledgements awaited together, and the
 * digest is node:crypto's. In a merge worker's profile the library's put (its JavaScript SHA-256
 * most of it) had been the largest part of a checkpoint copy's CPU.
 */
import { createHash } from 'node:crypto';
import { type JetStreamClient, type JetStreamManager, JsHeaders, type PubAck } from '@nats-io/jetstream';
import { Base64UrlPaddedCodec } from '@nats-io/obj';
import { headers, nuid } from '@nats-io/transport-node';

/** Chunks published before the first acknowledgement is awaited. */
export const PUT_WINDOW = 8;
/** Largest chunk (bounded by half the server's max_payload too). The library's default is 128 KiB. */
export const MAX_CHUNK_BYTES = 512 * 1024;

/** What {@link putObject} needs of a connection. */
export interface ObjectPutTarget {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** The object store bucket (its stream is `OBJ_<bucket>`). */
  readonly bucket: string;
  readonly maxPayloadBytes: number;
}

/** The metadata record of an object, as `@nats-io/obj` writes and reads it. */
export interface ObjectMeta {
  readonly bucket: string;
  readonly nuid: string;
  readonly size: number;
  readonly chunks: number;
  readonly name: string;
  readonly description: string;
  readonly options: { readonly max_chunk_size: number };
  readonly mtime: string;
  readonly digest: string;
  readonly deleted: boolean;
}

/** Metadata subject of object `name` in `bucket`. */
export function objectMetaSubject(bucket: string, name: string): string {
  return `$O.${bucket}.M.${Base64UrlPaddedCodec.encode(name)}`;
}

/** The `digest` field of an object's metadata for the SHA-256 `sha` of its data. */
export function objectDigest(sha: Uint8Array): string {
  return `SHA-256=${Base64UrlPaddedCodec.encode(sha)}`;
}

/** Stream of the object store `bucket`. */
export function objectStreamName(bucket: string): string {
  return `OBJ_${bucket}`;
}

/**
 * Puts `data` under `name`; resolves once JetStream has acknowledged every chunk and the metadata.
 * `data` must not change until then (its chunks are published as views, not copies). On a failure
 * the chunks written so far are purged (best effort) and the object keeps its previous content.
 */
export async function putObject(target: ObjectPutTarget, name: string, data: Uint8Array): Promise<void> {
  const { js, jsm, bucket } = target;
  const stream = objectStreamName(bucket);
  const metaSubject = objectMetaSubject(bucket, name);
  const id = nuid.next();
  const chunkSubject = `$O.${bucket}.C.${id}`;
  const chunkBytes = Math.max(1024, Math.min(MAX_CHUNK_BYTES, Math.floor(target.maxPayloadBytes / 2)));
  // The object this one replaces (if any), looked up while the chunks go out.
  const previous = jsm.streams
    .getMessage(stream, { last_by_subj: metaSubject })
    .then((m) => (m === null ? undefined : (m.json() as ObjectMeta)))
    .catch(() => undefined);
  const sha = createHash('sha256');
  let chunks = 0;
  try {
    const inFlight: Promise<PubAck>[] = [];
    for (let at = 0; at < data.byteLength; at += chunkBytes) {
      const chunk = data.subarray(at, Math.min(data.byteLength, at + chunkBytes));
      sha.update(chunk);
      chunks++;
      const ack = js.publish(chunkSubject, chunk);
      // Awaited below (in order); a rejection seen first by Promise.all is not an unhandled one.
      ack.catch(() => {});
      inFlight.push(ack);
      if (inFlight.length >= PUT_WINDOW) await inFlight.shift();
    }
    await Promise.all(inFlight);
    const meta: ObjectMeta = {
      bucket,
      nuid: id,
      size: data.byteLength,
      chunks,
      name,
      description: '',
      options: { max_chunk_size: chunkBytes },
      mtime: new Date().toISOString(),
      digest: objectDigest(sha.digest()),
      deleted: false,
    };
    const h = headers();
    h.set(JsHeaders.RollupHdr, JsHeaders.RollupValueSubject);
    await js.publish(metaSubject, JSON.stringify(meta), { headers: h });
  } catch (error) {
    await jsm.streams.purge(stream, { filter: chunkSubject }).catch(() => {});
    throw error;
  }
  const old = await previous;
  if (old !== undefined && old.nuid !== id) {
    // As the library does: the new object is live; a failed clean-up leaves garbage, not damage.
    await jsm.streams.purge(stream, { filter: `$O.${bucket}.C.${old.nuid}` }).catch(() => {});
  }
}
