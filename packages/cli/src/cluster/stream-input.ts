/**
 * A streaming job's segments as input files: a segment (records `from..to` of a subject's stream)
 * is read from JetStream once into a local file, one record per line, and from then on planned and
 * mapped like any file. Its location, `stream:<subject>:<from>-<to>`, is what map workers are sent;
 * each fetches the same records (their bytes never change) into its own cache.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { type StreamSegment, segmentIdentity } from '@mrm/coordinator';
import type { StreamLog } from '@mrm/core';
import type { SourceFile } from '@mrm/input';

const STREAM_PREFIX = 'stream:';
const LOCATION = /^stream:([^:]+):(\d+)-(\d+)$/;
const NEWLINE = Buffer.from('\n');

/** The input location of a segment. */
export function streamLocation(s: StreamSegment): string {
  return segmentIdentity(s);
}

/** The segment a location names, or `undefined` when it is not a stream location. */
export function parseStreamLocation(location: string): StreamSegment | undefined {
  if (!location.startsWith(STREAM_PREFIX)) return undefined;
  const m = LOCATION.exec(location);
  if (m === null) return undefined;
  return { subject: m[1] as string, from: Number(m[2]), to: Number(m[3]) };
}

/** Where a segment's local copy lives in `dir`. */
function segmentFile(s: StreamSegment, dir: string): string {
  return join(dir, `${s.subject}-${s.from}-${s.to}.lines`);
}

/** Deletes a segment's local copy in `dir` (its version is committed: it is not read again). */
export async function releaseSegment(s: StreamSegment, dir: string): Promise<void> {
  await rm(segmentFile(s, dir), { force: true });
}

/** Reads a segment into `dir` (once: an existing copy is reused) and returns its local path. */
export async function fetchSegment(streams: StreamLog, s: StreamSegment, dir: string): Promise<string> {
  const local = segmentFile(s, dir);
  if (
    await access(local).then(
      () => true,
      () => false,
    )
  )
    return local;
  await mkdir(dir, { recursive: true });
  const tmp = `${local}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const out = createWriteStream(tmp);
  try {
    for await (const r of streams.read(s.subject, s.from, s.to)) {
      // A record holding a newline would read back as two: it is one record, one line.
      const data = r.data.includes(0x0a) ? Buffer.from(r.data).map((b) => (b === 0x0a ? 0x20 : b)) : r.data;
      out.write(data);
      if (!out.write(NEWLINE)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
    out.end();
    await finished(out);
  } catch (e) {
    out.destroy();
    throw e;
  }
  await rename(tmp, local);
  return local;
}

/** The source file of a segment, for the coordinator to plan. */
export async function segmentSource(streams: StreamLog, s: StreamSegment, dir: string): Promise<SourceFile> {
  const path = await fetchSegment(streams, s, dir);
  return {
    path,
    identity: segmentIdentity(s),
    location: streamLocation(s),
    displayPath: `${s.subject}[${s.from}..${s.to}]`,
    gzip: false,
    size: (await stat(path)).size,
  };
}
