#!/usr/bin/env bash
# The test binaries of the crates that need the kernel's multicast router (the Linux layer,
# the namespace harness, the daemon's end-to-end tests, the lab), as root:
#   scripts/kernel-tests.sh -p CRATE [-p CRATE …]
# On a kernel with CONFIG_IP_MROUTE and CONFIG_IPV6_MROUTE this is `cargo test` of those crates.
# On one without, the test binaries are built here and run inside a QEMU guest that boots a
# kernel with both (scripts/kernel-vm.sh), each in its crate's folder as cargo would.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ./scripts/kernel-vm.sh --needed; then
  exec cargo test --locked --release "$@"
fi
list=target/kernel-vm/tests.list
mkdir -p target/kernel-vm
cargo test --locked --release "$@" --no-run --message-format=json-render-diagnostics \
  | python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(os.path.dirname(m["manifest_path"]), m["executable"])
' | sort > "$list"
echo "kernel-tests: $(wc -l < "$list") test binaries to run in the guest"
exec ./scripts/kernel-vm.sh ./scripts/run-test-binaries.sh "$PWD/$list"
