/**
 * A {@link BlobStore} on one JetStream object store bucket: blobs of any size are chunked (up to
 * 512 KiB a chunk, object-put.ts), so they are not bound by the server's max_payload. The object
 * store base64url-encodes names into its subjects, so any non-empty name is safe as it is.
 */
import type { BlobInfo, BlobStore } from '@mrm/core';
import { ErrorCode, MrmError } from '@mrm/core';
import type { ObjectStore } from '@nats-io/obj';
import { transportError } from './errors.js';
import type { AssertOpen } from './nats-kv.js';
import { type KeepTrying, retried } from './retry.js';

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

/** The transport's blobs. */
export class NatsBlobStore implements BlobStore {
  readonly #open: OpenObjectStore;
  readonly #assertOpen: AssertOpen;
  readonly #keepTrying: KeepTrying;
  readonly #purgeDeleted: PurgeDeleted;
  readonly #putObject: PutObject;
  readonly #getObject: GetObject;
  readonly #listObjects: ListObjects;

  constructor(
    open: OpenObjectStore,
    assertOpen: AssertOpen,
    keepTrying: KeepTrying,
    purgeDeleted: PurgeDeleted,
    putObject: PutObject,
    getObject: GetObject,
    listObjects: ListObjects,
  ) {
    this.#open = open;
    this.#assertOpen = assertOpen;
    this.#keepTrying = keepTrying;
    this.#purgeDeleted = purgeDeleted;
    this.#putObject = putObject;
    this.#getObject = getObject;
    this.#listObjects = listObjects;
  }

  /** Reads and writes of whole blobs by name are idempotent: tried again through a fail-over. */
  #retried<T>(op: () => Promise<T>): Promise<T> {
    return retried('idempotent', op, this.#keepTrying);
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    this.#assertOpen('blobs.put');
    checkName(name);
    try {
      // The bucket is created on first use; the write itself goes out in the object store's layout
      // with its chunks' acknowledgements awaited together (object-put.ts). A retry writes anew.
      await this.#retried(async () => {
        await this.#open();
        await this.#putObject(name, data);
      });
    } catch (error) {
      throw transportError(`cannot put blob '${name}'`, error);
    }
  }

  async get(name: string): Promise<Uint8Array | undefined> {
    this.#assertOpen('blobs.get');
    checkName(name);
    try {
      return await this.#retried(async () => {
        await this.#open();
        return this.#getObject(name);
      });
    } catch (error) {
      throw transportError(`cannot get blob '${name}'`, error);
    }
  }

  async has(name: string): Promise<boolean> {
    this.#assertOpen('blobs.has');
    checkName(name);
    try {
      const info = await this.#retried(async () => (await this.#open()).info(name));
      return info !== null && !info.deleted;
    } catch (error) {
      throw transportError(`cannot look up blob '${name}'`, error);
    }
  }

  async delete(name: string): Promise<void> {
    this.#assertOpen('blobs.delete');
    checkName(name);
    try {
      await this.#retried(async () => {
        await (await this.#open()).delete(name);
        // The object store leaves a "deleted" metadata record per name, which pins its stream's file
        // blocks on disk: without it, blocks that held only deleted blobs are removed.
        await this.#purgeDeleted(name);
      });
    } catch (error) {
      throw transportError(`cannot delete blob '${name}'`, error);
    }
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    this.#assertOpen('blobs.list');
    try {
      // The object store lists every object of the bucket (its metadata stream): filtered here.
      const all = await this.#retried(async () => {
        await this.#open();
        return this.#listObjects();
      });
      return all.filter((o) => o.name.startsWith(prefix));
    } catch (error) {
      throw transportError(`cannot list blobs under '${prefix}'`, error);
    }
  }
}

function checkName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new MrmError(ErrorCode.Transport, `blob name must be a non-empty string, got ${JSON.stringify(name)}`);
  }
}
