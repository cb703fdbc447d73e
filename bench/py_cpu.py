#!/usr/bin/python3
# py_cpu.py: processor time per item, in all processes, from Python.
#
#   py_cpu.py IMPL WORKLOAD N
#
# IMPL is processing (Processing.Pool) or fork (multiprocessing.Pool);
# WORKLOAD is async (apply_async of N tasks, then get), imap (chunk size 1),
# map (of range(N), default chunks) or echo (map of N × 1 MiB bytes, chunk
# size 1). With 2 processes and a warm pool (mp_bench.WarmPool), prints the
# processor time per item of the caller (all its threads) and of the
# workers (/proc/PID/stat), which a loaded machine moves less than the
# elapsed time py_compare.py prints. Needs the build tree's paths, as
# py_compare.py does.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import sys
import time
import types

import gi

import mp_bench

gi.require_version("Processing", "1.0")
from gi.repository import Processing  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def process_time(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def run(pool, workload, n):
    if workload == "async":
        [result.get() for result in [pool.apply_async(mp_bench.square, (i,)) for i in range(n)]]
    elif workload == "imap":
        list(pool.imap(mp_bench.square, range(n), chunksize=1))
    elif workload == "map":
        pool.map(mp_bench.square, range(n))
    elif workload == "echo":
        pool.map(mp_bench.echo, [os.urandom(mp_bench.ECHO_SIZE)] * n, chunksize=1)
    else:
        raise SystemExit(f"unknown workload {workload}")


def main(impl, workload, n):
    if impl == "processing":
        ctx = types.SimpleNamespace(Pool=Processing.Pool)
    else:
        import multiprocessing
        ctx = multiprocessing.get_context(impl)
    with mp_bench.WarmPool(ctx, 2) as pool:
        if impl == "processing":
            pids = [worker["pid"] for worker in pool.stats()["per_worker"]]
        else:
            pids = [process.pid for process in pool._pool]
        caller, workers = time.process_time(), sum(map(process_time, pids))
        start = time.perf_counter()
        run(pool, workload, n)
        elapsed = time.perf_counter() - start
        caller = time.process_time() - caller
        workers = sum(map(process_time, pids)) - workers
    print(f"{impl} {workload}: {caller / n * 1e6:.2f} µs/item in the caller, "
          f"{workers / n * 1e6:.2f} in the workers, {(caller + workers) / n * 1e6:.2f} in all; "
          f"elapsed {elapsed / n * 1e6:.2f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
