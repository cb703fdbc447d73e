#!/usr/bin/python3
# compare.py: run bench.c and mp_bench.py and print them side by side.
#
#   compare.py --bench PATH [--processes N] [--scale S] [--repeat N] [--json OUT]
#
# Both programs print JSON lines {"impl", "workload", "value", "unit",
# "better"}. The C program runs first, then the Python one; with --repeat N
# the pair runs N times and each figure is the best of its N runs, the one
# least disturbed by a noisy machine.
#
# The exit status is 0 whether or not the targets are met (this is a report);
# it is non-zero only if a program failed or printed something malformed.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

# The same argument checks as the Python side (beside this script).
from mp_bench import positive_float, positive_int

PG = "processing-glib"
MP = "multiprocessing"
FLOOR = "floor"

MP_BENCH = Path(__file__).resolve().with_name("mp_bench.py")

# workload: (unit, better, target[, multiprocessing's workload]). A target
# is ("ratio", R): processing-glib must be at least R times better than
# multiprocessing (on the same workload, or on the one named last: a map of
# the same integers, which multiprocessing has only one way to do);
# ("max", V): its own value must be at most V; None: shown for information.
WORKLOADS = {
    "apply_rtt": ("us/call", "lower", ("ratio", 5)),
    "submit_throughput": ("tasks/s", "higher", ("ratio", 10)),
    "map_default": ("items/s", "higher", ("ratio", 2)),
    "map_chunk_function": ("items/s", "higher", ("ratio", 5), "map_default"),
    "imap_chunk1": ("items/s", "higher", ("ratio", 5)),
    "imap_unordered_chunk1": ("items/s", "higher", ("ratio", 5)),
    "echo_1mib": ("MB/s", "higher", ("ratio", 5)),
    "behind_long_task": ("ms", "lower", None),
    "start_to_first_result": ("ms", "lower", ("max", 20)),
    "shutdown_join": ("ms", "lower", None),
}

# The floors, measured by bench.c: a forked child echoing over a bare
# socketpair (the kernel's cost), both ends sleeping between messages or,
# for floor_rtt_polling, neither; and one thread doing with GVariants what a
# map's worker must do per item (GLib's cost; a 2-worker map's ceiling is
# twice that).
FLOOR_WORKLOADS = {
    "floor_rtt": ("us/call", "lower"),
    "floor_rtt_polling": ("us/call", "lower"),
    "floor_echo_1mib": ("MB/s", "higher"),
    "floor_map_item": ("items/s", "higher"),
}

# (description, processing-glib workload, floor workload, factor): the pool's
# figure must be no worse than factor × the floor's.
FLOOR_CHECKS = [
    ("apply_rtt ≤ 2 × floor_rtt (within 2× of the socketpair floor)",
     "apply_rtt", "floor_rtt", 2.0),
    ("echo_1mib ≥ 0.4 × floor_echo_1mib (at least 40% of the floor's MB/s)",
     "echo_1mib", "floor_echo_1mib", 0.4),
]

MISSING = "—"


class BenchError(Exception):
    """A program failed or printed something that is not a result."""


def best_of(values, better):
    return min(values) if better == "lower" else max(values)


def times_better(pg, mp, better):
    """How many times better processing-glib is than multiprocessing."""
    if pg is None or mp is None or pg <= 0 or mp <= 0:
        return None
    return mp / pg if better == "lower" else pg / mp


def parse_line(line, program, impls):
    """One JSON line, checked, as (impl, workload, value, unit, better)."""
    try:
        record = json.loads(line)
        impl, workload = record["impl"], record["workload"]
        value, unit, better = record["value"], record["unit"], record["better"]
    except (ValueError, TypeError, KeyError) as e:
        raise BenchError(f"{program}: malformed line {line!r}: {e}") from None
    if not isinstance(impl, str) or not isinstance(workload, str):
        raise BenchError(f"{program}: impl and workload must be strings in {line!r}")
    if impl not in impls:
        raise BenchError(f"{program}: unexpected impl {impl!r} in {line!r}")
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value)):
        raise BenchError(f"{program}: value is not a finite number in {line!r}")
    if better not in ("lower", "higher") or not isinstance(unit, str):
        raise BenchError(f"{program}: bad unit or better in {line!r}")
    expected = WORKLOADS.get(workload, FLOOR_WORKLOADS.get(workload))
    if expected is not None and (unit, better) != tuple(expected[:2]):
        # A ratio between figures in different units would be meaningless.
        raise BenchError(f"{program}: {workload} should be in {expected[0]}, "
                         f"{expected[1]} is better; got {line!r}")
    return impl, workload, float(value), unit, better


def run(program, command, impls):
    """Run one benchmark; its stderr passes through, its stdout is parsed."""
    print(f"compare: running {' '.join(command)}", file=sys.stderr, flush=True)
    try:
        proc = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    except OSError as e:
        raise BenchError(f"{program}: cannot run: {e}") from None
    if proc.returncode < 0:
        raise BenchError(f"{program} was killed by signal {-proc.returncode}")
    if proc.returncode != 0:
        raise BenchError(f"{program} exited with status {proc.returncode}")
    return [parse_line(line, program, impls)
            for line in proc.stdout.splitlines() if line.strip()]


def collect(args):
    """Run both programs args.repeat times; {(impl, workload): result}."""
    common = ["--processes", str(args.processes), "--scale", str(args.scale)]
    # (name for messages, command line, the impls it may report)
    programs = [
        (args.bench.name, [str(args.bench.absolute())] + common, {PG, FLOOR}),
        (MP_BENCH.name, [sys.executable, str(MP_BENCH)] + common, {MP}),
    ]
    results = {}
    for _ in range(args.repeat):
        for program, command, impls in programs:
            for impl, workload, value, unit, better in run(program, command, impls):
                entry = results.setdefault((impl, workload), {
                    "impl": impl, "workload": workload, "unit": unit,
                    "better": better, "runs": []})
                entry["runs"].append(value)
    for entry in results.values():
        entry["best"] = best_of(entry["runs"], entry["better"])
    return results


def best(results, impl, workload):
    entry = results.get((impl, workload))
    return entry["best"] if entry else None


def format_value(value, unit):
    if value is None:
        return MISSING
    if value >= 1000:
        digits = f"{value:,.0f}"
    elif value >= 10:
        digits = f"{value:.1f}"
    else:
        digits = f"{value:.2f}"
    return f"{digits} {unit}"


def format_ratio(ratio):
    if ratio is None:
        return MISSING
    return f"{ratio:.1f}×" if ratio >= 1 else f"{ratio:.2f}×"


def format_met(met):
    return MISSING if met is None else ("yes" if met else "no")


def compare(results):
    """One row per workload: figures, ratio, target and whether it is met."""
    rows = []
    for workload, (unit, better, target, *against) in WORKLOADS.items():
        pg = best(results, PG, workload)
        mp = best(results, MP, against[0] if against else workload)
        ratio = times_better(pg, mp, better)
        met, target_text = None, MISSING
        if target and target[0] == "ratio":
            target_text = f"≥{target[1]}×"
            met = None if ratio is None else ratio >= target[1]
        elif target and target[0] == "max":
            target_text = f"≤{target[1]} {unit}"
            met = None if pg is None else pg <= target[1]
        rows.append({"workload": workload, "unit": unit, "better": better,
                     PG: pg, MP: mp, "ratio": ratio, "target": target_text,
                     "met": met})
    return rows


def check_floor(results):
    checks = []
    for description, workload, floor_workload, factor in FLOOR_CHECKS:
        pg = best(results, PG, workload)
        floor = best(results, FLOOR, floor_workload)
        limit = met = None
        if pg is not None and floor is not None:
            limit = factor * floor
            met = pg <= limit if WORKLOADS[workload][1] == "lower" else pg >= limit
        checks.append({"check": description, "workload": workload, PG: pg,
                       "floor_workload": floor_workload, FLOOR: floor,
                       "factor": factor, "limit": limit, "met": met})
    return checks


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model"):
                    return value.strip()
    except OSError:
        pass
    return "unknown"


def host_info():
    uname = os.uname()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "uname": f"{uname.sysname} {uname.release} {uname.machine}",
        "cpu": cpu_model(),
        # Like nproc: the CPUs this process may run on, not all installed.
        "nproc": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
    }


def print_table(header, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for row in [header] + rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def report(host, args, results, rows, checks):
    print(f"{host['date']} · {host['uname']} · {host['cpu']} · nproc {host['nproc']}"
          f" · Python {host['python']}")
    print(f"processes {args.processes} · scale {args.scale} · best of {args.repeat}")
    print()
    print_table(
        ["workload", PG, MP, "ratio", "target", "met?"],
        [[row["workload"], format_value(row[PG], row["unit"]),
          format_value(row[MP], row["unit"]), format_ratio(row["ratio"]),
          row["target"], format_met(row["met"])] for row in rows])
    print("(ratio: how many times better processing-glib is; "
          "a ≤ ms target is for processing-glib's own time)")
    print()
    print("floors (a forked child echoing over a socketpair; "
          "one thread making, squaring and freeing GVariant items):")
    print_table(
        ["workload", FLOOR],
        [[workload, format_value(best(results, FLOOR, workload), unit)]
         for workload, (unit, _) in FLOOR_WORKLOADS.items()])
    print()
    for check in checks:
        unit = WORKLOADS[check["workload"]][0]
        print(f"{check['check']}: {format_value(check[PG], unit)}, "
              f"limit {format_value(check['limit'], unit)} → {format_met(check['met'])}")

    missing = [f"{workload} from {impl}"
               for impl in (PG, MP) for workload in WORKLOADS
               if (impl, workload) not in results]
    missing += [f"{workload} from {FLOOR}" for workload in FLOOR_WORKLOADS
                if (FLOOR, workload) not in results]
    if missing:
        print()
        print("missing (shown as —): " + ", ".join(missing))
    # Workloads one side added that this script does not know yet: say so
    # rather than drop them silently (they are in --json's output).
    extra = sorted(f"{workload} from {impl}" for impl, workload in results
                   if workload not in WORKLOADS and workload not in FLOOR_WORKLOADS)
    if extra:
        print()
        print("not compared (unknown workloads): " + ", ".join(extra))


def write_json(path, host, args, results, rows, checks):
    document = {
        "host": host,
        "args": {"processes": args.processes, "scale": args.scale,
                 "repeat": args.repeat},
        "results": sorted(results.values(), key=lambda e: (e["impl"], e["workload"])),
        "comparisons": rows,
        "floor_checks": checks,
    }
    with open(path, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=2, ensure_ascii=False)
        out.write("\n")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Compare processing-glib with multiprocessing.Pool.")
    parser.add_argument("--bench", required=True, type=Path,
                        help="the C benchmark program (bench.c, built)")
    parser.add_argument("--processes", type=positive_int, default=2,
                        help="worker processes (default: 2)")
    parser.add_argument("--scale", type=positive_float, default=1.0,
                        help="multiply every count (default: 1.0)")
    parser.add_argument("--repeat", type=positive_int, default=1, metavar="N",
                        help="run both N times, keep the best of each (default: 1)")
    parser.add_argument("--json", type=Path, metavar="OUT",
                        help="also write every value and ratio to OUT")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    host = host_info()
    try:
        results = collect(args)
    except BenchError as e:
        print(f"compare: {e}", file=sys.stderr)
        return 1
    rows, checks = compare(results), check_floor(results)
    report(host, args, results, rows, checks)
    if args.json:
        write_json(args.json, host, args, results, rows, checks)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
