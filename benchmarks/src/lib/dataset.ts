/**
 * The benchmark's input: a corpus of text files (the 16 Gutenberg books) replicated to a size
 * and cut into a few files at line boundaries. Built once into a cache directory and reused
 * while its manifest still matches.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { seededRandom } from '@mrm/testkit';
import { BenchFailure } from '../suite.js';

/** Where the corpus came from and how big it is. */
export interface Corpus {
  readonly dir: string;
  /** Absolute paths of the corpus files, sorted by name. */
  readonly files: readonly string[];
  readonly bytes: number;
}

/** A replicated input on disk. */
export interface Dataset {
  readonly dir: string;
  /** Whole copies of the corpus the files hold together. */
  readonly copies: number;
  readonly files: readonly string[];
  readonly bytes: number;
  /** True when a matching dataset was already in the cache. */
  readonly reused: boolean;
}

/** Why there is no corpus; the message says where it looked. */
export class MissingDataError extends BenchFailure {}

/**
 * Finds the corpus: `explicitDir` if given (option or `MRM_BENCH_DATA`), else
 * `<repo>/../shared/data/gutenberg`. Every regular `.txt` file in it is a book.
 */
export function findCorpus(repoRoot: string, explicitDir: string | undefined): Corpus {
  const dir = resolve(explicitDir ?? join(repoRoot, '..', 'shared', 'data', 'gutenberg'));
  const source = explicitDir !== undefined ? 'given with --data or MRM_BENCH_DATA' : 'the default location';
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new MissingDataError(
      `no benchmark data: '${dir}' (${source}) is not a folder; put the Gutenberg books there or set MRM_BENCH_DATA=<folder of .txt books>`,
    );
  }
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.txt'))
    .sort()
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
  if (files.length === 0) throw new MissingDataError(`no benchmark data: '${dir}' (${source}) holds no .txt files`);
  return { dir, files, bytes: files.reduce((sum, path) => sum + statSync(path).size, 0) };
}

/** Whole copies of a corpus of `corpusBytes` nearest to `sizeMb` megabytes (10^6 bytes), at least one. */
export function copiesFor(sizeMb: number, corpusBytes: number): number {
  return Math.max(1, Math.round((sizeMb * 1e6) / corpusBytes));
}

interface Manifest {
  readonly corpus: string;
  readonly copies: number;
  readonly files: ReadonlyArray<{ readonly name: string; readonly bytes: number }>;
}

/** Identifies a corpus by its file names and sizes: enough to notice a different or changed corpus. */
function corpusId(corpus: Corpus): string {
  const listing = corpus.files.map((path) => `${path}\0${statSync(path).size}`).join('\n');
  return createHash('sha256').update(listing).digest('hex').slice(0, 16);
}

function matchingManifest(dir: string, expected: Omit<Manifest, 'files'>, fileCount: number): Manifest | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    const sameFiles =
      manifest.files.length === fileCount &&
      manifest.files.every((f) => existsSync(join(dir, f.name)) && statSync(join(dir, f.name)).size === f.bytes);
    return manifest.corpus === expected.corpus && manifest.copies === expected.copies && sameFiles
      ? manifest
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The corpus concatenated `copies` times (a newline added after a book that lacks one, so no word
 * spans two books) and cut into `fileCount` files of about equal size, each cut right after a
 * newline. Word counts of the whole are therefore exactly `copies` times the corpus's.
 */
export function buildDataset(corpus: Corpus, copies: number, fileCount: number, cacheDir: string): Dataset {
  const id = corpusId(corpus);
  const dir = join(cacheDir, `${id}-x${copies}-f${fileCount}`);
  const expected = { corpus: id, copies };
  const existing = matchingManifest(dir, expected, fileCount);
  if (existing !== undefined) {
    const files = existing.files.map((f) => join(dir, f.name));
    return { dir, copies, files, bytes: existing.files.reduce((s, f) => s + f.bytes, 0), reused: true };
  }

  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const books = corpus.files.map((path) => {
    const bytes = readFileSync(path);
    return bytes.at(-1) === 0x0a ? bytes : Buffer.concat([bytes, Buffer.from('\n')]);
  });
  const total = copies * books.reduce((s, b) => s + b.length, 0);
  const target = Math.ceil(total / fileCount);
  const written: Array<{ name: string; bytes: number }> = [];
  let fd = -1;
  let inFile = 0;
  const open = () => {
    const name = `part-${String(written.length).padStart(2, '0')}.txt`;
    written.push({ name, bytes: 0 });
    fd = openSync(join(dir, name), 'w');
    inFile = 0;
  };
  const write = (piece: Buffer) => {
    writeSync(fd, piece);
    inFile += piece.length;
    const last = written.at(-1);
    if (last !== undefined) last.bytes += piece.length;
  };
  open();
  for (let copy = 0; copy < copies; copy++) {
    for (const book of books) {
      let from = 0;
      while (from < book.length) {
        const room = target - inFile;
        if (room <= 0 && written.length < fileCount) {
          closeSync(fd);
          open();
          continue;
        }
        // Fill up to the target, then finish the line so that the cut falls after a newline.
        const lineEnd = written.length < fileCount ? book.indexOf(0x0a, from + Math.max(0, room - 1)) : -1;
        const to = lineEnd === -1 || room > book.length - from ? book.length : lineEnd + 1;
        write(book.subarray(from, to));
        from = to;
      }
    }
  }
  closeSync(fd);
  // The manifest last, written whole then renamed: an interrupted build is never taken as done.
  const manifest: Manifest = { ...expected, files: written };
  const tmp = join(dir, 'manifest.json.tmp');
  const mfd = openSync(tmp, 'w');
  writeSync(mfd, JSON.stringify(manifest, null, 2));
  closeSync(mfd);
  renameSync(tmp, join(dir, 'manifest.json'));
  return { dir, copies, files: written.map((f) => join(dir, f.name)), bytes: total, reused: false };
}

/** Books of the generated corpus and bytes per book (16 × 1 MB, about the size of the real one). */
const GENERATED_BOOKS = 16;
const GENERATED_BOOK_BYTES = 1_000_000;
/** The seed of the generated corpus: the same text on every machine. */
const GENERATED_SEED = 0x5eed_0009;

/**
 * A corpus of generated English-like text (a 60,000-word vocabulary drawn with a Zipf-like
 * skew, lines of 6–14 words) written once into `<cacheDir>/generated-corpus`, for machines
 * without ../shared/data: the same bytes on every machine, from a fixed seed.
 */
export function generatedCorpus(cacheDir: string): Corpus {
  const dir = join(cacheDir, `generated-corpus-${GENERATED_SEED.toString(16)}`);
  const names = Array.from({ length: GENERATED_BOOKS }, (_, i) => `book-${String(i).padStart(2, '0')}.txt`);
  const done = join(dir, 'done');
  if (!existsSync(done)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const random = seededRandom(GENERATED_SEED);
    const letters = 'etaoinshrdlcumwfgypbvkjxqz';
    const vocabulary = Array.from({ length: 60_000 }, (_, i) => {
      let word = '';
      for (let n = i + 1; n > 0; n = Math.floor(n / 26)) word += letters[n % 26];
      return random() < 0.1 ? word[0]?.toUpperCase() + word.slice(1) : word;
    });
    for (const name of names) {
      const lines: string[] = [];
      let bytes = 0;
      while (bytes < GENERATED_BOOK_BYTES) {
        const count = 6 + Math.floor(random() * 9);
        const words = Array.from({ length: count }, () => vocabulary[Math.floor(vocabulary.length * random() ** 3)]);
        const line = `${words.join(' ')}.`;
        lines.push(line);
        bytes += line.length + 1;
      }
      const fd = openSync(join(dir, name), 'w');
      writeSync(fd, `${lines.join('\n')}\n`);
      closeSync(fd);
    }
    closeSync(openSync(done, 'w'));
  }
  const files = names.map((n) => join(dir, n));
  return { dir, files, bytes: files.reduce((s, f) => s + statSync(f).size, 0) };
}

/**
 * The corpus to use: `explicitDir` when given (it must exist), else ../shared/data/gutenberg
 * when present, else the generated corpus.
 */
export function corpusOrGenerated(repoRoot: string, explicitDir: string | undefined, cacheDir: string): Corpus {
  if (explicitDir !== undefined || existsSync(join(repoRoot, '..', 'shared', 'data', 'gutenberg')))
    return findCorpus(repoRoot, explicitDir);
  return generatedCorpus(cacheDir);
}
