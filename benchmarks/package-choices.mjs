#!/usr/bin/env node
/**
 * The design card's packages against the ones the code uses, on our own workload
 * (docs/decisions/0009-nats-v3-and-msgpackr.md has the figures and the decision):
 *
 * - codec: msgpackr (core's options) vs @msgpack/msgpack, encoding and decoding real frames
 *   (word counts of the Gutenberg texts and per-client counters of the Apache log, as the map
 *   side sends them), each decoding the other's bytes (both ways);
 * - NATS client: nats v2 vs @nats-io v3 on a local nats-server: JetStream KV put/get, object store
 *   put/get of 8 MiB, and how long each takes to work again after the server restarts.
 *
 * Medians of several rounds, both contenders measured in the same run. Usage (after `tsc -b`):
 *   node benchmarks/package-choices.mjs [--rounds 7]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { encodeMessage, MSGPACK_OPTIONS } from '@mrm/core';
import { startNatsServer } from '@mrm/testkit';
import { decode as mpDecode, encode as mpEncode } from '@msgpack/msgpack';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { connect as connectV3 } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';
import { connect as connectV2 } from 'nats';

const DATA = process.env.MRM_DATA ?? '/work/shared/data';
const ROUNDS = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 7;
const PAIRS_PER_FRAME = 2000;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, digits = 1) => Number(x.toFixed(digits));
const timeMs = (fn) => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};
const timeAsyncMs = async (fn) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};

/** Frames as the map side sends them: flat [key, value, key, value…] lists of one partition. */
function realFrames() {
  const frames = [];
  const frame = (pairs, seq) => ({
    type: 'frame',
    v: 1,
    jobId: 'bench-lx3k-a1b2c3',
    run: 1,
    seq,
    partition: seq % 16,
    attempt: 1,
    from: 'map-0',
    pairs,
  });
  // Word counts of the Gutenberg texts (string keys, small integer values).
  const counts = new Map();
  const gutenberg = join(DATA, 'gutenberg');
  for (const f of readdirSync(gutenberg).filter((n) => !n.endsWith('.md'))) {
    for (const w of readFileSync(join(gutenberg, f), 'utf8').match(/[A-Za-z]+/g) ?? []) {
      const k = w.toLowerCase();
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  // Per-[client, status] [requests, bytes] of the Apache log (array keys, pair values).
  const line = /^(\S+) \S+ \S+ \[[^\]]+\] "[^"]*" (\d{3}) (\d+|-)/;
  const traffic = new Map();
  for (const l of readFileSync(join(DATA, 'logs/apache-elastic/apache_logs'), 'utf8').split('\n')) {
    const m = line.exec(l);
    if (m === null) continue;
    const key = JSON.stringify([m[1], Number(m[2])]);
    const prev = traffic.get(key) ?? [0, 0];
    traffic.set(key, [prev[0] + 1, prev[1] + (m[3] === '-' ? 0 : Number(m[3]))]);
  }
  for (const source of [counts, traffic]) {
    let pairs = [];
    for (const [k, v] of source) {
      pairs.push(k, v);
      if (pairs.length >= PAIRS_PER_FRAME * 2) {
        frames.push(frame(pairs, frames.length));
        pairs = [];
      }
    }
    if (pairs.length > 0) frames.push(frame(pairs, frames.length));
  }
  return frames;
}

function codecBench() {
  const frames = realFrames();
  // Exactly core's codec options.
  const packr = new Packr({ ...MSGPACK_OPTIONS });
  const contenders = {
    msgpackr: { encode: (v) => packr.pack(v), decode: (b) => packr.unpack(b) },
    '@msgpack/msgpack': { encode: (v) => mpEncode(v), decode: (b) => mpDecode(b) },
  };
  // Both ways: each decodes what the other encoded, to the same value; core's wire bytes too.
  const core = frames.map((f) => encodeMessage(f));
  for (const [a, ca] of Object.entries(contenders)) {
    for (const [b, cb] of Object.entries(contenders)) {
      frames.forEach((f, i) => {
        if (!isDeepStrictEqual(cb.decode(ca.encode(f)), f)) throw new Error(`${b} does not read ${a}'s frame ${i}`);
      });
    }
    core.forEach((bytes, i) => {
      if (!isDeepStrictEqual(ca.decode(bytes), frames[i])) throw new Error(`${a} does not read core's frame ${i}`);
    });
  }
  const totalBytes = core.reduce((s, b) => s + b.length, 0);
  const results = {};
  for (const [name, c] of Object.entries(contenders)) {
    const encoded = frames.map((f) => c.encode(f));
    for (let i = 0; i < 2; i++) for (const f of frames) c.encode(f); // warm-up
    const enc = [];
    const dec = [];
    for (let r = 0; r < ROUNDS; r++) {
      enc.push(
        timeMs(() => {
          for (const f of frames) c.encode(f);
        }),
      );
      dec.push(
        timeMs(() => {
          for (const b of encoded) c.decode(b);
        }),
      );
    }
    results[name] = {
      encodeMBps: round(totalBytes / 1e6 / (median(enc) / 1000)),
      decodeMBps: round(totalBytes / 1e6 / (median(dec) / 1000)),
      bytes: encoded.reduce((s, b) => s + b.length, 0),
    };
  }
  return { frames: frames.length, pairs: frames.reduce((s, f) => s + f.pairs.length / 2, 0), totalBytes, results };
}

/** The two clients behind one small interface: KV, object store, a round trip. */
const clients = {
  'nats v2': {
    async open(url) {
      const nc = await connectV2({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
      const js = nc.jetstream();
      return {
        nc,
        kv: (name) => js.views.kv(name, { history: 1 }),
        os: (name) => js.views.os(name),
        roundTrip: () => nc.flush(),
      };
    },
  },
  '@nats-io v3': {
    async open(url) {
      const nc = await connectV3({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
      return {
        nc,
        kv: (name) => new Kvm(nc).create(name, { history: 1 }),
        os: (name) => new Objm(nc).create(name),
        roundTrip: () => nc.flush(),
      };
    },
  },
};

async function natsBench() {
  const server = await startNatsServer({ jetstream: true });
  const out = {};
  try {
    const opened = {};
    for (const [name, c] of Object.entries(clients)) opened[name] = await c.open(server.url);
    const blob = new Uint8Array(8 << 20).map((_, i) => (i * 31) & 0xff);
    for (const [name, c] of Object.entries(opened)) {
      const tag = name.replace(/\W+/g, '');
      const kv = await c.kv(`bench${tag}`);
      const put = [];
      const get = [];
      for (let r = 0; r < ROUNDS; r++) {
        put.push(
          await timeAsyncMs(async () => {
            for (let i = 0; i < 200; i++) await kv.put(`k${i}`, new TextEncoder().encode(`value ${r} ${i}`));
          }),
        );
        get.push(
          await timeAsyncMs(async () => {
            for (let i = 0; i < 200; i++)
              if ((await kv.get(`k${i}`))?.value === undefined) throw new Error('kv get lost a value');
          }),
        );
      }
      const os = await c.os(`bench${tag}`);
      const osPut = [];
      const osGet = [];
      for (let r = 0; r < Math.min(ROUNDS, 3); r++) {
        osPut.push(await timeAsyncMs(() => os.putBlob({ name: `blob${r}` }, blob)));
        osGet.push(
          await timeAsyncMs(async () => {
            const back = await os.getBlob(`blob${r}`);
            if (back?.length !== blob.length) throw new Error('object store returned another size');
          }),
        );
      }
      out[name] = {
        kvPutPerSec: round(200 / (median(put) / 1000), 0),
        kvGetPerSec: round(200 / (median(get) / 1000), 0),
        objectPut8MiBMs: round(median(osPut)),
        objectGet8MiBMs: round(median(osGet)),
      };
    }
    // Reconnect: both clients see the same restart; how long until each completes a round trip.
    for (let r = 0; r < 3; r++) {
      const restart = performance.now();
      await server.restart();
      await Promise.all(
        Object.entries(opened).map(async ([name, c]) => {
          for (;;) {
            try {
              await c.roundTrip();
              break;
            } catch {
              await new Promise((res) => setTimeout(res, 10));
            }
          }
          out[name].reconnectMs = [...(out[name].reconnectMs ?? []), round(performance.now() - restart, 0)];
        }),
      );
    }
    for (const c of Object.values(opened)) await c.nc.close();
  } finally {
    await server.stop();
  }
  for (const r of Object.values(out)) r.reconnectMs = median(r.reconnectMs);
  return out;
}

const codec = codecBench();
console.log(JSON.stringify({ rounds: ROUNDS, codec }, null, 2));
console.log(JSON.stringify({ nats: await natsBench() }, null, 2));
