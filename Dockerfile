# syntax=docker/dockerfile:1
# Build: docker build --build-arg REVISION=$(git rev-parse --short HEAD) -t jvb-prometheus-adapter .
# Run as a sidecar of the JVB (same pod/network namespace):
#   docker run --rm -p 9001:9001 -e JVB_ADAPTER_JVB_URL=http://localhost:8080 jvb-prometheus-adapter
# Node 22 (LTS) here; the code runs on Node 20, 22 and 24.

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own `prepare` (a build) needs src/, copied below.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
# The build context has no .git: --version shows the revision passed here, if any.
ARG REVISION=""
RUN GIT_REVISION="$REVISION" npm run build

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Production dependencies only, from the lock file; no install scripts
# (protobufjs' postinstall only prints a version hint; `prepare` would build).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY proto ./proto
# The durable remote-write queue: mount a volume here so a backlog survives the
# container. A read-only root file system without a volume: set JVB_ADAPTER_STORAGE_IN_MEMORY=true.
ENV JVB_ADAPTER_STORAGE_PATH=/var/lib/jvb-adapter
RUN mkdir -p /var/lib/jvb-adapter && chown node:node /var/lib/jvb-adapter
VOLUME ["/var/lib/jvb-adapter"]
# The image's own unprivileged user (uid 1000); nothing here needs root.
USER node
# Settings come from the same JVB_ADAPTER_* variables (or flags after the image name).
EXPOSE 9001
# The agent's own check: reads the same JVB_ADAPTER_* variables (and
# JVB_ADAPTER_CONFIG_FILE) to find the listen address, asks /-/healthy,
# exits 0 on 200, 1 otherwise, within 3s. It cannot see flags given after the
# image name: set --web.listen-address through JVB_ADAPTER_WEB_LISTEN_ADDRESS.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "/app/dist/cli.js", "healthcheck"]
ENTRYPOINT ["node", "--max-semi-space-size=2", "--heap-growing-percent=10", "--single-threaded", "/app/dist/cli.js"]
