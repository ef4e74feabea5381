# One image for every role of an MRM cluster: `docker run <image> coordinator|worker|submit|status …`.
# Builds with the classic builder and BuildKit alike (no `# syntax` front end, no heredocs), and
# needs no registry but npm's once the base image is there.
#
# NODE_IMAGE: any Debian-based image with Node 20 and npm on PATH and a user `node` (uid 1000).
# `npm run test:compose` builds a stand-in for it locally (scripts/docker/stand-in-images.sh).
ARG NODE_IMAGE=node:20-slim
FROM ${NODE_IMAGE}

WORKDIR /app

# Manifests first, so that editing a source file does not reinstall every dependency: this layer
# changes only with package.json / package-lock.json. Every workspace of the root package.json is
# listed here (test/compose checks it). `--ignore-scripts` skips the root `prepare` (tsc -b needs
# the sources); `npm rebuild` then runs the dependencies' own install scripts (native prebuilds).
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/input/package.json packages/input/
COPY packages/store-lmdb/package.json packages/store-lmdb/
COPY packages/transport-nats/package.json packages/transport-nats/
COPY packages/coordinator/package.json packages/coordinator/
COPY packages/map-worker/package.json packages/map-worker/
COPY packages/merge-worker/package.json packages/merge-worker/
COPY packages/runtime/package.json packages/runtime/
COPY packages/testkit/package.json packages/testkit/
COPY packages/cli/package.json packages/cli/
COPY benchmarks/package.json benchmarks/
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild && npm cache clean --force

# Then the sources, compiled: the cli and, through its project references, every package it runs.
COPY . .
RUN npx tsc -b packages/cli

# Prints the container's Compose replica name: the merge workers' stable id (docker-compose.yml).
COPY scripts/docker/mrm-replica-name.cjs /usr/local/bin/mrm-replica-name.cjs

# State (coordinator, merge workers) lives under /state, owned by the unprivileged user, so that a
# fresh named volume mounted there (Docker copies the ownership into it) is writable too.
RUN mkdir -p /state && chown node:node /state
USER node

ENTRYPOINT ["node", "/app/packages/cli/bin/mrm.js"]
CMD ["--help"]
