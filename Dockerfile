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
# took 20-30 MB off the bench's peak RSS (see the README's Benchmark).
ENV NODE_ENV=production MALLOC_ARENA_MAX=2
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
CMD ["node", "bin/case-intake.js", "start"]
