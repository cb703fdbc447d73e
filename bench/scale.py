#!/usr/bin/python3
# scale.py: how the pool and multiprocessing.Pool scale with the number of
# workers, side by side.
#
#   scale.py --bench PATH [--processes 2,8,32,128] [--scale S] [--repeat N]
#
# For each number of workers, runs bench.c and mp_bench.py with
# --processes N on two workloads, submit_throughput (tasks/s, higher is
# better) and start_to_first_result (ms, lower is better), and prints one
# row per number: both figures of both, and the pool's figure against its
# own with the fewest workers (a pool larger than the work needs should
# not pay for the workers it does not use). With --repeat, each figure is
# the best of its runs.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import subprocess
import sys
from pathlib import Path

from compare import BenchError, MP_BENCH, run
from mp_bench import positive_float, positive_int

PG = "processing-glib"
MP = "multiprocessing"
WORKLOADS = {
    "submit_throughput": ("tasks/s", max),
    "start_to_first_result": ("ms", min),
}


def process_counts(text):
    try:
        counts = [int(n) for n in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is not a list of numbers") from None
    if not counts or any(n <= 0 for n in counts):
        raise argparse.ArgumentTypeError(f"{text}: every number must be positive")
    return counts


def measure(args, processes):
    """{(impl, workload): best value} for one number of workers."""
    common = ["--processes", str(processes), "--scale", str(args.scale),
              "--only", ",".join(WORKLOADS)]
    programs = [
        (args.bench.name, [str(args.bench.absolute())] + common, {PG, "floor"}),
        (MP_BENCH.name, [sys.executable, str(MP_BENCH)] + common, {MP}),
    ]
    runs = {}
    for _ in range(args.repeat):
        for program, command, impls in programs:
            for impl, workload, value, unit, better in run(program, command, impls):
                runs.setdefault((impl, workload), []).append(value)
    return {key: WORKLOADS[key[1]][1](values) for key, values in runs.items()
            if key[1] in WORKLOADS}


def main():
    parser = argparse.ArgumentParser(description="How the pool and multiprocessing.Pool scale with the number of workers.")
    parser.add_argument("--bench", type=Path, required=True, help="path of processing-bench")
    parser.add_argument("--processes", type=process_counts, default=[2, 8, 32, 128],
                        help="numbers of workers, comma-separated (2,8,32,128)")
    parser.add_argument("--scale", type=positive_float, default=0.2)
    parser.add_argument("--repeat", type=positive_int, default=1)
    args = parser.parse_args()

    rows = []
    try:
        for processes in args.processes:
            rows.append((processes, measure(args, processes)))
    except BenchError as e:
        print(f"scale: {e}", file=sys.stderr)
        return 1

    base = rows[0][1]
    print(f"{'workers':>7}  {'submit, pool':>14}  {'vs ' + str(rows[0][0]):>7}  {'submit, mp':>12}  {'ratio':>6}"
          f"  {'first result, pool':>19}  {'vs ' + str(rows[0][0]):>7}  {'first result, mp':>17}")
    for processes, figures in rows:
        pg_submit = figures.get((PG, "submit_throughput"))
        mp_submit = figures.get((MP, "submit_throughput"))
        pg_start = figures.get((PG, "start_to_first_result"))
        mp_start = figures.get((MP, "start_to_first_result"))
        print(f"{processes:>7}  {pg_submit:>10,.0f} t/s  {pg_submit / base[(PG, 'submit_throughput')]:>6.2f}×"
              f"  {mp_submit:>8,.0f} t/s  {pg_submit / mp_submit:>5.1f}×"
              f"  {pg_start:>16.2f} ms  {pg_start / base[(PG, 'start_to_first_result')]:>6.2f}×"
              f"  {mp_start:>14.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
