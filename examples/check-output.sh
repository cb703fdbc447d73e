#!/bin/sh
# check-output.sh PROGRAM EXPECTED: runs PROGRAM and compares its output.
set -e
output=$("$1")
expected=$(cat "$2")
if [ "$output" != "$expected" ]; then
  printf 'expected:\n%s\ngot:\n%s\n' "$expected" "$output" >&2
  exit 1
fi
