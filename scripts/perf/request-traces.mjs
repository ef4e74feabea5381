// CPU per core-NATS request with and without nats.js's async traces (noAsyncTraces, decisions/0053),
// alternating, requester and responder in this process: node scripts/perf/request-traces.mjs
import { connect } from '@nats-io/transport-node';

// As in mrm's processes (packages/cli/bin/mrm.js); MAPS=0 without.
if (process.env.MAPS !== '0') process.setSourceMapsEnabled(true);

import { startNatsServer } from '@mrm/testkit';

const server = await startNatsServer({ jetstream: false });
const N = 3000;
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};
const res = { traces: [], none: [] };
const responder = await connect({ servers: server.url });
responder.subscribe('echo', { callback: (_e, m) => m.respond(m.data) });
await responder.flush();
for (let r = 0; r < 6; r++) {
  for (const mode of r % 2 ? ['none', 'traces'] : ['traces', 'none']) {
    const nc = await connect({ servers: server.url, noAsyncTraces: mode === 'none' });
    const t = cpu();
    for (let i = 0; i < N; i++) await nc.request('echo', new Uint8Array(16), { timeout: 2000 });
    res[mode].push(((cpu() - t) / N) * 1000);
    await nc.close();
  }
}
for (const [k, v] of Object.entries(res)) {
  v.sort((a, b) => a - b);
  console.log(k, 'µs CPU per request (both ends, one process): min', v[0].toFixed(1), 'median', v[3].toFixed(1));
}
await responder.close();
await server.stop();
