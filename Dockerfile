# syntax=docker/dockerfile:1
# backupy images (docs/container.md):
#   docker build -t backupy-agent .                                  agent (the default target)
#   docker build -t backupy-control-plane --target control-plane .   control plane
# Build arguments for the OCI labels: VERSION, REVISION (the git commit, also baked into the
# binaries), CREATED (RFC 3339).
#
# Paths and ids come from deploy/image/layout.env: every `ARG NAME=value` below that names one
# of its keys must carry the same value (tests/image/lint_dockerfile.py checks it), and
# scripts/runtime-layout.sh assembles and runs the same layout without a Docker engine.
ARG DEBIAN_IMAGE=docker.io/library/debian:bookworm-slim

# ---- build: all apps in Release, no tests -----------------------------------------------------
FROM ${DEBIAN_IMAGE} AS build
ARG REVISION=unknown
WORKDIR /src
# setup.sh alone first: the package layer stays cached while the sources change.
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh --build-only && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBACKUPY_BUILD_TESTS=OFF \
        -DBACKUPY_COMMIT="${REVISION}" \
 && ninja -C /build backupy-agent backupy-decrypt backupy-control-plane \
 && install -d /out \
 && install -m 0755 -s /build/apps/agent/backupy-agent /build/apps/decrypt/backupy-decrypt \
        /build/apps/control-plane/backupy-control-plane /out/

# ---- control-plane: `--target control-plane` ---------------------------------------------------
FROM ${DEBIAN_IMAGE} AS control-plane
ARG DEBIAN_IMAGE
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG BACKUPY_USER=backupy
ARG BACKUPY_UID=1000
ARG BACKUPY_GID=1000
ARG BIN_DIR=/usr/local/bin
ARG TINI=/usr/bin/tini
ARG CP_STATE_DIR=/var/lib/backupy-control-plane
ARG CP_CONFIG=/var/lib/backupy-control-plane/config.yaml
ARG CP_HEALTH_URL=https://127.0.0.1:8443/healthz
# curl: the HEALTHCHECK (the control plane serves /healthz over TLS only); sqlite3: the
# catalog commands of docs/operations.md. CP_LIBRARIES: what the binaries link (checked
# against ldd by scripts/runtime-layout.sh).
ARG CP_PACKAGES="ca-certificates tzdata tini curl sqlite3"
ARG CP_LIBRARIES="libprotobuf32 libssl3 libsqlite3-0 libyaml-cpp0.7 libdate-tz3 libprometheus-cpp-core1.0 libzstd1 zlib1g libstdc++6 libgcc-s1"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ${CP_PACKAGES} ${CP_LIBRARIES} \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid "${BACKUPY_GID}" "${BACKUPY_USER}" \
 && useradd --uid "${BACKUPY_UID}" --gid "${BACKUPY_GID}" --no-create-home \
        --home-dir "${CP_STATE_DIR}" --shell /usr/sbin/nologin "${BACKUPY_USER}" \
 && install -d -o "${BACKUPY_UID}" -g "${BACKUPY_GID}" -m 0700 "${CP_STATE_DIR}"
COPY --from=build /out/backupy-control-plane /out/backupy-decrypt ${BIN_DIR}/
RUN ! ldd ${BIN_DIR}/backupy-control-plane ${BIN_DIR}/backupy-decrypt | grep 'not found' \
 && backupy-control-plane version
LABEL org.opencontainers.image.title="backupy-control-plane" \
      org.opencontainers.image.description="Self-hosted control plane for backupy agents" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${DEBIAN_IMAGE}" \
      org.opencontainers.image.documentation="docs/container.md"
# The YAML lives in the state volume so that its relative paths (catalog.db, master.key,
# dev-tls/, local storage) land there too; `listen` must be 0.0.0.0:8443 in a container.
# The health check tolerates the certificate (-k): it asks loopback, which the certificate
# need not name, and learns only "this process serves TLS". Another port: set
# BACKUPY_CP_HEALTH_URL.
ENV BACKUPY_CP_HEALTH_URL=${CP_HEALTH_URL}
WORKDIR ${CP_STATE_DIR}
VOLUME ${CP_STATE_DIR}
EXPOSE 8443
USER ${BACKUPY_UID}:${BACKUPY_GID}
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD curl -fsS -k --max-time 5 -o /dev/null "$BACKUPY_CP_HEALTH_URL" || exit 1
ENTRYPOINT ["/usr/bin/tini", "--", "backupy-control-plane"]
CMD ["serve", "--config", "/var/lib/backupy-control-plane/config.yaml"]

# ---- agent: the default target (last stage) ----------------------------------------------------
FROM ${DEBIAN_IMAGE} AS agent
ARG DEBIAN_IMAGE
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG BACKUPY_USER=backupy
ARG BACKUPY_UID=1000
ARG BACKUPY_GID=1000
ARG BIN_DIR=/usr/local/bin
ARG TINI=/usr/bin/tini
ARG AGENT_STATE_DIR=/var/lib/backupy
ARG AGENT_METRICS_LISTEN_ADDR=0.0.0.0:9090
ARG AGENT_METRICS_PORT=9090
# The dump tools the drivers run (pg_dump/psql, mariadb-dump), redis-cli and sqlite3 for
# restores, and PID 1. MongoDB's mongodump is not in Debian 12: see docs/container.md.
# AGENT_LIBRARIES: what the binaries link (checked against ldd by scripts/runtime-layout.sh).
ARG AGENT_PACKAGES="ca-certificates tzdata tini postgresql-client-15 mariadb-client redis-tools sqlite3"
ARG AGENT_LIBRARIES="libprotobuf32 libssl3 libsqlite3-0 libzstd1 zlib1g libdate-tz3 libprometheus-cpp-core1.0 libpq5 libmariadb3 libhiredis0.14 libmongoc-1.0-0 libbson-1.0-0 libstdc++6 libgcc-s1"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ${AGENT_PACKAGES} ${AGENT_LIBRARIES} \
 && rm -rf /var/lib/apt/lists/* \
 && install -d /usr/share/backupy \
 && dpkg-query -W -f='${Package} ${Version}\n' postgresql-client-15 mariadb-client redis-tools \
        sqlite3 tini > /usr/share/backupy/tool-versions.txt \
 && groupadd --gid "${BACKUPY_GID}" "${BACKUPY_USER}" \
 && useradd --uid "${BACKUPY_UID}" --gid "${BACKUPY_GID}" --no-create-home \
        --home-dir "${AGENT_STATE_DIR}" --shell /usr/sbin/nologin "${BACKUPY_USER}" \
 && install -d -o "${BACKUPY_UID}" -g "${BACKUPY_GID}" -m 0700 "${AGENT_STATE_DIR}"
COPY --from=build /out/backupy-agent /out/backupy-decrypt ${BIN_DIR}/
RUN ! ldd ${BIN_DIR}/backupy-agent ${BIN_DIR}/backupy-decrypt | grep 'not found' \
 && backupy-agent version
LABEL org.opencontainers.image.title="backupy-agent" \
      org.opencontainers.image.description="Database backup agent (PostgreSQL, MySQL/MariaDB, Redis, SQLite, MongoDB)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${DEBIAN_IMAGE}" \
      org.opencontainers.image.documentation="docs/container.md" \
      io.backupy.tools="pg_dump+psql 15 (postgresql-client-15), mariadb-dump 10.11 (mariadb-client), redis-cli 7.0 (redis-tools), sqlite3 3.40; exact Debian versions in /usr/share/backupy/tool-versions.txt" \
      io.backupy.tools.absent="mongodump: not packaged in Debian 12; add mongodb-database-tools in a derived image or use DOCKER_EXEC (docs/container.md)"
ENV BACKUPY_STATE_DIR=${AGENT_STATE_DIR} \
    BACKUPY_METRICS_LISTEN_ADDR=${AGENT_METRICS_LISTEN_ADDR}
VOLUME ${AGENT_STATE_DIR}
EXPOSE ${AGENT_METRICS_PORT}
USER ${BACKUPY_UID}:${BACKUPY_GID}
# SIGTERM: the agent stops its runs (dump tools get SIGTERM, SIGKILL after 2 s) and exits 0
# within Docker's 10 s; tini forwards it and reaps orphans (dump tools, hooks).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["backupy-agent", "health-check"]
ENTRYPOINT ["/usr/bin/tini", "--", "backupy-agent"]
CMD ["run"]
