# case-intake: build the TypeScript, then a runtime image with production dependencies only.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (the build) needs the sources, which are copied next.
# `npm install` is the fallback while package-lock.json lacks the other platforms' optional
# binaries (npm ci then refuses it as out of sync); it installs the locked versions all the same.
RUN npm ci --ignore-scripts --no-audit --no-fund || npm install --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build

FROM node:20-bookworm-slim
# MALLOC_ARENA_MAX: glibc gives each thread that allocates (V8's compiler and GC helpers, libuv's
# pool) an arena of its own, up to eight per core, and freed memory stays in them. Two arenas
# took 20-30 MB off the bench's peak RSS (see docs/benchmarks.md).
# MALLOC_MMAP_THRESHOLD_: a fixed threshold keeps every allocation over 128 KiB (message and
# attachment buffers) in its own mapping, given back to the system when freed; glibc's sliding
# default moves them into the heap, where freed memory stays (60-80 MB less at the bench's peak).
ENV NODE_ENV=production MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
COPY package.json package-lock.json ./
RUN (npm ci --omit=dev --ignore-scripts --no-audit --no-fund || npm install --omit=dev --ignore-scripts --no-audit --no-fund) \
 && npm cache clean --force
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
