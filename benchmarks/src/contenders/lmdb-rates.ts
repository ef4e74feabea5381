/**
 * Raw LMDB rates on this machine, through the same `lmdb` package MRM's store uses: puts in large
 * write transactions (as MRM writes a checkpoint), puts one transaction each (as the
 * record-at-a-time baseline applies a pair), and random point reads. No MRM code.
 *
 * Usage: `node lmdb-rates.js <dir> <keys>`; prints one JSON line of operations per second.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';

const [dir, keysText] = process.argv.slice(2);
const keys = Number(keysText);
const path = join(dir as string, 'rates.lmdb');
rmSync(path, { recursive: true, force: true });
const db = open<Uint8Array, string>({ path, encoding: 'binary', noSync: true });
const value = new Uint8Array(16).fill(7);
const key = (i: number) => `"word-${(i * 2654435761) % keys}-${i}"`;

let t = performance.now();
const BATCH = 10_000;
for (let from = 0; from < keys; from += BATCH) {
  db.transactionSync(() => {
    for (let i = from; i < Math.min(keys, from + BATCH); i++) db.putSync(key(i), value);
  });
}
const batchedPutsPerSecond = keys / ((performance.now() - t) / 1000);

const single = Math.min(keys, 20_000);
t = performance.now();
for (let i = 0; i < single; i++) db.putSync(`single-${i}`, value);
const singlePutsPerSecond = single / ((performance.now() - t) / 1000);

t = performance.now();
let found = 0;
for (let i = 0; i < keys; i++) if (db.get(key((i * 7919) % keys)) !== undefined) found++;
const getsPerSecond = keys / ((performance.now() - t) / 1000);
await db.close();
rmSync(path, { recursive: true, force: true });
if (found !== keys) {
  process.stderr.write(`lmdb-rates: read back ${found} of ${keys} keys\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ keys, batchedPutsPerSecond, singlePutsPerSecond, getsPerSecond })}\n`);
