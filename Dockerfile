# Gauntlet: one image for the controller, the agents, the fault holders and the demo target.
#
#   npm run image                      (scripts/image.sh: picks the bases, passes the CA bundle, tags gauntlet:local)
#   docker run --rm gauntlet:local --help
#
# Needs BuildKit (DOCKER_BUILDKIT=1 on Docker 20.10; the default from 23.0 on) for the secret and cache
# mounts below. No `# syntax=` line on purpose: it would pull a frontend image from a registry, and the
# frontend built into Docker 20.10 already knows `RUN --mount`.
# The entrypoint is the `gauntlet` CLI; the demo target overrides it (see docker-compose.yml).
# docs/deployment.md describes the image, the compose file and the environment variables.

# Both stages must run the same Node build: better-sqlite3's native binary is compiled (or downloaded)
# for this Node ABI, glibc and CPU architecture, and the runtime stage reuses it as is. By default both
# stages use NODE_IMAGE. Where no registry is reachable, scripts/image.sh passes two Debian images made
# from the same packages (nodejs of one Debian release): BUILD_IMAGE = NODE_IMAGE + npm, Node headers
# and the compiler.
ARG NODE_IMAGE=node:20-bookworm-slim
ARG BUILD_IMAGE=${NODE_IMAGE}

FROM ${BUILD_IMAGE} AS build
# better-sqlite3 first tries a prebuilt binary (prebuild-install, downloaded from GitHub); when none
# matches or the download fails it compiles with node-gyp, which needs these tools. Build stage only;
# installed only when the base lacks them (the Debian build base has them already).
RUN if command -v python3 && command -v make && command -v g++; then echo "build tools present"; else \
      apt-get update \
      && apt-get install -y --no-install-recommends python3 make g++ \
      && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /app
# The whole context at once: `npm ci` runs the root "prepare" script (npm run build), which needs the
# sources. .dockerignore keeps node_modules, dist and *.tsbuildinfo out, so the build starts clean
# (a stale tsbuildinfo without its dist/ would make tsc -b skip emitting).
COPY . .
# The CA bundle is a build secret: mounted for this one RUN only, never part of a layer. Where HTTPS
# goes through a TLS-inspecting proxy, npm trusts the proxy's CA only through it (scripts/image.sh passes
# the host's /etc/ssl/certs/ca-certificates.crt; without the secret npm uses its own CA list).
# node-gyp compiles against the headers next to this Node (/usr/local in the official image, /usr in
# Debian's libnode-dev), so no header download either. The npm cache is a BuildKit cache mount: reused
# by the next build, never in the image.
# 1. install exactly the lockfile and compile every workspace into its dist/ (prepare: npm run build);
# 2. fail here, not at run time, if the compiled CLI or the TypeBox bundle is missing;
# 3. drop devDependencies (typescript, vitest, @types/*); workspace links and native builds stay;
# 4. smoke test after pruning: the CLI loads all its modules and SQLite opens a database.
RUN --mount=type=secret,id=ca_bundle,target=/run/secrets/ca_bundle \
    --mount=type=cache,target=/root/.npm \
    if [ -s /run/secrets/ca_bundle ]; then \
      export npm_config_cafile=/run/secrets/ca_bundle NODE_EXTRA_CA_CERTS=/run/secrets/ca_bundle; \
    fi \
 && export npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")" \
 && npm ci --no-audit --no-fund \
 && test -f apps/controller/dist/cli/main.js \
 && test -f apps/demo-target/dist/main.js \
 && test -f packages/contracts/dist/typebox.bundle.js \
 && npm prune --omit=dev --no-audit --no-fund \
 && test ! -e node_modules/typescript \
 && node apps/controller/bin/gauntlet.js --help >/dev/null \
 && node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# tc and iptables: a fault holder (this image, run as root in a target's network namespace) applies and
# reverts faults with them. Installed only when the base lacks them (the Debian base has them).
# The unprivileged user `node` (uid 1000) runs the controller and the load agents. The official Node
# images have it; the Debian base has no useradd (package passwd is not in a minimal rootfs), so the
# user is written into /etc/passwd and /etc/group directly when missing.
# /data: the working directory and, in compose, the controller's named volume. No VOLUME instruction:
# it would give every container that mounts nothing there an anonymous volume.
RUN if command -v tc && command -v iptables; then echo "tc and iptables present"; else \
      apt-get update \
      && apt-get install -y --no-install-recommends iproute2 iptables \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && if ! id -u node >/dev/null 2>&1; then \
      echo 'node:x:1000:1000:node:/home/node:/bin/sh' >> /etc/passwd \
      && echo 'node:x:1000:' >> /etc/group \
      && mkdir -p /home/node && chown 1000:1000 /home/node; \
    fi \
 && mkdir -p /data && chown node:node /data
# Code stays root-owned: the process (user node) can read it but not change it.
COPY --from=build /app /app
# Relative defaults (`gauntlet run` keeps .gauntlet/gauntlet.db) land in /data, not in /app.
WORKDIR /data
USER node
EXPOSE 8080
ENTRYPOINT ["node", "/app/apps/controller/bin/gauntlet.js"]
CMD ["--help"]
