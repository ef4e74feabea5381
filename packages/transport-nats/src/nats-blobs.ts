/**
 * A {@link BlobStore} on JetStream, in two places (docs/decisions/0031): a blob of at most
 * `smallLimit` bytes is one message of the small-blob stream (small-blobs.ts: one publish to put,
 * one message-get to read, one purge to delete), a larger one an object of the object store bucket,
 * chunked (up to 512 KiB a chunk, object-put.ts), so it is not bound by the server's max_payload.
 * Both base64url-encode names into their subjects, so any non-empty name is safe as it is. Reads
 * and listings use stream message-gets and stream info, never a consumer (object-get.ts,
 * stream-listing.ts).
 *
 * A name lives in one place: a large put removes a small blob of the same name, and a small put
 * leaves an older object of the name shadowed (reads look at the small blobs first) until the name
 * is deleted, which removes both. Blobs written before small blobs existed are objects, and are
 * read, listed and deleted as before.
 */
import type { BlobInfo, BlobStore } from '@mrm/core';
import { ErrorCode, MrmError } from '@mrm/core';
import type { ObjectStore } from '@nats-io/obj';
import { transportError } from './errors.js';
import { Lanes } from './lanes.js';
import type { AssertOpen } from './nats-kv.js';
import { type KeepTrying, retried } from './retry.js';
import {
  deleteSmallBlob,
  getSmallBlob,
  listSmallBlobs,
  putSmallBlob,
  type SmallBlobsTarget,
  smallBlobNames,
} from './small-blobs.js';

/** Opens the object store on first use (and again after a failed attempt). */
export type OpenObjectStore = () => Promise<ObjectStore>;

/** Removes what the object store keeps of a deleted blob (its metadata tombstone). */
export type PurgeDeleted = (name: string) => Promise<void>;

/** Writes a blob in the object store's layout (see object-put.ts), into a bucket that exists. */
export type PutObject = (name: string, data: Uint8Array) => Promise<void>;

/** Reads a blob of the object store without a consumer (see object-get.ts), from a bucket that exists. */
export type GetObject = (name: string) => Promise<Uint8Array | undefined>;

/** Lists every blob without a consumer (see stream-listing.ts), of a bucket that exists. */
export type ListObjects = () => Promise<BlobInfo[]>;

/** The small-blob stream (created on first use) and the largest blob it takes. */
export interface SmallBlobAccess {
  readonly open: () => Promise<SmallBlobsTarget>;
  readonly limit: () => number;
}

/** How the blob store reaches the object store (large blobs, and every blob of older builds). */
export interface ObjectAccess {
  readonly open: OpenObjectStore;
  readonly put: PutObject;
  readonly get: GetObject;
  readonly list: ListObjects;
  readonly purgeDeleted: PurgeDeleted;
}

/**
 * Large puts one process has in flight at once. Each keeps up to 8 chunks of 512 KiB unacknowledged
 * (object-put.ts); a merge worker shipping full snapshots of all its partitions at one version
 * (~100 MB) once had every one of them in flight, the acknowledgements timed out, and the retries
 * wrote everything again (decisions/0046).
 */
export const LARGE_PUT_LANES = 2;

/** The transport's blobs. */
export class NatsBlobStore implements BlobStore {
  readonly #largePuts = new Lanes(LARGE_PUT_LANES);
  readonly #objects: ObjectAccess;
  readonly #small: SmallBlobAccess;
  readonly #assertOpen: AssertOpen;
  readonly #keepTrying: KeepTrying;

  constructor(objects: ObjectAccess, small: SmallBlobAccess, assertOpen: AssertOpen, keepTrying: KeepTrying) {
    this.#objects = objects;
    this.#small = small;
    this.#assertOpen = assertOpen;
    this.#keepTrying = keepTrying;
  }

  /** Reads and writes of whole blobs by name are idempotent: tried again through a fail-over. */
  #retried<T>(op: () => Promise<T>): Promise<T> {
    return retried('idempotent', op, this.#keepTrying);
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    this.#assertOpen('blobs.put');
    checkName(name);
    try {
      if (data.byteLength <= this.#small.limit()) {
        // One message, replacing any earlier one of the name; an older object stays shadowed.
        await this.#retried(async () => putSmallBlob(await this.#small.open(), name, data));
        return;
      }
      // The bucket is created on first use; the write itself goes out in the object store's layout
      // with its chunks' acknowledgements awaited together (object-put.ts). A retry writes anew.
      // The retry budget counts from the lane on: waiting for one is not the server being slow.
      await this.#largePuts.run(() =>
        this.#retried(async () => {
          await this.#objects.open();
          await this.#objects.put(name, data);
          // A small blob of the name would shadow the object just written.
          await deleteSmallBlob(await this.#small.open(), name);
        }),
      );
    } catch (error) {
      throw transportError(`cannot put blob '${name}'`, error);
    }
  }

  async get(name: string): Promise<Uint8Array | undefined> {
    this.#assertOpen('blobs.get');
    checkName(name);
    try {
      return await this.#retried(async () => {
        const small = await getSmallBlob(await this.#small.open(), name);
        if (small !== undefined) return small;
        await this.#objects.open();
        return this.#objects.get(name);
      });
    } catch (error) {
      throw transportError(`cannot get blob '${name}'`, error);
    }
  }

  async has(name: string): Promise<boolean> {
    this.#assertOpen('blobs.has');
    checkName(name);
    try {
      return await this.#retried(async () => {
        if ((await getSmallBlob(await this.#small.open(), name)) !== undefined) return true;
        const info = await (await this.#objects.open()).info(name);
        return info !== null && !info.deleted;
      });
    } catch (error) {
      throw transportError(`cannot look up blob '${name}'`, error);
    }
  }

  async delete(name: string): Promise<void> {
    this.#assertOpen('blobs.delete');
    checkName(name);
    try {
      await this.#retried(async () => {
        // Both places at once: a small blob is one purge, and the object store answers "no such
        // object" with one lookup.
        await Promise.all([
          (async () => deleteSmallBlob(await this.#small.open(), name))(),
          (async () => {
            const deleted = await (await this.#objects.open()).delete(name);
            // The object store leaves a "deleted" metadata record per name, which pins its stream's
            // file blocks on disk: without it, blocks that held only deleted blobs are removed.
            if (deleted.success) await this.#objects.purgeDeleted(name);
          })(),
        ]);
      });
    } catch (error) {
      throw transportError(`cannot delete blob '${name}'`, error);
    }
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    this.#assertOpen('blobs.list');
    try {
      // The object store lists every object of the bucket (its metadata stream): filtered here.
      const [objects, small] = await this.#retried(async () => {
        await this.#objects.open();
        return Promise.all([this.#objects.list(), listSmallBlobs(await this.#small.open(), prefix)]);
      });
      return union(prefix, small, objects);
    } catch (error) {
      throw transportError(`cannot list blobs under '${prefix}'`, error);
    }
  }

  async names(prefix: string): Promise<string[]> {
    this.#assertOpen('blobs.names');
    try {
      // As list, without reading the small blobs' data for their sizes.
      const [objects, small] = await this.#retried(async () => {
        await this.#objects.open();
        return Promise.all([this.#objects.list(), smallBlobNames(await this.#small.open(), prefix)]);
      });
      return union(
        prefix,
        small.map((name) => ({ name, bytes: 0 })),
        objects,
      ).map((b) => b.name);
    } catch (error) {
      throw transportError(`cannot list blobs under '${prefix}'`, error);
    }
  }
}

/** The blobs under `prefix`, each name once: a small blob shadows an older object of its name. */
function union(prefix: string, small: readonly BlobInfo[], objects: readonly BlobInfo[]): BlobInfo[] {
  const found = new Map<string, BlobInfo>(small.map((b) => [b.name, b]));
  for (const o of objects) if (o.name.startsWith(prefix) && !found.has(o.name)) found.set(o.name, o);
  return [...found.values()];
}

function checkName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new MrmError(ErrorCode.Transport, `blob name must be a non-empty string, got ${JSON.stringify(name)}`);
  }
}
