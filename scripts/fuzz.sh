#!/usr/bin/env bash
# Fuzzes numflow with libFuzzer (issue 7, point 1): installs clang if missing, builds build-fuzz/
# (clang, -fsanitize=fuzzer + AddressSanitizer + UndefinedBehaviorSanitizer), then runs every
# target in fuzz/ for a bounded time (single process each, NUMFLOW_FUZZ_JOBS side by side), on a
# copy of its corpus fuzz/corpus/<target>/. Fails (exit 1) on any crash, leak, timeout,
# out-of-memory or sanitizer report, printing the reproducer's path and the command that replays it.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]       default 60
#   scripts/fuzz.sh --keep-going [SECONDS]     go on after a crash (libFuzzer's -fork=1), so one
#                                              run reports every distinct bug it finds; still fails
#   scripts/fuzz.sh --crashes                  replay fuzz/crashes/*: which known bugs still crash
#   scripts/fuzz.sh --build-only               install clang and build build-fuzz/, fuzz nothing
#   NUMFLOW_FUZZ_TARGETS="fuzz_auth fuzz_codec"  run only these targets
#   NUMFLOW_FUZZ_MERGE=0|1                     merge inputs with new coverage back into fuzz/corpus
#                                              (default 1, 0 when CI=true: a CI clone is thrown away)
#   NUMFLOW_FUZZ_BUILD_JOBS=N                  build parallelism (default 1)
#   NUMFLOW_FUZZ_JOBS=N                        targets fuzzed at once (default 1)
#
# Corpora stay bounded: new inputs are merged in only when they add coverage (libFuzzer -merge=1);
# when a target's corpus passes NUMFLOW_FUZZ_CORPUS_KB (default 180) it is minimized, and if it is
# still too big the new inputs are dropped. Logs and crash artifacts: build-fuzz/fuzz-out/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=60
keep_going=0
replay=0
build_only=0
for a in "$@"; do
  case "$a" in
    --keep-going) keep_going=1 ;;
    --crashes) replay=1 ;;
    --build-only) build_only=1 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    ''|*[!0-9]*) echo "fuzz.sh: unknown argument '$a' (see --help)" >&2; exit 2 ;;
    *) seconds=$a ;;
  esac
done

# clang 16 is the newest Debian 12 ships: numflow's C++20 needs it (clang 14, Debian's default
# `clang`, rejects lambdas capturing structured bindings, e.g. in publish/kafka_config.cpp).
clang_version=16
build=build-fuzz
out=$build/fuzz-out
targets=(${NUMFLOW_FUZZ_TARGETS:-fuzz_transform_core fuzz_codec fuzz_auth fuzz_http_request fuzz_settings})
merge=${NUMFLOW_FUZZ_MERGE:-$([[ "${CI:-}" == true ]] && echo 0 || echo 1)}
corpus_kb=${NUMFLOW_FUZZ_CORPUS_KB:-180}

# Longest input each target is given: a few events, a request with headers just over the 16 KiB
# header limit, a config file.
max_len() {
  case "$1" in
    fuzz_transform_core) echo 16384 ;;
    fuzz_codec) echo 8192 ;;
    fuzz_auth) echo 8192 ;;
    fuzz_http_request) echo 24576 ;;
    fuzz_settings) echo 4096 ;;
    *) echo 4096 ;;
  esac
}

step() { printf '\n== %s\n' "$*" >&2; }
kib() { echo $(( ($(find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}') + 1023) / 1024 )); }
now() { date +%s; }
started=$(now)

step "clang $clang_version and libFuzzer"
runtime=/usr/lib/llvm-$clang_version/lib/clang/$clang_version/lib/linux/libclang_rt.fuzzer-x86_64.a
if ! command -v "clang++-$clang_version" >/dev/null || [[ ! -f $runtime ]]; then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "clang-$clang_version" "libclang-rt-$clang_version-dev" >/dev/null
fi
"clang++-$clang_version" --version | head -1 >&2
bash scripts/install-deps.sh

step "build ($build)"
if [[ ! -f $build/CMakeCache.txt ]]; then
  # RelWithDebInfo at -O1 without -DNDEBUG: assertions (RapidJSON's, Boost's) stay on, so misuse
  # they catch is reported too. Warnings stay errors (-Werror), as in every other build.
  CC=clang-$clang_version CXX=clang++-$clang_version cmake -S . -B "$build" -DNUMFLOW_FUZZ=ON -DNUMFLOW_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" >/dev/null
fi
cmake --build "$build" -j "${NUMFLOW_FUZZ_BUILD_JOBS:-1}" --target fuzzers >/dev/null
built=$(now)
echo "built in $((built - started)) s" >&2
((build_only)) && exit 0

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if ((replay)); then
  step "known crashes (fuzz/crashes)"
  still=0
  mkdir -p "$out"
  for f in fuzz/crashes/*; do
    [[ -f $f ]] || continue
    name=$(basename "$f")
    target=${name%%-*}
    if "$build/fuzz/$target" "$f" >"$out/replay-$name.log" 2>&1; then
      echo "fixed           $f"
    else
      echo "STILL CRASHES   $f   ($build/fuzz/$target $f)"
      still=1
    fi
  done
  exit $still
fi

# fuzz_one TARGET: runs it on a copy of its corpus; leaves $out/TARGET/result (one summary line),
# and on failure $out/TARGET/failed and $out/TARGET/report.
fuzz_one() {
  local t=$1 bin dir dict mode rc execs rate last cov ft stats artifacts reported a
  bin=$build/fuzz/$t
  dir=$out/$t
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp fuzz/corpus/"$t"/* "$dir/corpus/" 2>/dev/null || true
  dict=(); [[ -f fuzz/$t.dict ]] && dict=(-dict="fuzz/$t.dict")
  mode=(); ((keep_going)) && mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  set +e
  "$bin" "$dir/corpus" "${dict[@]}" "${mode[@]}" -max_len="$(max_len "$t")" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" >"$dir/log" 2>&1
  rc=$?
  set -e

  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" | tail -1 | grep -o '[0-9]*$' || true)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$dir/log" | tail -1 | grep -o '[0-9]*$' || true)
  last=$(grep -E '^#[0-9]+.*cov: ' "$dir/log" | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  # Fork mode (--keep-going) prints no final stats: its last status line counts the executions.
  [[ -n $execs ]] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
  if [[ -z $rate && -n $execs ]]; then rate=$((execs / (seconds > 0 ? seconds : 1))); fi
  stats=$(printf '%9s execs %6s exec/s  cov %5s  ft %6s' "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}")
  artifacts=$(find "$dir/artifacts" -type f | sort)
  reported=$(grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|==numflow-fuzz==' "$dir/log" || true)

  if [[ $rc -ne 0 || -n $artifacts || -n $reported ]]; then
    printf '%-20s FAILED %s  %s artifact(s), log %s\n' "$t" "$stats" "$(wc -w <<<"$artifacts")" "$dir/log" >"$dir/result"
    touch "$dir/failed"
    {
    echo "$t FAILED (exit $rc). Report:"
    grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|INVARIANT BROKEN|terminate called|SUMMARY' \
      "$dir/log" || true
    for a in $artifacts; do
      echo "  reproducer: $a"
      echo "  replay:     $bin $a"
    done
    echo "  full log:   $dir/log"
    } >"$dir/report"
  else
    printf '%-20s ok     %s\n' "$t" "$stats" >"$dir/result"
  fi

}

# Targets run side by side, NUMFLOW_FUZZ_JOBS at a time (each is one single-threaded process).
jobs=${NUMFLOW_FUZZ_JOBS:-1}
step "${#targets[@]} targets, ${seconds} s each, $jobs at a time"
mkdir -p "$out"
running=0
for t in "${targets[@]}"; do
  if ((running >= jobs)); then wait -n || true; running=$((running - 1)); fi
  echo "started $t" >&2
  fuzz_one "$t" &
  running=$((running + 1))
done
wait

failed=()
summary=()
for t in "${targets[@]}"; do
  bin=$build/fuzz/$t
  dir=$out/$t
  summary+=("$(cat "$dir/result" 2>/dev/null || printf '%-20s FAILED (no result, see %s)' "$t" "$dir/log")")
  if [[ -f $dir/failed || ! -f $dir/result ]]; then
    failed+=("$t")
    cat "$dir/report" >&2 2>/dev/null || true
  fi

  # Inputs that crashed are not in the corpus: what it gained is worth keeping either way.
  if [[ $merge == 1 ]]; then
    before=$(ls fuzz/corpus/"$t" | wc -l)
    mkdir -p "$dir/backup"
    cp fuzz/corpus/"$t"/* "$dir/backup/"
    if ! "$bin" -merge=1 -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 fuzz/corpus/"$t" "$dir/corpus" \
      >"$dir/merge.log" 2>&1; then
      echo "$t: merge failed, corpus unchanged (see $dir/merge.log)" >&2
      rm -f fuzz/corpus/"$t"/*
      cp "$dir/backup"/* fuzz/corpus/"$t"/
    fi
    kb=$(kib fuzz/corpus/"$t")
    if ((kb > corpus_kb)); then
      # Minimize: the hand-made seeds, then whatever else covers something they do not.
      mkdir -p "$dir/minimized"
      cp fuzz/corpus/"$t"/seed-* "$dir/minimized/" 2>/dev/null || true
      "$bin" -merge=1 -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 "$dir/minimized" fuzz/corpus/"$t" \
        >>"$dir/merge.log" 2>&1 || true
      # Then the seeds, and the smallest of the others while the corpus stays within the bound.
      rm -f fuzz/corpus/"$t"/*
      cp "$dir/minimized"/seed-* fuzz/corpus/"$t"/ 2>/dev/null || true
      budget=$((corpus_kb * 1024 - $(kib fuzz/corpus/"$t") * 1024))
      while read -r size file; do
        ((size <= budget)) || break
        cp "$file" fuzz/corpus/"$t"/
        budget=$((budget - size))
      done < <(find "$dir/minimized" -type f ! -name 'seed-*' -printf '%s %p\n' | sort -n)
    fi
    after=$(ls fuzz/corpus/"$t" | wc -l)
    echo "$t: corpus $before -> $after files ($(kib fuzz/corpus/"$t") KiB)" >&2
  fi
done

step "summary (${seconds} s per target; build $((built - started)) s, total $(($(now) - started)) s)"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: every target ran clean" >&2
