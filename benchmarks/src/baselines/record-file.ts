/**
 * The files the baselines keep their key/value records in: a simplified Hadoop IFile. A record is
 * `[u32 key bytes][u32 value bytes][key: canonical key text, UTF-8][value: MessagePack]`, and a
 * file holds sorted runs (segments), one per partition, found through a small index file. Map
 * spills, merged map outputs, fetched shuffle segments and reducer output parts all use it, so a
 * reducer pulls its partition's bytes as they lie on disk.
 *
 * ```ts
 * const w = RecordFileWriter.create('spill0.out');
 * w.write('"the"', encode(3));
 * const segment = w.endSegment();
 * w.close();
 * for (const r = new RecordReader(segment); r.next(); ) console.log(r.key, decode(r.value));
 * ```
 */
import { closeSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';

/** A byte range of a record file holding one sorted run. */
export interface Segment {
  readonly path: string;
  readonly start: number;
  readonly end: number;
}

const HEADER_BYTES = 8;
const BUFFER_BYTES = 1 << 16;

/** Writes records to a file through a buffer; segments are byte ranges of it. */
export class RecordFileWriter {
  private buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  private used = 0;
  private written = 0;
  private segmentStart = 0;
  /** Records written so far. */
  records = 0;

  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  /** Opens (truncates) `path` for writing. */
  static create(path: string): RecordFileWriter {
    return new RecordFileWriter(path, openSync(path, 'w'));
  }

  /** Bytes written so far (flushed or buffered): the offset of the next record. */
  get offset(): number {
    return this.written + this.used;
  }

  /** Appends one record. */
  write(key: string, value: Uint8Array): void {
    const keyBytes = Buffer.byteLength(key);
    const size = HEADER_BYTES + keyBytes + value.byteLength;
    if (this.used + size > this.buffer.length) {
      this.flush();
      if (size > this.buffer.length) this.buffer = Buffer.allocUnsafe(size);
    }
    const b = this.buffer;
    b.writeUInt32LE(keyBytes, this.used);
    b.writeUInt32LE(value.byteLength, this.used + 4);
    b.write(key, this.used + HEADER_BYTES, keyBytes, 'utf8');
    b.set(value, this.used + HEADER_BYTES + keyBytes);
    this.used += size;
    this.records++;
  }

  /** Ends the current segment (possibly empty) and returns it; the next write starts a new one. */
  endSegment(): Segment {
    const segment = { path: this.path, start: this.segmentStart, end: this.offset };
    this.segmentStart = this.offset;
    return segment;
  }

  private flush(): void {
    let at = 0;
    while (at < this.used) at += writeSync(this.fd, this.buffer, at, this.used - at);
    this.written += this.used;
    this.used = 0;
  }

  /** Flushes and closes the file. */
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** Reads the records of one segment in order: `while (r.next()) use(r.key, r.value)`. */
export class RecordReader {
  private fd: number | undefined;
  private buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  /** Valid bytes in `buffer` start at `at` and end at `filled`. */
  private at = 0;
  private filled = 0;
  /** File position of `buffer[filled]`. */
  private position: number;
  /** The current record's key (canonical key text), after `next()` returned true. */
  key = '';
  /** The current record's value bytes (valid until the next call of `next()`). */
  value: Buffer = Buffer.alloc(0);

  constructor(readonly segment: Segment) {
    this.position = segment.start;
    this.fd = segment.end > segment.start ? openSync(segment.path, 'r') : undefined;
  }

  /** Moves to the next record; false (and the file closed) at the end of the segment. */
  next(): boolean {
    if (!this.ensure(HEADER_BYTES)) return this.finish();
    const keyBytes = this.buffer.readUInt32LE(this.at);
    const valueBytes = this.buffer.readUInt32LE(this.at + 4);
    if (!this.ensure(HEADER_BYTES + keyBytes + valueBytes)) {
      throw new Error(`${this.segment.path}: truncated record at ${this.position - (this.filled - this.at)}`);
    }
    const k = this.at + HEADER_BYTES;
    this.key = this.buffer.toString('utf8', k, k + keyBytes);
    this.value = this.buffer.subarray(k + keyBytes, k + keyBytes + valueBytes);
    this.at = k + keyBytes + valueBytes;
    return true;
  }

  /** Closes the file early (`next()` does it at the end). */
  close(): void {
    this.finish();
  }

  /** Makes `bytes` bytes available from `at`; false when the segment ends first. */
  private ensure(bytes: number): boolean {
    if (this.filled - this.at >= bytes) return true;
    if (this.fd === undefined) return false;
    const kept = this.filled - this.at;
    const target = bytes > this.buffer.length ? Buffer.allocUnsafe(bytes) : this.buffer;
    this.buffer.copy(target, 0, this.at, this.filled);
    this.buffer = target;
    this.at = 0;
    this.filled = kept;
    while (this.filled < bytes && this.position < this.segment.end) {
      const want = Math.min(this.buffer.length - this.filled, this.segment.end - this.position);
      const got = readSync(this.fd, this.buffer, this.filled, want, this.position);
      if (got === 0) break;
      this.filled += got;
      this.position += got;
    }
    return this.filled - this.at >= bytes;
  }

  private finish(): false {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    return false;
  }
}

/** Writes the index of a file's segments (one per partition, in partition order). */
export function writeSegmentIndex(path: string, segments: readonly Segment[]): void {
  writeFileSync(path, JSON.stringify(segments.map((s) => [s.start, s.end])));
}

/** Reads the segments of `dataPath` from its index file. */
export function readSegmentIndex(dataPath: string, indexPath: string): Segment[] {
  const ranges = JSON.parse(readFileSync(indexPath, 'utf8')) as Array<[number, number]>;
  return ranges.map(([start, end]) => ({ path: dataPath, start, end }));
}
