#!/usr/bin/python3
# test-bindings.py: the pool from Python through GObject-introspection
# (PyGObject), with this script as its own worker. Prints TAP.
#
# Copyright 2026 The processing-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import signal
import sys
import time
import traceback

import gi

gi.require_version("Processing", "1.0")
from gi.repository import Gio, GLib, Processing  # noqa: E402

TEST_ERROR = "processing-test-error-quark"


def square(args, cancellable):
    x = args.unpack()
    if x < 0:
        raise GLib.Error("negative: %d" % x, TEST_ERROR, 7)
    return GLib.Variant("x", x * x)


def pid(args, cancellable):
    return GLib.Variant("x", os.getpid())


def sleep_until_cancelled(args, cancellable):
    while not cancellable.is_cancelled():
        time.sleep(0.01)
    raise GLib.Error("stopped", "g-io-error-quark", Gio.IOErrorEnum.CANCELLED)


def touch_then_sleep(args, cancellable):
    with open(args.unpack(), "w"):
        pass
    return sleep_until_cancelled(args, cancellable)


def no_value(args, cancellable):
    return None


worker = Processing.Worker.new()
for name, func in [("square", square), ("pid", pid),
                   ("sleep_until_cancelled", sleep_until_cancelled),
                   ("touch_then_sleep", touch_then_sleep), ("no_value", no_value)]:
    worker.add_function(name, func)

if Processing.Worker.is_requested():
    sys.exit(0 if worker.run() else 1)


def assert_error(call, domain, code):
    try:
        call()
    except GLib.Error as error:
        assert error.domain == domain, (error.domain, domain)
        assert error.code == code, (error.code, code)
        return error
    raise AssertionError("no error")


def test_apply(pool):
    assert pool.apply("square", GLib.Variant("x", 7), None).unpack() == 49


def test_task_error(pool):
    error = assert_error(lambda: pool.apply("square", GLib.Variant("x", -2), None),
                         TEST_ERROR, 7)
    assert error.message == "negative: -2"
    assert_error(lambda: pool.apply("no_value", GLib.Variant("x", 0), None),
                 "p-pool-error-quark", Processing.PoolError.FAILED)
    assert_error(lambda: pool.apply("no_such_function", GLib.Variant("x", 0), None),
                 "p-pool-error-quark", Processing.PoolError.UNKNOWN_FUNCTION)


def test_submit(pool):
    result = pool.submit("square", GLib.Variant("x", 5), None)
    assert result.wait(-1)
    assert result.ready() and result.successful()
    assert result.get(-1).unpack() == 25
    assert result.props.is_ready


def test_timeout(pool):
    cancellable = Gio.Cancellable()
    result = pool.submit("sleep_until_cancelled", GLib.Variant("x", 0), cancellable)
    assert_error(lambda: result.get(50000), "g-io-error-quark", Gio.IOErrorEnum.TIMED_OUT)
    assert not result.ready()
    cancellable.cancel()
    assert_error(lambda: result.get(-1), "g-io-error-quark", Gio.IOErrorEnum.CANCELLED)


def test_map(pool):
    squares = pool.map("square", GLib.Variant("ax", range(100)), 0, None)
    assert squares.unpack() == [x * x for x in range(100)]
    assert_error(lambda: pool.map("square", GLib.Variant("ax", [1, -1, 2]), 1, None),
                 TEST_ERROR, 7)
    assert_error(lambda: pool.map("square", GLib.Variant("x", 1), 0, None),
                 "g-io-error-quark", Gio.IOErrorEnum.INVALID_ARGUMENT)


def test_imap(pool):
    values = []
    iterator = pool.imap("square", GLib.Variant("ax", range(20)), 3, None)
    while (value := iterator.next(-1)) is not None:
        values.append(value.unpack())
    assert values == [x * x for x in range(20)]

    values = []
    iterator = pool.imap_unordered("square", GLib.Variant("ax", [1, -1, 2]), 1, None)
    errors = 0
    while True:
        try:
            value = iterator.next(-1)
        except GLib.Error:
            errors += 1
            continue
        if value is None:
            break
        values.append(value.unpack())
    assert sorted(values) == [1, 4] and errors == 1


def test_async(pool):
    loop = GLib.MainLoop()
    got = []

    def on_applied(source, result):
        got.append(source.apply_finish(result).unpack())
        source.map_async("square", GLib.Variant("ax", [3, 4]), 0, None, on_mapped)

    def on_mapped(source, result):
        got.append(source.map_finish(result).unpack())
        loop.quit()

    pool.apply_async("square", GLib.Variant("x", 9), None, on_applied)
    loop.run()
    assert got == [81, [9, 16]], got


def test_worker_death(pool):
    # One worker, so that the task runs in the process that is killed.
    solo = Processing.Pool.new(1, None)
    victim = solo.apply("pid", GLib.Variant("x", 0), None).unpack()
    started = os.path.join(GLib.get_tmp_dir(), "test-bindings-%d" % os.getpid())
    result = solo.submit("touch_then_sleep", GLib.Variant("s", started), None)
    while not os.path.exists(started):
        time.sleep(0.01)
    os.unlink(started)
    os.kill(victim, signal.SIGKILL)
    error = assert_error(lambda: result.get(30 * 1000 * 1000),
                         "p-pool-error-quark", Processing.PoolError.WORKER_DIED)
    assert "signal 9" in error.message, error.message
    assert solo.apply("pid", GLib.Variant("x", 0), None).unpack() != victim
    solo.shutdown()
    solo.join()


def test_closed(pool):
    pool.shutdown()
    assert_error(lambda: pool.apply("square", GLib.Variant("x", 1), None),
                 "p-pool-error-quark", Processing.PoolError.CLOSED)
    pool.join()


tests = [test_apply, test_task_error, test_submit, test_timeout, test_map,
         test_imap, test_async, test_worker_death, test_closed]

print("1..%d" % len(tests))
pool = Processing.Pool.new(2, None)
failed = 0
for number, test in enumerate(tests, 1):
    try:
        test(pool)
        print("ok %d %s" % (number, test.__name__))
    except Exception:
        failed += 1
        print("not ok %d %s" % (number, test.__name__))
        for line in traceback.format_exc().splitlines():
            print("# " + line)
    sys.stdout.flush()

sys.exit(1 if failed else 0)
