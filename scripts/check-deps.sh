#!/usr/bin/env bash
# Fails on a dependency nobody uses or one declared loosely:
#   - cargo-machete: a crate's dependency its sources never name (exceptions are listed in the
#     crate's [package.metadata.cargo-machete]);
#   - an entry of [workspace.dependencies] that no crate takes;
#   - a crate (tools/fuzz excepted: its own workspace) that declares a version itself instead of
#     taking it from [workspace.dependencies], or a `*` requirement.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
cargo machete --skip-target-dir || status=1
python3 - <<'PY' || status=1
import glob, sys, tomllib

root = tomllib.load(open("Cargo.toml", "rb"))
listed = root["workspace"]["dependencies"]
problems, taken = [], set()
for name, spec in listed.items():
    version = spec if isinstance(spec, str) else spec.get("version", "")
    if version.strip() == "*":
        problems.append(f"Cargo.toml: {name} = \"*\": give the version it needs")
for path in sorted(glob.glob("crates/*/Cargo.toml") + glob.glob("tools/*/Cargo.toml")):
    if path.startswith("tools/fuzz/"):
        continue
    manifest = tomllib.load(open(path, "rb"))
    for section in ("dependencies", "dev-dependencies", "build-dependencies"):
        for name, spec in manifest.get(section, {}).items():
            if isinstance(spec, dict) and spec.get("workspace"):
                taken.add(name)
            else:
                problems.append(f"{path}: [{section}] {name} is not taken from [workspace.dependencies]")
for name in sorted(set(listed) - taken):
    problems.append(f"Cargo.toml: [workspace.dependencies] {name} is used by no crate")
for p in problems:
    print(f"check-deps: {p}")
sys.exit(1 if problems else 0)
PY
if [ "$status" = 0 ]; then echo "check-deps: no unused or loose dependencies"; fi
exit "$status"
