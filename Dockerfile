# Gauntlet: one image for the controller, the agents and the demo target.
#
#   docker build -t gauntlet .
#   docker run --rm gauntlet --help
#
# The entrypoint is the `gauntlet` CLI; the demo target overrides it (see docker-compose.yml).
# docs/deployment.md describes the image, the compose file and the environment variables.

# Both stages must use the same base: better-sqlite3's native binary is built (or downloaded) for this
# Node ABI, glibc and CPU architecture, and the runtime stage reuses it as is.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# better-sqlite3 first tries a prebuilt binary (prebuild-install, downloaded from GitHub); when none
# matches or the download fails it compiles with node-gyp, which needs these tools. Build stage only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# node-gyp: compile against the headers shipped in the image instead of downloading them.
ENV npm_config_nodedir=/usr/local
WORKDIR /app
# The whole context at once: `npm ci` runs the root "prepare" script (tsc -b), which needs the
# sources. .dockerignore keeps node_modules, dist and *.tsbuildinfo out, so the build starts clean
# (a stale tsbuildinfo without its dist/ would make tsc -b skip emitting).
COPY . .
# 1. install exactly the lockfile and compile every workspace into its dist/ (prepare: tsc -b);
# 2. fail here, not at run time, if the compiled CLI is missing;
# 3. drop devDependencies (typescript, vitest, @types/*); workspace links and native builds stay;
# 4. smoke test after pruning: the CLI loads all its modules and SQLite opens a database.
RUN npm ci --no-audit --no-fund \
 && test -f apps/controller/dist/cli/main.js \
 && test -f apps/demo-target/dist/main.js \
 && npm prune --omit=dev --no-audit --no-fund \
 && test ! -e node_modules/typescript \
 && node apps/controller/bin/gauntlet.js --help >/dev/null \
 && node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# Code stays root-owned: the process (user node) can read it but not change it.
COPY --from=build /app /app
# The SQLite database (and its WAL files) live here. The directory is created and handed to `node`
# before VOLUME so that a fresh named volume mounted here inherits that ownership.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
# Relative defaults (`gauntlet run` keeps .gauntlet/gauntlet.db) land in the volume, not in /app.
WORKDIR /data
USER node
EXPOSE 8080
ENTRYPOINT ["node", "/app/apps/controller/bin/gauntlet.js"]
CMD ["--help"]
