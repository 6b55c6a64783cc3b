#!/usr/bin/env bash
# The whole test suite. Installs the Debian packages the tests need when they
# are missing (promtool, prometheus, docker-compose, socat, chromium,
# chromium-driver, systemd-socket-activate), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v socat >/dev/null 2>&1 || need+=(socat)
# tests/operator_http.rs: socket activation (systemd-socket-activate) and
# systemd-analyze verify of the units.
command -v systemd-socket-activate >/dev/null 2>&1 || need+=(systemd)
# tests/browser.rs: the live page in headless Chromium, driven by chromedriver.
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "test.sh: installing ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The tests start their own Prometheus and exporters on free loopback ports,
# so a Prometheus service that the package may have started does not matter.

# The shipped build (release: link-time optimised), so CI proves it builds;
# then every test, in the `suite` profile (Cargo.toml: optimised, built
# faster).
cargo build --locked --release --bin dsmr-exporter
cargo test --locked --profile suite --workspace --all-targets
