# Source this file: builds (once, cached) llama.cpp's llama-server and the tiny test
# model, and exports LLAMA_SERVER_BIN and LLAMA_TEST_MODEL for the end-to-end tests.
#
#   source scripts/e2e-env.sh && cargo test --workspace
#
# Cache root: $INFERENCE_RECORDER_CACHE (default ~/.cache/inference-recorder).

_ir_scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LLAMA_SERVER_BIN="$("$_ir_scripts/build-llama-server.sh")" || return 1
_ir_prefix="$(dirname "$(dirname "$LLAMA_SERVER_BIN")")"
LLAMA_TEST_MODEL="$_ir_prefix/models/tiny-llama-$(sha256sum "$_ir_scripts/make-tiny-model.py" | cut -c1-12).gguf"
if [ ! -f "$LLAMA_TEST_MODEL" ]; then
  python3 -c "import gguf, numpy" 2>/dev/null || python3 -m pip install --quiet "gguf==0.19.0" >&2
  python3 "$_ir_scripts/make-tiny-model.py" "$_ir_prefix/models/ggml-vocab-llama-spm.gguf" \
    "$LLAMA_TEST_MODEL.tmp" && mv "$LLAMA_TEST_MODEL.tmp" "$LLAMA_TEST_MODEL" || return 1
fi
export LLAMA_SERVER_BIN LLAMA_TEST_MODEL
unset _ir_scripts _ir_prefix
