# dsmr-exporter container image.
#   docker build -t dsmr-exporter .
#   docker run --rm -p 9947:9947 dsmr-exporter --demo
#   docker run --rm -p 9947:9947 --device /dev/ttyUSB0 dsmr-exporter --serial /dev/ttyUSB0
# Every flag can also be given as an environment variable, e.g. -e DSMR_EXPORTER_SERIAL=/dev/ttyUSB0.

FROM rust:1-bookworm AS build
WORKDIR /src
# .dockerignore keeps target/, .git and the monitoring files out of the context.
COPY . .
RUN cargo build --release --locked --bin dsmr-exporter \
    && install -m 0755 target/release/dsmr-exporter /usr/local/bin/dsmr-exporter

FROM debian:bookworm-slim
LABEL org.opencontainers.image.title="dsmr-exporter" \
      org.opencontainers.image.description="Prometheus exporter for DSMR / e-MUCS smart meter P1 ports" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
# An unprivileged user in the `dialout` group (gid 20 on Debian, Ubuntu and Raspberry Pi OS),
# which owns serial devices such as /dev/ttyUSB0. If the device belongs to another group on
# your host, add it with `group_add` (compose) or `--group-add` (docker run).
RUN useradd --system --uid 10001 --user-group --groups dialout \
        --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin dsmr
COPY --from=build /usr/local/bin/dsmr-exporter /usr/local/bin/dsmr-exporter
USER dsmr
EXPOSE 9947
ENTRYPOINT ["dsmr-exporter"]
