#!/usr/bin/env bash
# The whole test suite (README: "Run the tests"). Run as root: the kernel-integration and
# end-to-end tests build their own network namespaces (and always delete them).
#   1. unit, property, conformance, kernel and namespace end-to-end tests (cargo test)
#   2. a short smoke run of every fuzz target (scripts/fuzz-smoke.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo test --workspace --locked --release
if [ "${MRPROXY_SKIP_FUZZ:-0}" != 1 ]; then
  ./scripts/fuzz-smoke.sh "${MRPROXY_FUZZ_SECONDS:-10}"
fi
