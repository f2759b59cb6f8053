#!/usr/bin/env bash
# The recording server against the floor of any HTTP front here, with wrk, interleaved.
#
#   benches/scripts/server-floor.sh [ROUNDS] [SECONDS]
#
# Replays two committed recordings through `inference-recorder serve` (a 1.7 KB chat
# completion and a 26-chunk chat stream) and, beside each, a bare axum server
# (`examples/floor_server.rs`) answering the same bytes from memory, captured from the
# recording server itself. Each case runs at 1 and at 64 connections, the recorder and
# its floor in turn, ROUNDS times (default 5) for SECONDS each (default 5); prints each
# median in requests/s and the recorder's as a fraction of its floor's, then the
# server's peak RSS after 64 connections hit it, hits and misses alike.
#
# Needs wrk (Debian's package) and curl. Numbers in benches/README.md.
set -euo pipefail

ROUNDS=${1:-5}
SECONDS_EACH=${2:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
command -v wrk >/dev/null || { echo "server-floor.sh: needs wrk (apt-get install wrk)" >&2; exit 2; }

cargo build --release --offline -q -p inference-recorder-cli --bin inference-recorder -p benches --example floor_server
BIN=$ROOT/target/release
WORK=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# A 1.7 KB chat request answered whole, and a chat answered in 26 chunks.
CHAT=9f7f10c18dcd54e6d86e93e93782545067aace6305ac37bca618fa9f40b5db34
STREAM=e910118fcaa18fe85ac96d49584808c90965c594b7a6b2b4c8bc337fcfb49f4b
mkdir -p "$WORK/recordings/responses"
# The committed files are keyed in their tests' scopes; here they are stored under the
# key of the unscoped request wrk sends.
for name in CHAT STREAM; do
    file=tests/recordings/responses/${!name}.json
    python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["request"]["body"]))' \
        "$file" > "$WORK/$name.request"
    key=$(python3 -c 'import json,sys; print(json.dumps({"endpoint": "/v1/chat/completions", "body": json.load(open(sys.argv[1]))}))' \
        "$WORK/$name.request" | "$BIN/inference-recorder" key -)
    cp "$file" "$WORK/recordings/responses/$key.json"
done

# A port from the kernel, then the server on it (a fixed port could be taken).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

SERVE_PORT=$(free_port)
"$BIN/inference-recorder" serve --mode replay --dir "$WORK/recordings" --port "$SERVE_PORT" \
    >"$WORK/serve.out" 2>/dev/null &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
for _ in $(seq 100); do grep -q listening "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$WORK/serve.out" || { echo "server-floor.sh: serve did not start" >&2; exit 1; }
SERVE=http://127.0.0.1:$SERVE_PORT

declare -A FLOOR
for case in chat:CHAT:application/json stream:STREAM:text/event-stream; do
    IFS=: read -r name key type <<<"$case"
    curl -sf -H 'content-type: application/json' --data-binary "@$WORK/$key.request" \
        "$SERVE/v1/chat/completions" -o "$WORK/$name.answer"
    port=$(free_port)
    "$BIN/examples/floor_server" "127.0.0.1:$port" "$WORK/$name.answer" "$type" &
    PIDS+=("$!")
    FLOOR[$name]=http://127.0.0.1:$port
    printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [[%s]]\n' \
        "$(cat "$WORK/$key.request")" >"$WORK/$name.lua"
done
for name in chat stream; do
    for _ in $(seq 100); do curl -sf -X POST "${FLOOR[$name]}/v1/chat/completions" -o /dev/null && break; sleep 0.1; done
    # The recorder answers what the floor answers, byte for byte.
    cmp <(curl -sf -H 'content-type: application/json' --data-binary "@$WORK/${name^^}.request" "$SERVE/v1/chat/completions") \
        <(curl -sf -X POST "${FLOOR[$name]}/v1/chat/completions")
done

rate() { # URL LUA CONNECTIONS: requests/s
    wrk -t1 -c"$3" -d"${SECONDS_EACH}s" -s "$2" "$1/v1/chat/completions" | awk '/Requests\/sec/ {print $2}'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

printf '%-8s %5s %12s %12s %8s\n' case conns "floor r/s" "serve r/s" ratio
for name in chat stream; do
    for conns in 1 64; do
        floor=() serve=()
        for _ in $(seq "$ROUNDS"); do
            floor+=("$(rate "${FLOOR[$name]}" "$WORK/$name.lua" "$conns")")
            serve+=("$(rate "$SERVE" "$WORK/$name.lua" "$conns")")
        done
        f=$(printf '%s\n' "${floor[@]}" | median)
        s=$(printf '%s\n' "${serve[@]}" | median)
        printf '%-8s %5s %12.0f %12.0f %8.2f\n' "$name" "$conns" "$f" "$s" "$(awk -v s="$s" -v f="$f" 'BEGIN {print s / f}')"
    done
done

# Memory under 64 clients: hits, then misses (each miss searches for the closest).
printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\ncounter = 0\nrequest = function()\n  counter = counter + 1\n  return wrk.format(nil, nil, nil, [[{"model":"m","messages":[{"role":"user","content":"miss ]] .. counter .. [["}]}]])\nend\n' >"$WORK/miss.lua"
wrk -t1 -c64 -d"${SECONDS_EACH}s" -s "$WORK/stream.lua" "$SERVE/v1/chat/completions" >/dev/null
wrk -t1 -c64 -d"${SECONDS_EACH}s" -s "$WORK/miss.lua" "$SERVE/v1/chat/completions" >/dev/null
echo "serve peak RSS after 64 connections of hits and misses: $(awk '/VmHWM/ {print $2, $3}' "/proc/$SERVE_PID/status")"
