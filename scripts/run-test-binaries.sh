#!/usr/bin/env bash
# Runs test binaries listed as "CRATE_DIR EXECUTABLE" lines, each in its crate's folder (as
# `cargo test` does), and fails if any failed. Used inside the guest of scripts/kernel-vm.sh.
set -uo pipefail
failed=()
while read -r dir exe; do
  echo "     Running $(basename "$exe") (in ${dir#"$PWD"/})"
  if ! (cd "$dir" && "$exe"); then
    failed+=("$(basename "$exe")")
  fi
done < "$1"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run-test-binaries: failed: ${failed[*]}"
  exit 101
fi
