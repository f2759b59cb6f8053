#!/usr/bin/env bash
# Builds llama.cpp's llama-server (CPU only) from the llama.cpp source that the
# llama-cpp-python sdist on PyPI vendors, and caches it outside the repo, keyed by that
# version. Prints the cached binary's path. Does nothing when the binary is cached.
#
#   scripts/build-llama-server.sh            # build if missing, print the path
#
# Cache root: $INFERENCE_RECORDER_CACHE (default ~/.cache/inference-recorder).
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
cache_root="${INFERENCE_RECORDER_CACHE:-$HOME/.cache/inference-recorder}"
prefix="$cache_root/llama-server-$LLAMA_CPP_PYTHON_VERSION"
binary="$prefix/bin/llama-server"

if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi

log() { echo "build-llama-server: $*" >&2; }

cmake=cmake
command -v cmake >/dev/null 2>&1 || {
  log "installing cmake from PyPI"
  python3 -m pip install --quiet cmake >&2
  # Its entry point may not be on PATH (a user install, a pyenv without rehash): use
  # the binary inside the package.
  command -v cmake >/dev/null 2>&1 ||
    cmake="$(python3 -c 'import cmake, os; print(os.path.join(cmake.CMAKE_BIN_DIR, "cmake"))')"
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log "fetching the llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sdist"
python3 -m pip download --quiet --no-deps --no-binary llama-cpp-python \
  "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$work" >&2
tar -xzf "$work"/llama_cpp_python-*.tar.gz -C "$work"
src="$(echo "$work"/llama_cpp_python-*/vendor/llama.cpp)"

log "building llama-server (Release, CPU only); about 10 minutes on 2 cores"
"$cmake" -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON >&2
"$cmake" --build "$work/build" --target llama-server -j "$(nproc)" >&2

mkdir -p "$prefix/bin"
cp "$work/build/bin/llama-server" "$prefix/bin/llama-server.tmp"
mv "$prefix/bin/llama-server.tmp" "$binary"
log "cached at $binary"
echo "$binary"
