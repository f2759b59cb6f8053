#!/usr/bin/env bash
# Runs a command with two llama-server instances on loopback: completions on port 18080
# (LLAMA_CHAT_URL) and embeddings on 18081 (LLAMA_EMBEDDINGS_URL; llama-server serves
# embeddings from a separate --embeddings instance). Stops both, by the PIDs it
# started, when the command ends.
#
#   scripts/with-llama-servers.sh [options] [--] command...
#
#   --model FILE          the GGUF model (default: SmolLM2-135M-Instruct, fetched and
#                         cached by e2e-env.sh)
#   --alias NAME          the model name the servers answer to (default:
#                         SmolLM2-135M-Instruct, the name the committed recordings use)
#   --chat-template FILE  a Jinja chat template (default: scripts/smollm2-tools.jinja;
#                         `none` keeps the model's own)
#   --server-arg ARG      one more llama-server argument, for both servers; repeatable
#
# Ports: LLAMA_CHAT_PORT, LLAMA_EMBEDDINGS_PORT. The servers run with the flags that
# make re-recording quiet: one slot, no prompt cache, a fixed seed.
#
#   scripts/with-llama-servers.sh env TEST_INFERENCE_MODE=record cargo test -p tests --test replay_committed
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=e2e-env.sh
source "$here/e2e-env.sh"

model="$LLAMA_TEST_MODEL"
alias_name="SmolLM2-135M-Instruct"
template="$LLAMA_CHAT_TEMPLATE"
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --alias) alias_name="$2"; shift 2 ;;
    --chat-template) template="$2"; shift 2 ;;
    --server-arg) extra+=("$2"); shift 2 ;;
    --) shift; break ;;
    -*) echo "with-llama-servers.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "with-llama-servers.sh: no command to run" >&2; exit 2; }
[ -f "$model" ] || { echo "with-llama-servers.sh: no model at $model" >&2; exit 2; }
template_args=(--jinja)
[ "$template" = none ] || template_args+=(--chat-template-file "$template")

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
  "$LLAMA_SERVER_BIN" --model "$model" --host 127.0.0.1 --port "$port" \
    --ctx-size 2048 --threads 1 --parallel 1 --alias "$alias_name" --seed 42 --no-webui \
    --no-cache-prompt --cache-ram 0 "${template_args[@]}" ${extra[@]+"${extra[@]}"} "$@" \
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
