#!/usr/bin/env bash
# Runs a command with two llama-server instances on loopback ports 18080 and 18081
# (override with LLAMA_CHAT_PORT, LLAMA_EMBEDDINGS_PORT): completions
# (LLAMA_CHAT_URL) and embeddings (LLAMA_EMBEDDINGS_URL, llama-server needs a separate
# --embeddings instance). Stops both, by the PIDs it started, when the command ends.
#
#   scripts/with-llama-servers.sh env TEST_INFERENCE_MODE=record cargo test -p tests --test replay_committed
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=e2e-env.sh
source "$here/e2e-env.sh"

pids=()
logs="$(mktemp -d)"
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$logs"
}
trap cleanup EXIT

# Fixed ports by default, so that re-recorded files keep the same informational `url`.
chat_port="${LLAMA_CHAT_PORT:-18080}"
embed_port="${LLAMA_EMBEDDINGS_PORT:-18081}"

start() { # name port extra-args...
  local name="$1" port="$2"; shift 2
  "$LLAMA_SERVER_BIN" --model "$LLAMA_TEST_MODEL" --host 127.0.0.1 --port "$port" \
    --ctx-size 512 --threads 1 --parallel 1 --alias tiny --seed 42 --no-webui \
    --no-cache-prompt --cache-ram 0 "$@" \
    >"$logs/$name.log" 2>&1 &
  pids+=("$!")
  # Wait for the server's own "listening" line, bounded.
  for _ in $(seq 1 1200); do
    grep -q "listening on http://" "$logs/$name.log" && return 0
    kill -0 "$!" 2>/dev/null || { cat "$logs/$name.log" >&2; return 1; }
    sleep 0.1
  done
  echo "llama-server ($name) did not start" >&2; cat "$logs/$name.log" >&2; return 1
}

start completions "$chat_port"
start embeddings "$embed_port" --embeddings --pooling mean
export LLAMA_CHAT_URL="http://127.0.0.1:$chat_port/v1"
export LLAMA_EMBEDDINGS_URL="http://127.0.0.1:$embed_port/v1"
"$@"
