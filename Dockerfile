# syntax=docker/dockerfile:1
#
# Image of the multiroute server (server/), the workload of rchart's bundled chart.
#
#   docker build -t <registry>/multiroute:<version> .
#
# Base images are pinned by digest, so a rebuild uses exactly the same bases. To move to a
# newer base, look up the digest of the tag and replace both tag and digest:
#   docker buildx imagetools inspect rust:1.95-slim-bookworm --format '{{json .Manifest.Digest}}'
#   docker buildx imagetools inspect gcr.io/distroless/static-debian12:nonroot --format '{{json .Manifest.Digest}}'
# (or `crane digest <image>:<tag>`).

FROM rust:1.95-slim-bookworm@sha256:d7482085ff5b415f84dba5647ae71606650bdef00db7aeb69f4b3d170c3e4082 AS build
WORKDIR /src
# The whole workspace is copied (see .dockerignore): cargo needs every member's manifest and
# targets to load the workspace, even to build one package.
COPY . .
# server/tests/dockerfile.rs runs the command of the RUN instruction between these markers
# (without its --mount flags) and checks that the binary needs no shared library, since the
# runtime image has none. Keep it a single RUN.
# build-command:begin
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked -p multiroute --target x86_64-unknown-linux-gnu
# build-command:end

# distroless/static: no shell, no libc, only CA certificates, tzdata and /etc/passwd.
FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
COPY --from=build /src/target/x86_64-unknown-linux-gnu/release/multiroute /usr/local/bin/multiroute
# Numeric, so that Kubernetes can verify `runAsNonRoot` (65532 is distroless's `nonroot`).
USER 65532:65532
EXPOSE 3000
ENTRYPOINT ["/usr/local/bin/multiroute"]
CMD ["--config", "/config/config.yml"]
