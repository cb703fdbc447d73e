#!/usr/bin/python3
# py_compare.py: Processing.Pool against multiprocessing.Pool, from Python.
#
#   py_compare.py [--processes N] [--scale S] [--only NAME[,NAME...]]
#
# Runs the same workloads (those of mp_bench.py, with its functions) with
# Processing.Pool and with multiprocessing.Pool (the fork context; for the
# pool's start, the spawn context too), each workload of each
# implementation once, in a process of its own, and prints both figures and
# their ratio. The script imports gi as a program using Processing does, so
# that the workers of spawn, which import the main script again as
# Processing's do, import it too. Needs the PyGObject override and the
# typelib: from a build tree,
#
#   PYTHONPATH=build/introspection GI_TYPELIB_PATH=build/introspection \
#   LD_LIBRARY_PATH=build/processing-glib /usr/bin/python3 bench/py_compare.py
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import json
import subprocess
import sys
import types
from pathlib import Path

import gi

import mp_bench

gi.require_version("Processing", "1.0")
from gi.repository import Processing  # noqa: E402

# workload: (what, unit, better, target ratio or None, counts it uses)
WORKLOADS = {
    "apply_rtt": ("apply round trip", "us/call", "lower", 3),
    "submit_throughput": ("apply_async of 20 000 tasks, then get", "tasks/s", "higher", 3),
    "map_default": ("map of range(1 000 000), default chunks", "items/s", "higher", 1.5),
    "imap_chunk1": ("imap, chunk size 1, 100 000 items", "items/s", "higher", 3),
    "echo_1mib": ("map echo of 500 × 1 MiB bytes, chunk size 1", "MB/s", "higher", 3),
    "start_to_first_result": ("pool start to first result", "ms", "lower", None),
}

COUNTS = dict(mp_bench.DEFAULT_COUNTS, submit_tasks=20_000)

IMPLS = {
    "processing": "Processing.Pool",
    "fork": "multiprocessing (fork)",
    "spawn": "multiprocessing (spawn)",
}


def context(impl):
    if impl == "processing":
        return types.SimpleNamespace(Pool=Processing.Pool)
    import multiprocessing
    return multiprocessing.get_context(impl)


def run_impl(impl, names, processes, scale):
    ctx = context(impl)
    counts = {name: max(1, round(value * scale)) for name, value in COUNTS.items()}
    for name in names:
        function = mp_bench.WORKLOADS[name][0]
        print(f"py_compare: {IMPLS[impl]}: {name}", file=sys.stderr, flush=True)
        print(json.dumps({"impl": impl, "workload": name,
                          "value": function(ctx, processes, counts)}), flush=True)


def measure(impl, names, args):
    # Each workload in a process of its own, as the first thing it does.
    values = {}
    for name in names:
        command = [sys.executable, str(Path(__file__).resolve()), "--impl", impl,
                   "--processes", str(args.processes), "--scale", str(args.scale),
                   "--only", name]
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
        values.update((record["workload"], record["value"])
                      for record in map(json.loads, done.stdout.splitlines()))
    return values


def ratio(ours, theirs, better):
    if not ours or not theirs:
        return float("nan")
    return theirs / ours if better == "lower" else ours / theirs


def main(argv):
    parser = argparse.ArgumentParser(
        description="Processing.Pool against multiprocessing.Pool, from Python.")
    parser.add_argument("--processes", type=mp_bench.positive_int, default=2)
    parser.add_argument("--scale", type=mp_bench.positive_float, default=1.0,
                        help="multiply every count (a quick run is --scale 0.1)")
    parser.add_argument("--only", default=",".join(WORKLOADS),
                        help="comma-separated workloads: " + ", ".join(WORKLOADS))
    parser.add_argument("--impl", choices=IMPLS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names = [name for name in args.only.split(",") if name]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown:
        parser.error("unknown workload: " + ", ".join(unknown))

    if args.impl:
        run_impl(args.impl, names, args.processes, args.scale)
        return 0

    # Each worker imports the override: with PYTHONDONTWRITEBYTECODE set and
    # no bytecode beside it, each would compile it as it starts.
    try:
        import gi.overrides.Processing
        import py_compile
        py_compile.compile(gi.overrides.Processing.__file__, doraise=True)
    except Exception as e:
        print(f"py_compare: the override's bytecode not written: {e}", file=sys.stderr)

    ours = measure("processing", names, args)
    fork = measure("fork", names, args)
    spawn = measure("spawn", ["start_to_first_result"], args) if "start_to_first_result" in names else {}

    rows = [("workload", IMPLS["processing"], IMPLS["fork"], "ratio", "target")]
    for name in names:
        what, unit, better, target = WORKLOADS[name]
        r = ratio(ours[name], fork[name], better)
        verdict = "" if target is None else f"≥ {target:g}×: {'met' if r >= target else 'not met'}"
        rows.append((f"{what} ({unit})", f"{ours[name]:,.1f}", f"{fork[name]:,.1f}", f"{r:.2f}×", verdict))
        if name == "start_to_first_result":
            r = ratio(ours[name], spawn[name], better)
            rows.append((f"  the same, against {IMPLS['spawn']}", f"{ours[name]:,.1f}",
                         f"{spawn[name]:,.1f}", f"{r:.2f}×", f"≥ 1×: {'met' if r >= 1 else 'not met'}"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    print(f"{args.processes} processes, scale {args.scale:g}, one run each")
    for row in rows:
        print("  ".join([row[0].ljust(widths[0])] + [cell.rjust(widths[i + 1]) for i, cell in enumerate(row[1:4])]
                        + [row[4]]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
