# syntax=docker/dockerfile:1
# numflow container image: numflow-ingest and numflow-transform in /usr/local/bin, run as the
# non-root user 65532, on debian:12-slim with only the shared libraries they load.
#
#   docker build -t ghcr.io/numflow/numflow:0.1.0 .        (or: buildah bud / podman build / kaniko)
#
# The Helm chart (helm/numflow) runs this image by default (image.repository
# ghcr.io/numflow/numflow, tag = the chart's appVersion); it starts each container with an
# explicit command, so the image's default command (numflow-ingest) only matters for `docker run`.
#
# On the project's machines, which reach Debian's package mirrors but no container registry,
# scripts/build-image.sh builds it with buildah (chroot isolation, overlay storage, as root) on
# base images it makes from Debian packages (mmdebstrap) and imports as localhost/debian:12 and
# localhost/debian:12-slim, then runs both binaries' --help in it as uid 65532: a 140 MB image,
# ~4 min of build on 2 cores (docs/operations.md, "Checks"). Any builder can substitute base
# images the same way: --build-arg DEBIAN_IMAGE=... --build-arg RUNTIME_IMAGE=....
#
# Stage 1 builds with the same Debian 12 packages as scripts/install-deps.sh (its build
# libraries only: no Kafka broker, Java, Maven or benchmark library), and builds only the two
# service binaries. GoogleTest is installed because the top-level CMakeLists.txt requires it at
# configure time; no test is built.

ARG DEBIAN_IMAGE=debian:12
ARG RUNTIME_IMAGE=debian:12-slim

FROM ${DEBIAN_IMAGE} AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      librdkafka-dev rapidjson-dev prometheus-cpp-dev libphonenumber-dev libicu-dev libboost-dev \
      libssl-dev libcurl4-openssl-dev libyaml-cpp-dev libgtest-dev libgmock-dev libgoogle-perftools-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# NUMFLOW_BUILD_JOBS: parallel compile jobs (default: all cores of the builder).
ARG NUMFLOW_BUILD_JOBS=0
RUN set -eu; \
    rm -rf /src/build; \
    jobs="$NUMFLOW_BUILD_JOBS"; [ "$jobs" -gt 0 ] || jobs="$(nproc)"; \
    cmake -S . -B /src/build -G Ninja -DCMAKE_BUILD_TYPE=Release -DNUMFLOW_BENCH=OFF; \
    cmake --build /src/build --target numflow-ingest numflow-transform -j "$jobs"; \
    strip --strip-unneeded /src/build/ingest/numflow-ingest /src/build/transform/numflow-transform; \
    /src/build/ingest/numflow-ingest --help >/dev/null; \
    /src/build/transform/numflow-transform --help >/dev/null

FROM ${RUNTIME_IMAGE} AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# The runtime shared libraries of the two binaries (their dependencies, e.g. libprotobuf32,
# libicu72 and libabsl for libphonenumber8, come along) and CA certificates for TLS to Kafka and
# the 8x8 API. Nothing else: no shell tools are added, apt's lists and caches are removed (the
# *.bin caches too: base images without the official images' apt settings keep ~80 MB of them).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      librdkafka1 libphonenumber8 libprometheus-cpp-core1.0 libyaml-cpp0.7 libssl3 libcurl4 libtcmalloc-minimal4 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log
COPY --from=build /src/build/ingest/numflow-ingest /src/build/transform/numflow-transform /usr/local/bin/
# Fail the build, not the first pod, when a shared library is missing.
RUN set -eu; \
    if ldd /usr/local/bin/numflow-ingest /usr/local/bin/numflow-transform | grep 'not found'; then exit 1; fi; \
    /usr/local/bin/numflow-ingest --help >/dev/null; \
    /usr/local/bin/numflow-transform --help >/dev/null

LABEL org.opencontainers.image.title="numflow" \
      org.opencontainers.image.description="Phone-number inventory webhooks (8x8, Zoom, RingCentral) to a compacted Kafka table"

# 65532: the conventional "nonroot" uid/gid (distroless); the Helm chart runs pods with it.
USER 65532:65532
# 8080 ingest webhooks + /healthz /readyz; 9090 ingest /metrics; 9091 transform /metrics /healthz /readyz.
EXPOSE 8080 9090 9091
ENTRYPOINT []
CMD ["/usr/local/bin/numflow-ingest"]
