/** Test helpers: fixtures, temp dirs, and an independent (byte-by-byte) batch cutter. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SplitRef } from '@mrm/core';
import { readSplitBatches, type SourceFile } from '@mrm/input';

/** The fixtures folder. */
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Absolute path of a fixture. */
export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

/** A fresh temp dir; call the returned function to remove it. */
export function makeTempDir(): { dir: string; remove: () => void } {
  const dir = fs.realpathSync(fs.mkdtempSync(`${os.tmpdir()}/mrm-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A SourceFile for a path, built without expandInputs. */
export function sourceOf(file: string, gzip = file.endsWith('.gz')): SourceFile {
  return { path: file, displayPath: path.basename(file), gzip, size: fs.statSync(file).size };
}

/** sha256 hex of bytes. */
export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The batch id formula, restated from the specification. */
export function expectedBatchId(absPath: string, startOffset: number, contentHash: string): string {
  return sha256(`${absPath}\0${startOffset}\0${contentHash}`).slice(0, 32);
}

/** A batch as an independent count expects it. */
export interface ExpectedBatch {
  startOffset: number;
  endOffset: number;
  firstLine: number;
  lines: number;
  contentHash: string;
}

/**
 * Cuts `bytes[from..]` into batches of `batchLines` lines by looking at every byte in turn: a
 * deliberately different method from the planner's indexOf loop.
 */
export function expectedBatches(bytes: Uint8Array, batchLines: number, from = 0, firstLine = 1): ExpectedBatch[] {
  const batches: ExpectedBatch[] = [];
  let start = from;
  let line = firstLine;
  let lines = 0;
  for (let i = from; i < bytes.length; i++) {
    if (bytes[i] !== 10) continue;
    lines++;
    if (lines === batchLines) {
      batches.push({ startOffset: start, endOffset: i + 1, firstLine: line, lines, contentHash: '' });
      start = i + 1;
      line += lines;
      lines = 0;
    }
  }
  if (start < bytes.length) {
    // A final line without '\n' still counts.
    const lastLine = bytes[bytes.length - 1] === 10 ? 0 : 1;
    batches.push({
      startOffset: start,
      endOffset: bytes.length,
      firstLine: line,
      lines: lines + lastLine,
      contentHash: '',
    });
  }
  for (const b of batches) b.contentHash = sha256(bytes.subarray(b.startOffset, b.endOffset));
  return batches;
}

/** The plan fields an independent count can predict. */
export function shapeOf(batches: readonly ExpectedBatch[]): ExpectedBatch[] {
  return batches.map(({ startOffset, endOffset, firstLine, lines, contentHash }) => ({
    startOffset,
    endOffset,
    firstLine,
    lines,
    contentHash,
  }));
}

/** Reads every batch of every split; returns the texts and first lines in order. */
export async function readAll(splits: readonly SplitRef[]): Promise<{ texts: string[]; firstLines: number[] }> {
  const texts: string[] = [];
  const firstLines: number[] = [];
  for (const split of splits) {
    for await (const batch of readSplitBatches(split)) {
      texts.push(batch.text);
      firstLines.push(batch.firstLine);
    }
  }
  return { texts, firstLines };
}

/** Rejection of a promise (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<{ code?: unknown; message: string }> {
  try {
    await promise;
  } catch (e) {
    return e as { code?: unknown; message: string };
  }
  throw new Error('expected a rejection');
}
