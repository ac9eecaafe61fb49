#!/usr/bin/env bash
# Builds the shipped binary (scripts/build-dist.sh) and fails when it is
# larger than the budget: 1.5 MiB by default, or the number of bytes given as the argument.
# docs/benchmarks.md ("Binary size") records the figures and what each dependency costs.
set -euo pipefail
cd "$(dirname "$0")/.."
limit="${1:-1572864}"
bin="$(./scripts/build-dist.sh)"
size="$(stat -c %s "$bin")"
echo "check-size: target/dist/mrproxy is $size bytes (limit $limit)"
if [ "$size" -gt "$limit" ]; then
    echo "check-size: over the limit by $((size - limit)) bytes; see docs/benchmarks.md (Binary size)" >&2
    exit 1
fi
