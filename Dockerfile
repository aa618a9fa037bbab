# syntax=docker/dockerfile:1
#
# sgx-quote-helper container images.
#
#   docker build -t REGISTRY/sgx-quote-helper:0.1.0 .                         # sim, upstream, webhook
#   docker build --target dcap -t REGISTRY/sgx-quote-helper:0.1.0-dcap .      # + Intel DCAP runtime
#
# The Helm chart uses the plain tag for provider sim/upstream and the webhook, and "<tag>-dcap" for
# provider dcap/auto. Nothing here has been built on the project's machines (they have no container
# engine); the file is kept correct by review. See docs/kubernetes.md.

ARG NODE_IMAGE=node:20-bookworm-slim
# Intel publishes its SGX/DCAP apt repository for Ubuntu only. The runtime libraries must come from
# there, so the hardware variant runs on Ubuntu; its glibc (2.39 on 24.04) is newer than the build
# stage's (2.36), which keeps the native addons compiled below loadable.
ARG DCAP_BASE_IMAGE=ubuntu:24.04
ARG SGX_REPO_SUITE=noble

# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# better-sqlite3 is a native addon; when no prebuilt binary can be fetched it compiles from source.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own "prepare" (tsc) needs the sources, which are copied later so
# that this dependency layer stays cached. `npm rebuild` then runs the dependencies' install scripts.
RUN npm ci --ignore-scripts && npm rebuild
COPY tsconfig.json tsconfig.build.json ./
COPY proto ./proto
COPY src ./src
RUN npm run build && npm prune --omit=dev

# ---------------------------------------------------------------------------------------------------
# Default image: simulated or upstream provider and the admission webhook. No SGX libraries.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/proto ./proto
LABEL org.opencontainers.image.title="sgx-quote-helper" \
      org.opencontainers.image.description="AESM-compatible SGX quote helper (sim/upstream providers) and admission webhook" \
      org.opencontainers.image.licenses="Apache-2.0"
# Non-root: the sim and upstream providers and the webhook need no device access. (The chart's init
# container hands the hostPath socket directory to this UID.)
USER 65532:65532
# The CLI installs its own SIGTERM handlers (drain, handover), so node can run as PID 1.
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["serve", "--provider=sim"]

# ---------------------------------------------------------------------------------------------------
# Hardware image: adds Intel's DCAP quote generation runtime for --provider dcap.
FROM ${DCAP_BASE_IMAGE} AS dcap
ARG SGX_REPO_SUITE
ARG SGX_REPO_URL=https://download.01.org/intel-sgx/sgx_repo/ubuntu
# libsgx-dcap-ql: the quote library the dcap provider loads (libsgx_dcap_ql.so.1); it brings the QE3
#   and PCE enclaves (libsgx-qe3-logic, libsgx-pce-logic) and the enclave loader.
# libsgx-dcap-default-qpl: the quote provider library that fetches PCK certificates from the PCCS named
#   in /etc/sgx_default_qcnl.conf (the chart mounts that file from provider.dcap.pccsUrl).
# libsgx-quote-ex: what libsgx_dcap_ql switches to when SGX_AESM_ADDR is set; present so that
#   misconfiguration fails with an AESM error, not a missing library. The daemon itself must run
#   WITHOUT SGX_AESM_ADDR, or the library would try to quote through a socket instead of the enclave.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && install -d -m 0755 /etc/apt/keyrings \
 && curl -fsSL "${SGX_REPO_URL}/intel-sgx-deb.key" | gpg --dearmor -o /etc/apt/keyrings/intel-sgx.gpg \
 && echo "deb [arch=amd64 signed-by=/etc/apt/keyrings/intel-sgx.gpg] ${SGX_REPO_URL} ${SGX_REPO_SUITE} main" \
      > /etc/apt/sources.list.d/intel-sgx.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      libsgx-dcap-ql libsgx-dcap-default-qpl libsgx-quote-ex libsgx-pce-logic libsgx-qe3-logic \
 && apt-get purge -y curl gnupg \
 && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/node /usr/local/bin/node
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/proto ./proto
LABEL org.opencontainers.image.title="sgx-quote-helper-dcap" \
      org.opencontainers.image.description="AESM-compatible SGX quote helper with Intel DCAP runtime libraries" \
      org.opencontainers.image.licenses="Apache-2.0"
# Root, with every capability dropped by the chart: /dev/sgx_provision is owned by root:sgx_prv on the
# host and the sgx_prv GID differs between distributions. Set provider.dcap.supplementalGroups and run
# as another UID if you know the GID on your nodes.
USER 0:0
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["serve", "--provider=dcap"]

# The default target is the plain image.
FROM runtime
