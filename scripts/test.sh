#!/usr/bin/env bash
# The whole test suite (README: the second command; HACKING.md: "Tests"). Run as root: the kernel-integration and
# end-to-end tests build their own network namespaces (and always delete them).
#   0. no unused or loosely declared dependency (scripts/check-deps.sh, cargo-machete)
#   1. unit, property and conformance tests of the pure layers (no kernel involved), then the
#      man pages and the unit's sandboxing (scripts/check-docs.sh) and the Debian package
#      (scripts/check-package.sh), and the shipped binary's size (scripts/check-size.sh)
#   2. kernel and namespace end-to-end tests (scripts/kernel-tests.sh: natively where the kernel
#      has multicast routing, else in a QEMU guest that boots a kernel with it)
#   3. a short smoke run of every fuzz target (scripts/fuzz-smoke.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/check-deps.sh
cargo test --locked --release -p mrproxy-types -p mrproxy-wire -p mrproxy-config -p mrproxy-membership -p mrproxy-engine
./scripts/check-docs.sh
./scripts/check-package.sh
./scripts/check-size.sh
./scripts/kernel-tests.sh -p mrproxy-linux -p netlab -p mrproxy -p mrproxy-lab -p bench
if [ "${MRPROXY_SKIP_FUZZ:-0}" != 1 ]; then
  ./scripts/fuzz-smoke.sh "${MRPROXY_FUZZ_SECONDS:-10}"
fi
