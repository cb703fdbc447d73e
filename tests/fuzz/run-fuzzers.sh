#!/usr/bin/env bash
# run-fuzzers.sh BUILD_DIR [SECONDS]: runs every fuzz target of BUILD_DIR
# (configured with -Dfuzzing=true) from a copy of its seed corpus in
# tests/fuzz/corpus. Prints one line per target; exits non-zero if one
# found a crash, a leak or a disagreement.
#
# With SECONDS, each target explores for that long from a random seed: to
# hunt. Without, each runs a fixed number of inputs from a fixed seed, so
# that the same commit gives the same verdict on every machine: what CI
# runs. A finding of either kind goes in tests/fuzz/corpus with its fix.
set -u

build_dir=$1
seconds=${2:-}
source_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
status=0

# Inputs per target in the fixed run: about 30 s each under ASan here.
declare -A fixed_runs=([frame]=60000 [normal-form]=2000000)

for target in frame normal-form; do
  mkdir -p "$work/$target"
  cp "$source_dir/corpus/$target/"* "$work/$target/"
  if [ -n "$seconds" ]; then
    limit=(-max_total_time="$seconds")
    what="${seconds}s"
  else
    limit=(-seed=1 -runs="${fixed_runs[$target]}")
    what="seed 1"
  fi
  if (cd "$work" &&
      ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      "$build_dir/tests/fuzz/fuzz-$target" "${limit[@]}" -rss_limit_mb=2048 \
        -print_final_stats=1 "$work/$target" > "$work/$target.log" 2>&1); then
    runs=$(grep -o 'Done [0-9]* runs' "$work/$target.log" | grep -o '[0-9]*')
    echo "fuzz-$target: OK ($runs runs, $what)"
  else
    echo "fuzz-$target: FAILED"
    tail -n 40 "$work/$target.log"
    ls "$work"/crash-* "$work"/leak-* 2>/dev/null
    status=1
  fi
done

rm -rf "$work"
exit $status
