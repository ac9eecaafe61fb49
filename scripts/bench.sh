#!/usr/bin/env bash
# The benchmarks against igmpproxy (docs/benchmarks.md), as root:
#   ./scripts/bench.sh all [--quick] | join | leave | burst | rest | micro   [bench options]
# Builds mrproxy and the harness, installs Debian's igmpproxy when missing, and runs the harness
# where the kernel has multicast routing: here, or in the QEMU guest of scripts/kernel-vm.sh.
# Figures from the guest (TCG) measure an emulated CPU: compare ratios there, not absolutes.
set -euo pipefail
cd "$(dirname "$0")/.."
MRPROXY_SKIP_FUZZ=1 MRPROXY_SKIP_DEPS_CHECK=1 MRPROXY_WITH_IGMPPROXY=1 ./scripts/setup.sh
cargo build --release --locked -p mrproxy -p bench
if [ "${1:-}" = micro ]; then
  exec cargo bench --locked -p mrproxy-engine --bench reports
fi
exec ./scripts/kernel-vm.sh target/release/bench --mrproxy "$PWD/target/release/mrproxy" "$@"
