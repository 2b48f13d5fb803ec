# syntax=docker/dockerfile:1
# Build stage: compiles TypeScript and the sqlite3 native addon, then drops dev dependencies.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: only the compiled app and production dependencies, as the unprivileged user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PORT=8080 \
    RECORDINGS_DIR=/app/recordings
WORKDIR /app
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
RUN mkdir -p /app/recordings && chown node:node /app/recordings
USER node
# Captures, cloud copies and the SQLite store live here: keep them on a volume.
VOLUME ["/app/recordings"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM from `docker stop` finalises every open capture before exit.
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
