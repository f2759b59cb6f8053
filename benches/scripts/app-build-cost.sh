#!/usr/bin/env bash
# What the recorder costs a user's build: cold builds of examples/app's tests, each in
# an empty target directory (crates already downloaded), one after another:
#   floor      the app and its own unit tests, without the recorder (the dev-dependency
#              and tests/ removed)
#   openai     the app's tests with `inference-recorder` on its default feature only
#              (tests/replay.rs trimmed to the HTTP-service test)
#   all        the app as committed: features openai, ollama and server
# Prints seconds per build. Run from the repository root; takes a few minutes.
set -euo pipefail
root="$(pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

copy() {
  mkdir -p "$work/$1"
  cp -r "$root/examples/app/." "$work/$1/"
  rm -rf "$work/$1/target"
  sed -i "s|path = \"../../inference-recorder\"|path = \"$root/inference-recorder\"|" "$work/$1/Cargo.toml"
}

copy floor
sed -i '/^\[dev-dependencies\]/,/^inference-recorder/d' "$work/floor/Cargo.toml"
rm -rf "$work/floor/tests"

copy openai
sed -i 's|, features = \["openai", "ollama", "server"\]||' "$work/openai/Cargo.toml"
rm "$work/openai/tests/features.rs"
python3 - "$work/openai/tests/replay.rs" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
cut = text.index("#[tokio::test]\nasync fn the_app_replays_through_the_recording_server")
text = text[:cut].replace("use inference_recorder::server::RecordingServer;\n", "")
text = text.replace("use summarizer_app::{ask, ask_streamed, is_safe, sentence_with};", "use summarizer_app::{ask, ask_streamed};")
text = text.replace("use ollama_rs::Ollama;\n", "")
open(path, "w").write(text)
PY

copy all

for build in floor openai all; do
  start=$(date +%s%N)
  (cd "$work/$build" && cargo test --no-run --offline --quiet)
  end=$(date +%s%N)
  axum=$(cd "$work/$build" && cargo tree --offline -e normal,dev -i axum >/dev/null 2>&1 && echo yes || echo no)
  printf '%-7s %6.1f s   axum compiled: %s\n' "$build" "$(( (end - start) / 100000000 ))e-1" "$axum"
done
