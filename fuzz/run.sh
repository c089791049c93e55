#!/usr/bin/env bash
# Runs each fuzz target for a bounded time (default 60 s each) on the corpus kept in the repo.
# Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable toolchain RUSTC_BOOTSTRAP=1 lets
# cargo-fuzz use the -Z flags it needs.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${SECONDS_EACH:-60}
export RUSTC_BOOTSTRAP=1
for target in frame_parser csv_cleaner record_decoder; do
  mkdir -p "corpus/$target"
  echo "== $target ($SECONDS_EACH s)"
  cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$SECONDS_EACH" -max_len=4096 2>&1 | tail -3
done
