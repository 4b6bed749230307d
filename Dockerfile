# syntax=docker/dockerfile:1
# The platform's image: `casework` (every service, the web front end, the
# migrations and the operator's commands) and `casework-broker` (the
# embedded Kafka-protocol broker `casework up` starts), on Debian slim, as a
# non-root user. One image for every Deployment of the Helm chart
# (helm/casework): each runs `casework serve <service>`.
#
#   docker build -t casework .
#   docker run --rm -p 8080:8080 casework up --listen 0.0.0.0:8080
#
# Not built on the project's CI machines (no Docker engine there);
# tests/cluster.rs checks what it names exists in the workspace.

ARG RUST_VERSION=1.95
ARG DEBIAN=bookworm

# The GOV.UK Design System's files, which the web front end serves at /assets.
FROM docker.io/library/node:20-${DEBIAN}-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM docker.io/library/rust:${RUST_VERSION}-${DEBIAN} AS build
WORKDIR /src
COPY . .
# The locked lockfile, release profile, both binaries in one invocation so
# shared dependencies compile once. Cache mounts keep the registry and target
# between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release -p casework -p casework-broker \
 && install -D -m 0755 target/release/casework /out/usr/local/bin/casework \
 && install -D -m 0755 target/release/casework-broker /out/usr/local/bin/casework-broker

FROM docker.io/library/debian:${DEBIAN}-slim AS runtime
# The binaries link libc, libm, libgcc_s and zlib, all in the base image;
# CA certificates for the identity provider, OTLP collector and Notify.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 casework \
 && useradd --system --uid 10001 --gid casework --home-dir /app --shell /usr/sbin/nologin casework \
 && install -d -o casework -g casework /data
COPY --from=build /out/ /
WORKDIR /app
# What the settings' `paths` name, relative to the working directory.
COPY config ./config
COPY schemas ./schemas
COPY --from=assets /src/node_modules/govuk-frontend/dist/govuk ./node_modules/govuk-frontend/dist/govuk
USER 10001:10001
ENV CASEWORK__DATA_DIR=/data \
    CASEWORK__HTTP__LISTEN=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
# Liveness and readiness are HTTP: GET /livez and GET /readyz on 8080 (the
# chart's probes); no shell or curl is needed in the image for them.
ENTRYPOINT ["/usr/local/bin/casework"]
CMD ["up", "--listen", "0.0.0.0:8080"]
