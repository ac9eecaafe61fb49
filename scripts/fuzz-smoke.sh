#!/usr/bin/env bash
# Runs every fuzz target for a few seconds (default 10) on the stable toolchain
# (RUSTC_BOOTSTRAP=1 lets cargo-fuzz use -Z flags). Fails if any target finds a crash.
set -euo pipefail
seconds=${1:-10}
cd "$(dirname "$0")/.."
fuzz=(--fuzz-dir tools/fuzz)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in $(RUSTC_BOOTSTRAP=1 cargo fuzz list "${fuzz[@]}"); do
  if RUSTC_BOOTSTRAP=1 cargo fuzz run "${fuzz[@]}" "$target" -- -max_total_time="$seconds" >"$log" 2>&1; then
    runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -n 1)
    echo "fuzz: $target: ${runs:-done} in ${seconds}s, no crash"
  else
    echo "fuzz: $target FAILED:"
    tail -n 40 "$log"
    exit 1
  fi
done
