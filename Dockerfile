# syntax=docker/dockerfile:1
# Build: docker build -t jvb-prometheus-adapter .
# Run as a sidecar of the JVB (same pod/network namespace):
#   docker run --rm -p 9001:9001 -e JVB_ADAPTER_JVB_URL=http://localhost:8080/colibri/stats jvb-prometheus-adapter

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
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
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+((process.env.JVB_ADAPTER_WEB_LISTEN_ADDRESS||':9001').split(':').pop())+'/-/healthy').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli.js"]
