/**
 * One bolt of the record-at-a-time baseline, in its own process (as Storm runs executors in
 * worker processes): `node bolt-main.js '<BoltSpec as JSON>'`. Takes one pair at a time off NATS,
 * applies it to the key's state in LMDB (read, `reduce` of the one value and `merge`, write: one
 * write transaction per pair) and acks it; a job without `merge` keeps every value and reduces at
 * `finish`. Prints `ready` once subscribed.
 */
import { pathToFileURL } from 'node:url';
import { compareCanonicalKeys, decode, encode, errorMessage, jobFromModule, keyOf } from '@mrm/core';
import { connect } from '@nats-io/transport-node';
import { open } from 'lmdb';
import { callUser } from '../job-functions.js';
import { RecordFileWriter } from '../record-file.js';
import { BoltMessage, type BoltSpec, type BoltSummary } from './records-protocol.js';

try {
  const spec = JSON.parse(process.argv[2] ?? '') as BoltSpec;
  const job = jobFromModule(await import(pathToFileURL(spec.bundlePath).href), spec.bundlePath);
  // noSync: durability is left to the OS, as for a Storm bolt's in-memory state; every pair is
  // still its own write transaction.
  const db = open<Uint8Array, string>({ path: spec.statePath, encoding: 'binary', noSync: true });
  const nc = await connect({ servers: spec.natsUrl, name: 'mrm-records-bolt' });
  const merge = job.merge;
  let pairs = 0;
  const apply = (ck: string, value: unknown) => {
    const previous = db.get(ck);
    const key = keyOf(ck);
    if (merge === undefined) {
      const values = previous === undefined ? [] : decode<unknown[]>(previous);
      values.push(value);
      db.putSync(ck, encode(values));
      return;
    }
    const before = previous === undefined ? undefined : decode(previous);
    const after = callUser(job, 'reduce/merge', ck, () => merge(key, before, job.reduce(key, [value])));
    if (after === undefined) db.removeSync(ck);
    else db.putSync(ck, encode(after));
  };
  const finish = (): BoltSummary => {
    const keys = [...db.getKeys()].sort(compareCanonicalKeys);
    const writer = RecordFileWriter.create(spec.partPath);
    for (const ck of keys) {
      const stored = db.get(ck);
      if (stored === undefined) continue;
      const state =
        merge === undefined
          ? callUser(job, 'reduce', ck, () => job.reduce(keyOf(ck), decode<unknown[]>(stored)))
          : decode(stored);
      if (state !== undefined) writer.write(ck, encode(state));
    }
    const written = writer.records;
    writer.close();
    return { pairs, keys: written };
  };
  const done = new Promise<void>((resolve) => {
    nc.subscribe(spec.subject, {
      callback: (error, msg) => {
        if (error !== null) return;
        const data = msg.data;
        if (data[0] === BoltMessage.Pair) {
          const [ck, value] = decode<[string, unknown]>(data.subarray(1));
          try {
            apply(ck, value);
            pairs++;
            msg.respond();
          } catch (e) {
            msg.respond(new TextEncoder().encode(errorMessage(e).split('\n')[0]));
          }
        } else if (data[0] === BoltMessage.Finish) {
          msg.respond(encode(finish()));
          resolve();
        }
      },
    });
  });
  await nc.flush();
  process.stdout.write('ready\n');
  await done;
  await nc.drain();
  await db.close();
} catch (error) {
  process.stderr.write(`${errorMessage(error).split('\n')[0]}\n`);
  process.exitCode = 1;
}
