#!/usr/bin/env bash
# Installs what the test suite, the lab and the benchmarks need on a fresh machine of this kind
# (Debian 12 with the Rust toolchain). Idempotent: only missing pieces are installed.
set -euo pipefail

need_apt=()
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
# crates/mrproxy/tests/e2e_unit.rs traces the daemon and reads the unit's system call sets.
command -v strace >/dev/null 2>&1 || need_apt+=(strace)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
if [ "${MRPROXY_WITH_IGMPPROXY:-0}" = 1 ] && ! command -v igmpproxy >/dev/null 2>&1 \
   && [ ! -x /usr/sbin/igmpproxy ]; then
  need_apt+=(igmpproxy)
fi
# The package and documentation checks (scripts/check-package.sh, scripts/check-docs.sh).
command -v dpkg-shlibdeps >/dev/null 2>&1 || need_apt+=(dpkg-dev)
command -v man >/dev/null 2>&1 || need_apt+=(man-db)
command -v groff >/dev/null 2>&1 || need_apt+=(groff-base)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ "${MRPROXY_SKIP_FUZZ:-0}" != 1 ] && ! cargo fuzz --version >/dev/null 2>&1; then
  echo "setup: installing cargo-fuzz (once)"
  cargo install cargo-fuzz --locked --quiet
fi

if [ "${MRPROXY_SKIP_DEPS_CHECK:-0}" != 1 ] && ! cargo machete --version >/dev/null 2>&1; then
  echo "setup: installing cargo-machete (once)"
  cargo install cargo-machete --locked --quiet
fi
