# syntax=docker/dockerfile:1
# One image per service, built from the whole workspace:
#   docker build --build-arg SERVICE=blog --build-arg PORT=4004 -t platform/blog .
# SERVICE is gateway or a module under subgraphs/ (identity, authz, audit, blog, or one added
# with `platformctl modules new`); PORT is the port it listens on (used for EXPOSE and the
# health check only: the service reads its port from config).
# The operator's tool (migrations, seeding, audit verification) for docker-compose.yml's
# `migrate` service and the Kubernetes migration job:
#   docker build --target platformctl -t platform/platformctl .
#
# Layers: the lockfile and the workspaces' package.json files are copied alone before `npm ci`,
# so a change to sources rebuilds the compile step only. Runtime images hold the production
# dependencies of the one workspace they run (`npm ci --omit=dev --workspace …`), never the
# compiler or the test tools.

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app
# No update checks, no phoning home.
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false \
    APOLLO_TELEMETRY_DISABLED=true

# package.json files and the lockfile, nothing else: this stage's output changes only when
# dependencies do, so the `npm ci` layers below stay cached while sources change.
FROM base AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && find . -name node_modules -prune -o -name package.json -type f -exec cp --parents {} /manifests/ \; \
 && cp package-lock.json /manifests/

# The workspace this image runs, checked before anything is installed.
FROM base AS service-dir
ARG SERVICE
COPY --from=manifests /manifests/ ./
RUN case "$SERVICE" in \
      gateway) dir=gateway ;; \
      ''|*[!a-z0-9-]*) echo "build arg SERVICE must be gateway or a module name (got '$SERVICE')" >&2; exit 1 ;; \
      *) dir="subgraphs/$SERVICE" ;; \
    esac \
 && if [ ! -f "$dir/package.json" ]; then echo "build arg SERVICE: no workspace $dir (got '$SERVICE')" >&2; exit 1; fi \
 && echo "$dir" > /service-dir

# Every dependency, dev tools included, to compile. `npm ci` installs exactly the lockfile;
# --ignore-scripts: no dependency runs code at install (argon2 and swc load their prebuilt
# binaries at run time; the root postinstall only prepares the embedded database, which
# containers do not use).
FROM base AS deps
COPY --from=manifests /manifests/ ./
RUN npm ci --ignore-scripts

FROM deps AS build
COPY . .
RUN npm run build

# Production dependencies of the one workspace the image runs; the workspaces it depends on
# (the kernel) are linked and their dependencies installed too, some nested under their folder.
FROM base AS service-deps
COPY --from=manifests /manifests/ ./
COPY --from=service-dir /service-dir /service-dir
RUN npm ci --omit=dev --ignore-scripts --workspace "$(cat /service-dir)"

# What the service reads at run time besides its dependencies: the kernel's and the service's
# compiled output (migrations included), its module.yaml, config/ and the committed schemas
# (the gateway's supergraph). The gateway also gets GraphiQL's bundle, which `npm run build`
# made (gateway/explorer/dist): esbuild is a build tool, absent at run time.
FROM build AS service-files
COPY --from=service-dir /service-dir /service-dir
RUN set -eu; \
    dir=$(cat /service-dir); \
    mkdir /out; \
    cp -a --parents config schema kernel/dist "$dir/dist" /out/; \
    if [ -f "$dir/module.yaml" ]; then cp --parents "$dir/module.yaml" /out/; fi; \
    if [ "$dir" = gateway ]; then cp -a --parents gateway/explorer/dist /out/; fi; \
    find /out -name '*.tsbuildinfo' -delete; \
    ln -s "$dir/dist/main.js" /out/main.js

FROM base AS platformctl-deps
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev --ignore-scripts --workspace scripts

# platformctl runs the TypeScript sources through swc (a production dependency of scripts/), as
# `npx platformctl` does in a checkout: every module's migrations and seed hooks.
FROM build AS platformctl-files
RUN mkdir /out \
 && tar -C /app -cf - --exclude=node_modules --exclude=dist --exclude='*.tsbuildinfo' \
      package.json config schema kernel gateway subgraphs scripts \
    | tar -C /out -xf -

# The operator's tool.
FROM ${NODE_IMAGE} AS platformctl
ENV NODE_ENV=production \
    PLATFORM_ENV=production \
    APOLLO_TELEMETRY_DISABLED=true \
    DATA_DIR=/data
WORKDIR /app
COPY --from=platformctl-deps /app/ ./
COPY --from=platformctl-files /out/ ./
RUN ln -s /app/scripts/bin/platformctl.mjs /usr/local/bin/platformctl \
 && mkdir /data \
 && chown node:node /data
USER node
HEALTHCHECK NONE
ENTRYPOINT ["platformctl"]
CMD ["--help"]

# A service (the default target).
FROM ${NODE_IMAGE} AS service
ARG SERVICE
ARG PORT=4000
ENV NODE_ENV=production \
    PLATFORM_ENV=production \
    APOLLO_TELEMETRY_DISABLED=true \
    DATA_DIR=/data \
    SERVICE=${SERVICE} \
    HEALTHCHECK_PORT=${PORT}
WORKDIR /app
COPY --from=service-deps /app/ ./
COPY --from=service-files /out/ ./
RUN mkdir /data \
 && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE ${PORT}
# Ready, not merely alive: 503 until the database answers and migrations are applied, so
# `depends_on: condition: service_healthy` waits for a service that can serve.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.HEALTHCHECK_PORT + '/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 and receives SIGTERM itself, so in-flight requests drain. main.js links to the
# service's compiled entry (node resolves the link, so its imports resolve from there).
CMD ["node", "main.js"]
