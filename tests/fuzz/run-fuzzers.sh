#!/usr/bin/env bash
# run-fuzzers.sh BUILD_DIR SECONDS: runs every fuzz target of BUILD_DIR
# (configured with -Dfuzzing=true) for SECONDS each, from a copy of its
# seed corpus in tests/fuzz/corpus. Prints one line per target; exits
# non-zero if one found a crash, a leak or a disagreement.
set -u

build_dir=$1
seconds=$2
source_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
status=0

for target in frame normal-form; do
  mkdir -p "$work/$target"
  cp "$source_dir/corpus/$target/"* "$work/$target/"
  if (cd "$work" &&
      ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      "$build_dir/tests/fuzz/fuzz-$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -print_final_stats=1 "$work/$target" > "$work/$target.log" 2>&1); then
    runs=$(grep -o 'Done [0-9]* runs' "$work/$target.log" | grep -o '[0-9]*')
    echo "fuzz-$target: OK ($runs runs in ${seconds}s)"
  else
    echo "fuzz-$target: FAILED"
    tail -n 40 "$work/$target.log"
    ls "$work"/crash-* "$work"/leak-* 2>/dev/null
    status=1
  fi
done

rm -rf "$work"
exit $status
