#!/usr/bin/python3
# test-launcher.py: PLauncher from Python through GObject-introspection,
# with stand-ins for srun and ssh (tests/test-launcher-ssh.c and
# test-launcher-srun.c use the real ones), and this script as its own
# worker. Prints TAP.
#
# Copyright 2026 The processing-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import sys
import traceback

import gi

gi.require_version("Processing", "1.0")
from gi.repository import Gio, GLib, Processing  # noqa: E402

# srun's stand-in runs its command after the options; ssh's fails as
# ssh does for a host it cannot resolve.
FAKE_SRUN = ["/bin/sh", "-c", 'while [ "${1#-}" != "$1" ]; do shift; done; exec "$@"', "fake-srun"]
FAKE_SSH = ["/bin/sh", "-c", 'echo "ssh: Could not resolve hostname nowhere" >&2; exit 255', "fake-ssh"]


def square(args, cancellable):
    # Printed on the worker's standard error, never on its link.
    print("squaring", args.unpack())
    return GLib.Variant("x", args.unpack() ** 2)


def pid(args, cancellable):
    return GLib.Variant("x", os.getpid())


worker = Processing.Worker.new()
worker.add_function("square", square)
worker.add_function("pid", pid)

if Processing.Worker.is_requested():
    sys.exit(0 if worker.run() else 1)


def srun_launcher():
    launcher = Processing.Launcher.new_srun(None)
    launcher.set_command(FAKE_SRUN)
    return launcher


def test_constructor():
    pool = Processing.Pool.new_with_launcher(2, None, srun_launcher())
    assert pool.props.processes == 2
    assert isinstance(pool.props.launcher, Processing.Launcher)
    assert pool.apply("square", GLib.Variant("x", 7), None).unpack() == 49
    squares = pool.map("square", GLib.Variant("ax", range(10)), 0, None).unpack()
    assert squares == [x * x for x in range(10)], squares
    assert pool.apply("pid", GLib.Variant("x", 0), None).unpack() != os.getpid()
    pool.shutdown()
    pool.join()


def test_properties():
    # Processing.Pool's launcher= keyword (the override's Pool).
    pool = Processing.Pool(processes=1, launcher=srun_launcher())
    assert pool.apply("square", GLib.Variant("x", 3), None).unpack() == 9
    pool.terminate()
    pool.join()


def test_no_processes():
    # None: as many as the launcher says, which srun outside an
    # allocation cannot.
    os.environ.pop("SLURM_NTASKS", None)
    try:
        Processing.Pool(launcher=srun_launcher())
    except GLib.Error as error:
        assert error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.INVALID_ARGUMENT), error
    else:
        raise AssertionError("no error")


def test_client_fails():
    launcher = Processing.Launcher.new_ssh(["nowhere"])
    launcher.set_command(FAKE_SSH)
    launcher.set_reuse_connections(False)
    pool = Processing.Pool.new_with_launcher(1, None, launcher)
    try:
        pool.apply("square", GLib.Variant("x", 1), None)
    except GLib.Error as error:
        assert error.domain == "p-pool-error-quark", error.domain
        assert error.code == Processing.PoolError.WORKER_START, error.code
        assert "ssh: Could not resolve hostname nowhere" in error.message, error.message
    else:
        raise AssertionError("no error")
    pool.terminate()
    pool.join()


tests = [test_constructor, test_properties, test_no_processes, test_client_fails]

print("1..%d" % len(tests))
failed = 0
for number, test in enumerate(tests, 1):
    try:
        test()
        print("ok %d %s" % (number, test.__name__))
    except Exception:
        failed += 1
        print("not ok %d %s" % (number, test.__name__))
        for line in traceback.format_exc().splitlines():
            print("# " + line)
    sys.stdout.flush()

sys.exit(1 if failed else 0)
