#!/usr/bin/python3
# mp_bench.py: the multiprocessing.Pool side of the benchmark.
#
#   mp_bench.py [--processes N] [--scale S] [--only NAME[,NAME...]] [--COUNT N...]
#
# Runs the same workloads as bench.c against CPython's multiprocessing.Pool
# and prints one JSON object per line on stdout:
#
#   {"impl": "multiprocessing", "workload": "apply_rtt", "value": 61.2,
#    "unit": "us/call", "better": "lower"}
#
# Progress goes to stderr, so stdout stays machine-readable for compare.py.
# Standard library only: it runs with the system's python3.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import json
import multiprocessing
import os
import sys
import time

# How many calls, tasks, items or trials each workload runs. --scale
# multiplies them all (a quick run is --scale 0.05); a flag of the same name
# (--apply-calls ...) sets one exactly.
DEFAULT_COUNTS = {
    "apply_calls": 20_000,
    "apply_warmup": 200,
    "submit_tasks": 100_000,
    "map_items": 1_000_000,
    "imap_items": 100_000,
    "echo_count": 500,
    "behind_tasks": 2_000,
    "trials": 5,
}

ECHO_SIZE = 1 << 20
LONG_TASK_MS = 200


def square(x):
    return x * x


def echo(b):
    return b


def nap(ms):
    time.sleep(ms / 1000)
    return ms


def check(ok, what):
    # A benchmark that computes the wrong thing measures nothing: fail loudly.
    if not ok:
        raise RuntimeError(f"wrong result: {what}")


def sum_of_squares(n):
    """Sum of i*i for i in range(n)."""
    return (n - 1) * n * (2 * n - 1) // 6


class WarmPool:
    """A pool that has run one task, with every worker ready, so start-up
    stays out of the timings."""

    def __init__(self, ctx, processes):
        self.pool = ctx.Pool(processes)
        self.processes = processes

    def __enter__(self):
        self.pool.apply(square, (0,))
        # A pool that says how many of its workers are ready (Processing.Pool,
        # whose workers start as multiprocessing's spawn does, on their own
        # time) is waited for; multiprocessing's fork workers are ready once
        # forked.
        stats = getattr(self.pool, "stats", None)
        deadline = time.monotonic() + 60
        while stats is not None and time.monotonic() < deadline:
            now = stats()
            if now["idle"] + now["busy"] >= self.processes:
                break
            time.sleep(0.005)
        return self.pool

    def __exit__(self, *exc_info):
        self.pool.terminate()
        self.pool.join()


def apply_rtt(ctx, processes, counts):
    calls = counts["apply_calls"]
    with WarmPool(ctx, processes) as pool:
        for i in range(counts["apply_warmup"]):
            pool.apply(square, (i,))
        start = time.perf_counter()
        for i in range(calls):
            result = pool.apply(square, (i,))
        elapsed = time.perf_counter() - start
    check(result == (calls - 1) ** 2, "apply")
    return elapsed / calls * 1e6


def submit_throughput(ctx, processes, counts):
    n = counts["submit_tasks"]
    with WarmPool(ctx, processes) as pool:
        start = time.perf_counter()
        pending = [pool.apply_async(square, (i,)) for i in range(n)]
        results = [r.get() for r in pending]
        elapsed = time.perf_counter() - start
    check(sum(results) == sum_of_squares(n), "apply_async")
    return n / elapsed


def map_default(ctx, processes, counts):
    n = counts["map_items"]
    with WarmPool(ctx, processes) as pool:
        start = time.perf_counter()
        results = pool.map(square, range(n))
        elapsed = time.perf_counter() - start
    check(sum(results) == sum_of_squares(n), "map")
    return n / elapsed


def imap_chunk1(ctx, processes, counts):
    n = counts["imap_items"]
    with WarmPool(ctx, processes) as pool:
        start = time.perf_counter()
        results = list(pool.imap(square, range(n), chunksize=1))
        elapsed = time.perf_counter() - start
    check(results == [i * i for i in range(n)], "imap")
    return n / elapsed


def imap_unordered_chunk1(ctx, processes, counts):
    n = counts["imap_items"]
    with WarmPool(ctx, processes) as pool:
        start = time.perf_counter()
        results = list(pool.imap_unordered(square, range(n), chunksize=1))
        elapsed = time.perf_counter() - start
    check(sorted(results) == [i * i for i in range(n)], "imap_unordered")
    return n / elapsed


def echo_1mib(ctx, processes, counts):
    n = counts["echo_count"]
    payload = os.urandom(ECHO_SIZE)
    with WarmPool(ctx, processes) as pool:
        start = time.perf_counter()
        results = pool.map(echo, [payload] * n, chunksize=1)
        elapsed = time.perf_counter() - start
    check(len(results) == n and all(r == payload for r in results), "echo")
    # Each payload crosses twice (there and back), but only one direction is
    # counted, the same way as bench.c and its socketpair floor count it.
    return n * ECHO_SIZE / 1e6 / elapsed


def behind_long_task(ctx, processes, counts):
    # Short tasks submitted right behind a long one: until they are all back.
    n = counts["behind_tasks"]
    with WarmPool(ctx, processes) as pool:
        # Workers busy with short tasks lately, as before any long one.
        check(len([r.get() for r in [pool.apply_async(square, (i,)) for i in range(n)]]) == n, "warm-up")
        start = time.perf_counter()
        slow = pool.apply_async(nap, (LONG_TASK_MS,))
        pending = [pool.apply_async(square, (i,)) for i in range(n)]
        results = [r.get() for r in pending]
        elapsed = time.perf_counter() - start
        check(slow.get() == LONG_TASK_MS, "nap")
    check(results == [i * i for i in range(n)], "behind_long_task")
    return elapsed * 1e3


def start_to_first_result(ctx, processes, counts):
    best = float("inf")
    for _ in range(counts["trials"]):
        start = time.perf_counter()
        pool = ctx.Pool(processes)
        result = pool.apply(square, (3,))
        elapsed = time.perf_counter() - start
        # Tearing the pool down is shutdown_join's business, not this one's.
        pool.terminate()
        pool.join()
        check(result == 9, "first apply")
        best = min(best, elapsed)
    return best * 1e3


def shutdown_join(ctx, processes, counts):
    best = float("inf")
    for _ in range(counts["trials"]):
        pool = ctx.Pool(processes)
        check(pool.apply(square, (2,)) == 4, "apply before shutdown")
        start = time.perf_counter()
        pool.close()
        pool.join()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


# name: (function, unit, which way is better), in the order they run.
WORKLOADS = {
    "apply_rtt": (apply_rtt, "us/call", "lower"),
    "submit_throughput": (submit_throughput, "tasks/s", "higher"),
    "map_default": (map_default, "items/s", "higher"),
    "imap_chunk1": (imap_chunk1, "items/s", "higher"),
    "imap_unordered_chunk1": (imap_unordered_chunk1, "items/s", "higher"),
    "echo_1mib": (echo_1mib, "MB/s", "higher"),
    "behind_long_task": (behind_long_task, "ms", "lower"),
    "start_to_first_result": (start_to_first_result, "ms", "lower"),
    "shutdown_join": (shutdown_join, "ms", "lower"),
}


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def workload_list(text):
    names = [name for name in text.split(",") if name]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown workload {', '.join(unknown) or repr(text)}; "
            f"known: {', '.join(WORKLOADS)}")
    return names


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Benchmark multiprocessing.Pool; JSON lines on stdout.")
    parser.add_argument("--processes", type=positive_int, default=2,
                        help="worker processes (default: 2)")
    parser.add_argument("--scale", type=positive_float, default=1.0,
                        help="multiply every default count (minimum 1)")
    parser.add_argument("--only", type=workload_list, default=list(WORKLOADS),
                        metavar="NAME[,NAME...]", help="run only these workloads")
    for name, default in DEFAULT_COUNTS.items():
        parser.add_argument("--" + name.replace("_", "-"), type=positive_int,
                            dest=name, metavar="N",
                            help=f"exact count, not scaled (default: {default})")
    return parser.parse_args(argv)


def resolve_counts(args):
    counts = {}
    for name, default in DEFAULT_COUNTS.items():
        given = getattr(args, name)
        counts[name] = given if given is not None else max(1, round(default * args.scale))
    return counts


def main(argv):
    args = parse_args(argv)
    counts = resolve_counts(args)
    # fork, as multiprocessing's default on Linux and its fastest start method.
    ctx = multiprocessing.get_context("fork")
    for name in args.only:
        function, unit, better = WORKLOADS[name]
        print(f"mp_bench: {name}", file=sys.stderr, flush=True)
        value = function(ctx, args.processes, counts)
        record = {"impl": "multiprocessing", "workload": name,
                  "value": round(value, 3), "unit": unit, "better": better}
        print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
