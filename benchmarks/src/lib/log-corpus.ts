/**
 * The access-log suite's corpus: the real web-server logs of ../shared/data/logs (an Apache sample
 * and 57 daily nginx files, see shared/data/SOURCES.md), or, where that folder is absent, logs in
 * the same "combined" format generated from a fixed seed, the same bytes on every machine. The
 * corpus is replicated to the size asked with {@link buildDataset}, like the books.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { seededRandom } from '@mrm/testkit';
import { type Corpus, MissingDataError } from './dataset.js';

/** Every regular file under `dir`, at any depth, sorted by path. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

/** The logs in `dir` (every file under it) as a corpus; fails saying where it looked. */
export function logCorpusAt(dir: string): Corpus {
  const at = resolve(dir);
  if (!existsSync(at) || !statSync(at).isDirectory())
    throw new MissingDataError(`no access logs: '${at}' is not a folder`);
  const files = filesUnder(at);
  if (files.length === 0) throw new MissingDataError(`no access logs: '${at}' holds no files`);
  return { dir: at, files, bytes: files.reduce((sum, f) => sum + statSync(f).size, 0) };
}

/** Lines of the generated corpus per file, and files (about 5.5 MB in all, about the size of the real logs). */
const GENERATED_FILES = 8;
const GENERATED_LINES = 6_000;
const GENERATED_SEED = 0x5eed_0109;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const PATHS = ['/', '/index.html', '/style.css', '/script.js', '/favicon.ico', '/api/v1/items', '/login', '/.env'];
const AGENTS = ['Mozilla/5.0 (X11; Linux x86_64)', 'curl/8.5.0', 'Googlebot/2.1 (+http://www.google.com/bot.html)'];

/**
 * Combined-format logs generated from a fixed seed into `<cacheDir>/generated-logs-<seed>`: one
 * file per day, clients drawn with a skew from 5,000 addresses, a few statuses and sizes of `-`.
 */
export function generatedLogCorpus(cacheDir: string): Corpus {
  const dir = join(cacheDir, `generated-logs-${GENERATED_SEED.toString(16)}`);
  const done = `${dir}.done`;
  if (!existsSync(done)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const random = seededRandom(GENERATED_SEED);
    const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)] as T;
    const two = (n: number) => String(n).padStart(2, '0');
    for (let day = 0; day < GENERATED_FILES; day++) {
      const lines: string[] = [];
      for (let i = 0; i < GENERATED_LINES; i++) {
        const client = Math.floor(5000 * random() ** 2);
        const ip = `10.${client >> 8}.${client & 255}.${1 + (client % 7)}`;
        const t = Math.floor(random() * 86_400);
        const stamp = `${two(1 + day)}/${MONTHS[2]}/2026:${two(Math.floor(t / 3600))}:${two(Math.floor(t / 60) % 60)}:${two(t % 60)} +0000`;
        const status = random() < 0.85 ? 200 : pick([301, 304, 404, 500]);
        const size = status === 304 ? '-' : String(Math.floor(random() * 50_000));
        lines.push(`${ip} - - [${stamp}] "GET ${pick(PATHS)} HTTP/1.1" ${status} ${size} "-" "${pick(AGENTS)}"`);
      }
      const fd = openSync(join(dir, `access.log-${two(1 + day)}`), 'w');
      writeSync(fd, `${lines.join('\n')}\n`);
      closeSync(fd);
    }
    closeSync(openSync(done, 'w'));
  }
  return logCorpusAt(dir);
}

/**
 * The logs to use: `$MRM_BENCH_LOGS` when set (it must exist), else ../shared/data/logs when
 * present, else the generated logs.
 */
export function logCorpus(repoRoot: string, cacheDir: string, env: NodeJS.ProcessEnv = process.env): Corpus {
  const explicit = env.MRM_BENCH_LOGS;
  if (explicit !== undefined && explicit !== '') return logCorpusAt(explicit);
  const shared = join(repoRoot, '..', 'shared', 'data', 'logs');
  return existsSync(shared) ? logCorpusAt(shared) : generatedLogCorpus(cacheDir);
}
