# syntax=docker/dockerfile:1
# One image per service, built from the whole workspace:
#   docker build --build-arg SERVICE=blog --build-arg PORT=4004 -t platform-blog .
# SERVICE is gateway or a module under subgraphs/ (identity, authz, audit, blog, or one added
# with `platformctl modules new`); PORT is the port it listens on (only used for EXPOSE and the
# health check; the service reads its port from config).

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS builder
ARG SERVICE
WORKDIR /src
COPY . .
RUN case "$SERVICE" in \
      gateway) ;; \
      ''|*[!a-z0-9-]*) echo "build arg SERVICE must be gateway or a module name (got '$SERVICE')" >&2; exit 1 ;; \
      *) [ -f "subgraphs/$SERVICE/module.yaml" ] || { echo "build arg SERVICE: no module subgraphs/$SERVICE (got '$SERVICE')" >&2; exit 1; } ;; \
    esac
# Not `npm ci`: the lockfile names other platforms' optional binaries, which a partial
# registry mirror answers 404 for.
# Services in containers use PostgreSQL: no embedded database template.
ENV PLATFORM_SKIP_EMBEDDED_TEMPLATE=1
RUN npm install --no-audit --no-fund \
 && npm run build \
 && npm prune --omit=dev --no-audit --no-fund
# Assemble exactly what this service needs at run time: production node_modules (workspace
# packages are symlinks into /app/<package>), every workspace's package.json, the kernel and
# this service's compiled output, config, committed schemas and module manifests.
RUN set -eu; \
    dir=$([ "$SERVICE" = gateway ] && echo gateway || echo "subgraphs/$SERVICE"); \
    mkdir -p /out; \
    cp -a package.json node_modules config schema /out/; \
    for pkg in kernel gateway scripts test subgraphs/*; do \
      [ -f "$pkg/package.json" ] && mkdir -p "/out/$pkg" && cp "$pkg/package.json" "/out/$pkg/"; \
      [ -f "$pkg/module.yaml" ] && cp "$pkg/module.yaml" "/out/$pkg/"; \
      true; \
    done; \
    cp -a kernel/dist /out/kernel/dist; \
    cp -a "$dir/dist" "/out/$dir/dist"; \
    find /out -name '*.tsbuildinfo' -delete; \
    echo "$dir" > /out/.service-dir

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ARG PORT=4000
ENV NODE_ENV=production \
    PLATFORM_ENV=production \
    APOLLO_TELEMETRY_DISABLED=true \
    DATA_DIR=/data \
    SERVICE=${SERVICE} \
    HEALTHCHECK_PORT=${PORT}
WORKDIR /app
COPY --from=builder --chown=root:root /out /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.HEALTHCHECK_PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# exec: node is PID 1 and receives SIGTERM itself, so in-flight requests drain.
CMD ["/bin/sh", "-c", "exec node \"$(cat /app/.service-dir)/dist/main.js\""]
