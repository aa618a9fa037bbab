# syntax=docker/dockerfile:1
#
# sgx-quote-helper container images.
#
#   docker build -t REGISTRY/sgx-quote-helper:0.1.0 .                         # sim, upstream, webhook
#   docker build --target dcap -t REGISTRY/sgx-quote-helper:0.1.0-dcap .      # + Intel DCAP runtime
#   docker build --target dcap --build-arg QPL=azure -t REGISTRY/sgx-quote-helper:0.1.0-dcap-azure .
#
# The Helm chart uses the plain tag for provider sim/upstream and the webhook, and "<tag>-dcap" for
# provider dcap/auto. Nothing here has been built on the project's machines (they have no container
# engine); test/k8s/dockerfile.test.ts checks it statically. See docs/kubernetes.md.

# Node 24 (the current LTS), the same release CI tests on (.ci/run NODE24_VERSION). Pinned by version
# tag; no digest is recorded because none could be looked up from the project's machines: add
# "@sha256:..." here once you have pulled and checked the image.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim
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
CMD ["serve", "--provider", "sim", "--init"]

# ---------------------------------------------------------------------------------------------------
# Hardware image: adds Intel's DCAP quote generation runtime for --provider dcap.
FROM ${DCAP_BASE_IMAGE} AS dcap
ARG SGX_REPO_SUITE
ARG SGX_REPO_URL=https://download.01.org/intel-sgx/sgx_repo/ubuntu
# Quote provider library (QPL), which fetches the PCK certificate chain that goes into each quote:
#   intel: Intel's default QPL (libsgx-dcap-default-qpl) with its config file /etc/sgx_default_qcnl.conf,
#          pointed at a PCCS (the chart writes that file from provider.dcap.pccsUrl);
#   azure: Microsoft's az-dcap-client, which fetches from Azure's THIM/ACC cache on Azure VMs.
ARG QPL=intel
ARG MS_REPO_URL=https://packages.microsoft.com/ubuntu/24.04/prod
# Intel's quote generation packages:
# libsgx-dcap-ql: the quote library the dcap provider loads (libsgx_dcap_ql.so.1) from the system path;
#   it depends on the QE3 and PCE logic libraries (libsgx-qe3-logic, libsgx-pce-logic), which bring the
#   signed enclaves (libsgx-ae-qe3, libsgx-ae-pce, libsgx-ae-id-enclave) and the enclave loader
#   (libsgx-urts, libsgx-enclave-common). They are listed explicitly so a packaging change fails here.
# libsgx-quote-ex: what libsgx_dcap_ql switches to when SGX_AESM_ADDR is set; present so that
#   misconfiguration fails with an AESM error, not a missing library. The daemon removes SGX_AESM_ADDR
#   from its own environment before loading the library (otherwise it would quote through a socket).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && install -d -m 0755 /etc/apt/keyrings \
 && curl -fsSL "${SGX_REPO_URL}/intel-sgx-deb.key" | gpg --dearmor -o /etc/apt/keyrings/intel-sgx.gpg \
 && echo "deb [arch=amd64 signed-by=/etc/apt/keyrings/intel-sgx.gpg] ${SGX_REPO_URL} ${SGX_REPO_SUITE} main" \
      > /etc/apt/sources.list.d/intel-sgx.list \
 && case "${QPL}" in \
      intel) qpl_packages="libsgx-dcap-default-qpl" ;; \
      azure) curl -fsSL https://packages.microsoft.com/keys/microsoft.asc | gpg --dearmor -o /etc/apt/keyrings/microsoft.gpg \
             && echo "deb [arch=amd64 signed-by=/etc/apt/keyrings/microsoft.gpg] ${MS_REPO_URL} ${SGX_REPO_SUITE} main" \
                  > /etc/apt/sources.list.d/microsoft-prod.list \
             && qpl_packages="az-dcap-client" ;; \
      *) echo "QPL must be intel or azure, not '${QPL}'" >&2; exit 1 ;; \
    esac \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      libsgx-dcap-ql libsgx-qe3-logic libsgx-pce-logic libsgx-ae-qe3 libsgx-ae-pce libsgx-ae-id-enclave \
      libsgx-urts libsgx-enclave-common libsgx-quote-ex ${qpl_packages} \
 && apt-mark manual $(dpkg-query -W -f='${Package}\n' 'libcurl4*') \
 && apt-get purge -y curl gnupg \
 && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*
# (libcurl stays: Intel's QPL dlopens libcurl.so.4 without declaring it, so autoremove would drop it.)
# The root filesystem is read-only under the chart; the QPL's collateral cache goes to the /tmp volume.
ENV XDG_CACHE_HOME=/tmp
COPY --from=build /usr/local/bin/node /usr/local/bin/node
ENV NODE_ENV=production
# This image only runs the daemon: its V8 heap settings (src/daemon/node-flags.ts, docs/operations.md
# "Memory"). The runtime image also runs attest and webhook, so there the chart sets them per workload.
ENV NODE_OPTIONS="--max-old-space-size=256 --max-semi-space-size=1"
ENV MALLOC_ARENA_MAX=2
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
CMD ["serve", "--provider", "dcap"]

# The default target is the plain image.
FROM runtime
