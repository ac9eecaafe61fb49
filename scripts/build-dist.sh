#!/usr/bin/env bash
# Builds the shipped binary: the `dist` profile of the root Cargo.toml (LTO, one codegen unit,
# panic=abort, opt-level z, stripped), then drops the unwind tables (.eh_frame, .eh_frame_hdr,
# .gcc_except_table). With panic=abort nothing in mrproxy unwinds: a panic aborts, and the tables
# only served the backtrace the default panic hook prints when RUST_BACKTRACE is set (without them
# that backtrace is empty; the panic message itself is unchanged). They are about 230 KiB of the
# 1.7 MiB. Prints the path of the result: target/dist/mrproxy.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --profile dist -p mrproxy >&2
bin=target/dist/mrproxy
objcopy --remove-section=.eh_frame --remove-section=.eh_frame_hdr \
    --remove-section=.gcc_except_table "$bin" "$bin.tmp"
mv "$bin.tmp" "$bin"
echo "$bin"
