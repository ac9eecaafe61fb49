#!/usr/bin/env bash
# The lab (README: the first command). Builds mrproxy and the lab in release mode, then runs
# the lab as root: a namespace network with a real mrproxy, a stream flowing, hosts joining and
# leaving on a script. Everything it creates is removed on exit or Ctrl-C. On a kernel without
# multicast routing it runs in a QEMU guest that has it (scripts/kernel-vm.sh).
#   ./scripts/lab.sh [--seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."
MRPROXY_SKIP_FUZZ=1 MRPROXY_SKIP_DEPS_CHECK=1 ./scripts/setup.sh
cargo build --release --locked -p mrproxy -p mrproxy-lab
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
exec ./scripts/kernel-vm.sh "$target_dir/release/mrproxy-lab" "$@"
