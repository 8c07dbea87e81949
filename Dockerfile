# case-intake: build the TypeScript, then a runtime image with production dependencies only.

# Node 26, the current LTS: the same major as package.json's `engines` and its `node`
# devDependency (test/integration/runtime.test.ts keeps the three in step).
FROM node:26-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (the build) needs the sources, which are copied next; and the
# `node` devDependency's install script would download a second Node 26 the image already has
# (without its script the package installs no binary, so `node` stays the image's own).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build

FROM node:26-bookworm-slim
# MALLOC_ARENA_MAX: glibc gives each thread that allocates (V8's compiler and GC helpers, libuv's
# pool) an arena of its own, up to eight per core, and freed memory stays in them. Two arenas
# took 20-30 MB off the bench's peak RSS (see docs/benchmarks.md).
# MALLOC_MMAP_THRESHOLD_: a fixed threshold keeps every allocation over 128 KiB (message and
# attachment buffers) in its own mapping, given back to the system when freed; glibc's sliding
# default moves them into the heap, where freed memory stays (60-80 MB less at the bench's peak).
ENV NODE_ENV=production MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY templates ./templates
COPY bin ./bin
COPY fixtures ./fixtures
USER node
EXPOSE 3000
# --max-old-space-size=512: V8 lets its old generation grow up to 4x the live set between
# collections when its limit is high (about 4 GB by default here); at 512 MB it is about 1.5x.
# Bench: peak RSS 213-243 MB against 230-317, for 9-26 % more CPU (README, Memory).
CMD ["node", "--max-old-space-size=512", "bin/case-intake.js", "start"]
