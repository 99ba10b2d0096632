# portcullis agent image: `docker build -t portcullis .` (the Kubernetes manifests are in deploy/kubernetes).
# Two stages: TypeScript is compiled with the dev dependencies, the runtime image gets only the
# production ones, git (with ssh) for the config repo and nftables for the node provider.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
# --ignore-scripts: `prepare` compiles, and the sources are not copied yet.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY agent ./agent
COPY policies ./policies
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates nftables \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 portcullis \
 && useradd --system --uid 10001 --gid portcullis --home-dir /tmp --shell /usr/sbin/nologin portcullis \
 && mkdir -p /var/cache/portcullis && chown 10001:10001 /var/cache/portcullis
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY schemas ./schemas
COPY templates ./templates
COPY policies ./policies
ENV NODE_ENV=production \
    XDG_CACHE_HOME=/var/cache \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
# The numeric id, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 9464
ENTRYPOINT ["node", "/app/dist/agent/cli.js"]
CMD ["run", "--listen", "0.0.0.0:9464"]
