#!/usr/bin/env bash
# Builds llama-cpp-python once per machine as a portable wheel and prints the wheel's path.
# Used by `make` (the venv) and so by `make package` (the bundle packs that venv's llama_cpp).
#
# The llama.cpp build flags live here and only here:
#   GGML_NATIVE=OFF           llama.cpp's default, -march=native, makes a library that dies with
#                             SIGILL on any CPU older than the build machine's.
#   GGML_BACKEND_DL=ON        the CPU backend becomes loadable libraries, chosen at run time
#   GGML_CPU_ALL_VARIANTS=ON  one library per x86 generation (x64, sse42, sandybridge, haswell,
#                             skylakex, icelake, zen4, ...), so each CPU gets its fastest one.
# app/llm/backends.py chooses among them and never the AMX one (sapphirerapids), whose
# kernels crash (llama.cpp issue 20824); it is deleted from the wheel below as well.
# The build takes about 20 minutes on 2 cores; the wheel is kept in ~/.cache/lectern.
set -euo pipefail
PY=${1:-python3}
VERSION=0.3.36
FLAGS="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON"
tag=$("$PY" -c 'import sys, platform; print(f"cp{sys.version_info[0]}{sys.version_info[1]}-{platform.machine()}")')
key=$(printf '%s %s %s' "$VERSION" "$FLAGS" "$tag" | sha256sum | cut -c1-12)
dir="${XDG_CACHE_HOME:-$HOME/.cache}/lectern/llama-wheels/$key"
wheel=$(ls "$dir"/llama_cpp_python-*.whl 2>/dev/null | head -1 || true)
if [ -z "$wheel" ]; then
  echo "llama-build: compiling llama-cpp-python $VERSION with portable CPU variants (once per machine)" >&2
  tmp="$dir.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  CMAKE_ARGS="$FLAGS" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}" \
    "$PY" -m pip wheel --no-deps --no-cache-dir "llama-cpp-python==$VERSION" -w "$tmp" >&2
  "$PY" "$(dirname "$0")/llama_wheel_fix.py" "$tmp"/llama_cpp_python-*.whl >&2
  rm -rf "$dir"; mv "$tmp" "$dir"
  wheel=$(ls "$dir"/llama_cpp_python-*.whl | head -1)
fi
echo "$wheel"
