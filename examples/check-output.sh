#!/bin/sh
# check-output.sh EXPECTED COMMAND [ARGUMENT...]: runs the command and
# compares its output with the file EXPECTED.
set -e
expected_file=$1
shift
output=$("$@")
expected=$(cat "$expected_file")
if [ "$output" != "$expected" ]; then
  printf 'expected:\n%s\ngot:\n%s\n' "$expected" "$output" >&2
  exit 1
fi
