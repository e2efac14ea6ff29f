#!/usr/bin/env bash
# Configures and builds numflow. Usage: scripts/build.sh [release|asan] (default release).
#   release -> build/       Release, warnings as errors
#   asan    -> build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer, for the test suite
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
jobs=${NUMFLOW_BUILD_JOBS:-$(nproc)}
case "$kind" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  # RelWithDebInfo with -g1: line tables are all ASan's stack traces need, and the build CI
  # waits for is faster than with full debug information.
  asan)    dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
                                  -DNUMFLOW_SANITIZE=ON -DNUMFLOW_BENCH=OFF) ;;
  *) echo "usage: $0 [release|asan]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$jobs"
echo "build.sh: $kind build ready in $dir/" >&2
