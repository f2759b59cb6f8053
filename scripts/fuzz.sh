#!/usr/bin/env bash
# Fuzzes the recording reader and the canonicaliser for a bounded time each.
#
#   scripts/fuzz.sh            # 300 seconds per target
#   scripts/fuzz.sh 60         # 60 seconds per target
#
# Installs cargo-fuzz if missing. cargo-fuzz wants a nightly compiler for its
# sanitizer flags; on the stable toolchain this runs libFuzzer without a sanitizer
# (Rust's own checks still abort on overflow in debug assertions and on panics), with
# RUSTC_BOOTSTRAP=1 for the instrumentation flags. A crash's input is left in
# fuzz/artifacts/<target>/: copy it into fuzz/regressions/<target>/ and fix the
# cause; `cargo test` replays that directory from then on.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-300}"

command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked

export RUSTC_BOOTSTRAP=1
for target in read_recording canonicalize; do
  mkdir -p "corpus/$target"
  seeds=("regressions/$target")
  if [ "$target" = read_recording ]; then
    # Real recordings of both formats as the starting corpus (read only).
    seeds+=(../tests/recordings/responses ../tests/fixtures/llama-stack)
  fi
  echo "== fuzzing $target for ${seconds}s"
  cargo fuzz run --sanitizer none "$target" "corpus/$target" "${seeds[@]}" -- \
    -max_total_time="$seconds" -max_len=65536 -timeout=10
done
