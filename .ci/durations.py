#!/usr/bin/python3
# durations.py BUILD_DIR TESTLOG [MULTIPLIER]: each suite's duration next
# to its timeout (meson's, times the setup's multiplier), so that the
# margin is seen on every run. A suite that takes more than half of its
# timeout is marked: on a machine half as fast, it would time out.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import subprocess
import sys

build_dir, testlog = sys.argv[1], sys.argv[2]
multiplier = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0

timeouts = {}
tests = json.loads(subprocess.run(["meson", "introspect", "--tests", build_dir],
                                  capture_output=True, text=True, check=True).stdout)
for test in tests:
    timeouts[test["name"]] = test["timeout"] * multiplier

try:
    lines = open(testlog).readlines()
except OSError:
    sys.exit(0)

rows = []
for line in lines:
    test = json.loads(line)
    # "project:suite / name" when there are several suites.
    timeout = timeouts.get(test["name"].split(" / ")[-1])
    rows.append((test["name"], test["duration"], timeout, test["result"]))

width = max((len(name) for name, *_ in rows), default=10)
for name, duration, timeout, result in sorted(rows, key=lambda row: -(row[1] / row[2] if row[2] else 0)):
    if timeout:
        share = duration / timeout
        mark = "  OVER HALF ITS TIMEOUT" if share > 0.5 else ""
        print(f"  {name:<{width}}  {duration:7.1f} s of {timeout:6.0f} s ({share:4.0%}) {result}{mark}")
    else:
        print(f"  {name:<{width}}  {duration:7.1f} s (no timeout) {result}")
