# syntax=docker/dockerfile:1
# netpol-ctrl image: build on Debian bookworm with the packages scripts/setup
# installs, run on bookworm-slim with only the shared libraries the binary
# links. Build from the repository root:
#
#   docker build -t netpol-ctrl:0.1.0 .
#
# Without Docker, `make image` builds the same image (scripts/build-image).
# Both read the runtime packages from scripts/image-runtime-packages;
# test/deploy/dockerfile_libs_test.sh checks that the list covers
# `ldd build/netpol-ctrl` and that this file still reads it.

# ---- build ------------------------------------------------------------------
FROM debian:bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
# The package list is read from scripts/setup (its PACKAGES array), so the
# image builds with exactly what developers build with. scripts/setup itself
# also requires Go for the test control plane, which an image build does not
# need, hence the list rather than the script.
COPY scripts/setup scripts/setup
RUN eval "$(sed -n '/^PACKAGES=(/,/^)/p' scripts/setup)" \
    && test "${#PACKAGES[@]}" -gt 0 \
    && apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       "${PACKAGES[@]}" \
    && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake --preset release -DNPC_BUILD_TESTS=OFF -DNPC_BUILD_BENCH=OFF \
    && cmake --build build --target netpol-ctrl -j "$(nproc)" \
    && strip --strip-unneeded build/netpol-ctrl \
    && build/netpol-ctrl --version

# ---- runtime ----------------------------------------------------------------
FROM debian:bookworm-slim
# The packages of scripts/image-runtime-packages: the runtime half of each
# -dev package the build links, and ca-certificates. `make image` builds the
# same image without Docker from the same list (scripts/build-image).
RUN --mount=type=bind,source=scripts/image-runtime-packages,target=/tmp/image-runtime-packages \
    apt-get update -qq \
    && sed -e 's/#.*//' /tmp/image-runtime-packages \
       | xargs env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/netpol-ctrl /usr/local/bin/netpol-ctrl
# The same uid/gid as the Deployment's securityContext; no home, no shell use.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/netpol-ctrl"]
CMD ["run"]
