/**
 * Input of a cluster job: read in place from a filesystem every worker sees (`--shared-fs`), or
 * uploaded by `mrm submit` into the blob store by content hash (the default: it works whatever
 * the machines share) and fetched once into each worker's cache.
 */
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, type InputRef, MrmError, type StreamLog, type Transport } from '@mrm/core';
import type { SourceFile } from '@mrm/input';
import { fetchSegment, parseStreamLocation, releaseSegment } from './stream-input.js';

const BLOB_PREFIX = 'blob:';
/**
 * Stream segments a worker keeps on disk: a streaming job has at most two segments in flight
 * (decisions/0027), so this covers many streaming jobs at once.
 */
export const MAX_CACHED_SEGMENTS = 64;
/** Largest input file `submit` uploads (the blob store holds it in one piece). */
export const MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;

/** Turns local files into input references, uploading them unless `sharedFs`. */
export async function shipInputs(
  transport: Transport,
  files: readonly SourceFile[],
  sharedFs: boolean,
): Promise<InputRef[]> {
  const refs: InputRef[] = [];
  for (const f of files) {
    let location = f.path;
    if (!sharedFs) {
      if (f.size > MAX_UPLOAD_BYTES) {
        throw new MrmError(
          ErrorCode.BadOption,
          `input '${f.displayPath}' is ${f.size} bytes, over the ${MAX_UPLOAD_BYTES}-byte upload limit; put it where workers can read it and use --shared-fs`,
        );
      }
      const bytes = await readFile(f.path);
      const name = `input/${createHash('sha256').update(bytes).digest('hex')}`;
      if (!(await transport.blobs.has(name))) await transport.blobs.put(name, bytes);
      location = `${BLOB_PREFIX}${name}`;
    }
    refs.push({ identity: f.path, displayPath: f.displayPath, location, gzip: f.gzip, size: f.size });
  }
  return refs;
}

/**
 * Local copies of uploaded inputs in one folder: each blob is fetched once, also when several
 * tasks ask for it at the same time.
 */
export class InputCache {
  private readonly inflight = new Map<string, Promise<string>>();
  /** Stream segments fetched, oldest first: at most {@link MAX_CACHED_SEGMENTS} stay on disk. */
  private readonly segments = new Set<string>();

  constructor(
    private readonly transport: Transport,
    private readonly dir: string,
    /** Input streams, for the segments of streaming jobs (`stream:<subject>:<from>-<to>`). */
    private readonly streams?: StreamLog,
  ) {}

  /**
   * A local path for an input location: the path itself, or the blob (or stream segment) fetched
   * into the cache.
   */
  path(location: string): Promise<string> {
    const segment = parseStreamLocation(location);
    if (!location.startsWith(BLOB_PREFIX) && segment === undefined) return Promise.resolve(location);
    let p = this.inflight.get(location);
    if (p === undefined) {
      if (segment !== undefined && this.streams === undefined) {
        return Promise.reject(new MrmError(ErrorCode.InputMissing, `no stream access for input ${location}`));
      }
      p =
        segment !== undefined && this.streams !== undefined
          ? fetchSegment(this.streams, segment, join(this.dir, 'streams'))
          : this.fetch(location.slice(BLOB_PREFIX.length));
      p.catch(() => this.inflight.delete(location));
      this.inflight.set(location, p);
      if (segment !== undefined) {
        // Once fetched, a segment is looked for on disk again: `fetchSegment` reuses the file, or
        // fetches it again when it was let go. So the map holds only fetches in progress.
        const fetched = p;
        const settled = () => {
          if (this.inflight.get(location) === fetched) this.inflight.delete(location);
        };
        fetched.then(settled, settled);
        this.keepSegment(location);
      }
    }
    return p;
  }

  /**
   * An endless stream fetches segment after segment: only the newest {@link MAX_CACHED_SEGMENTS}
   * stay on disk (a task of an older one, if any, fetches it again from the stream; only one that
   * was handed the path just before it went would fail, which takes more than 32 streaming jobs
   * on one worker at once).
   */
  private keepSegment(location: string): void {
    this.segments.delete(location);
    this.segments.add(location);
    for (const old of this.segments) {
      if (this.segments.size <= MAX_CACHED_SEGMENTS) break;
      this.segments.delete(old);
      const segment = parseStreamLocation(old);
      if (segment !== undefined) void releaseSegment(segment, join(this.dir, 'streams')).catch(() => {});
    }
  }

  private async fetch(name: string): Promise<string> {
    const local = join(this.dir, name.replaceAll('/', '_'));
    if (
      await access(local).then(
        () => true,
        () => false,
      )
    )
      return local;
    const bytes = await this.transport.blobs.get(name);
    if (bytes === undefined) throw new MrmError(ErrorCode.InputMissing, `uploaded input ${name} is not in the cluster`);
    await mkdir(this.dir, { recursive: true });
    const tmp = `${local}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, local);
    return local;
  }
}

/** Source files the coordinator can plan, from submitted references. */
export async function resolveInputRefs(refs: readonly InputRef[], cache: InputCache): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  for (const r of refs) {
    const path = await cache.path(r.location);
    if (r.location === path) {
      await access(path).catch(() => {
        throw new MrmError(
          ErrorCode.InputMissing,
          `input '${r.displayPath}' is not readable at ${path} on the coordinator (--shared-fs needs a filesystem every worker sees)`,
        );
      });
    }
    files.push({
      path,
      identity: r.identity,
      location: r.location,
      displayPath: r.displayPath,
      gzip: r.gzip,
      size: r.size,
    });
  }
  return files;
}
