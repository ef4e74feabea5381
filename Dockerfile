# syntax=docker/dockerfile:1
# One image for every role of an MRM cluster: `docker run <image> coordinator|worker|submit|status …`.
# The NATS server runs from the official nats image (see docker-compose.yml and docs/operations.md).
FROM node:20-slim

WORKDIR /app

# The whole repository, then `npm ci`, whose `prepare` script compiles every package (tsc -b).
# Native modules (lmdb, msgpackr) come as prebuilt binaries from the npm registry.
COPY . .
RUN npm ci && npm cache clean --force

# Prints this container's Compose replica name (<project>-<service>-<n>). Compose's DNS maps the
# container's address back to that name, which stays the same when the container is recreated;
# its hostname is only the container id, which does not. Merge workers use it as their stable id.
COPY <<'EOF_SCRIPT' /usr/local/bin/mrm-replica-name.cjs
const { networkInterfaces } = require('node:os');
const { reverse } = require('node:dns').promises;
const address = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
if (address === undefined) {
  console.error('mrm-replica-name: this container has no IPv4 address');
  process.exit(1);
}
reverse(address).then(
  (names) => console.log(names[0].split('.')[0]),
  (error) => {
    console.error(`mrm-replica-name: no DNS name for ${address} (${error.code}); run under docker compose`);
    process.exit(1);
  },
);
EOF_SCRIPT

# State (coordinator, merge workers) lives under /state, owned by the unprivileged user so that a
# fresh named volume mounted there is writable too.
RUN mkdir -p /state && chown node:node /state
USER node

ENTRYPOINT ["node", "/app/packages/cli/bin/mrm.js"]
CMD ["--help"]
