#!/usr/bin/python3
# test-pool.py: Processing.Pool from Python, beyond CPython's own cases
# (test-multiprocessing-pool.py): its guarantees, what it adds to
# multiprocessing, functions named by a string, the conversion of values,
# and the GIO calls. Prints TAP.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import gc
import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import unittest

import gi

gi.require_version('Processing', '1.0')
from gi.repository import Gio, GLib, Processing  # noqa: E402

import pytap  # noqa: E402


def square(x):
    return x * x


def add(a, b):
    return a + b


def echo(value):
    return value


def nap(seconds, value=None):
    time.sleep(seconds)
    return value


def fail(*args):
    raise KeyError(*args)


def die(status):
    os._exit(status)


def kill_self(signum):
    os.kill(os.getpid(), signum)


def getpid():
    return os.getpid()


class Thing:
    pass


class Unpicklable:
    def __reduce__(self):
        raise TypeError('not today')


def unpicklable_result():
    return Unpicklable()


def unpicklable_exception():
    error = ValueError('with a lambda')
    error.payload = lambda: None
    raise error


def generator_failing_at(n):
    for i in range(n):
        yield i
    raise IndexError('input ends at %d' % n)


def report_steps(n):
    # A report every 60 ms: the pool takes one every 50 ms at most.
    for i in range(n):
        Processing.report_progress((i + 1) / n, 'step %d' % (i + 1))
        time.sleep(0.06)
    return n


_initialized = None


def initialize(value):
    global _initialized
    _initialized = value


def initialized():
    return _initialized


def spin_until_cancelled():
    # A Python task cannot see its GCancellable: it is killed after the
    # grace period.
    while True:
        time.sleep(0.01)


class PoolTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pool = Processing.Pool(2)

    @classmethod
    def tearDownClass(cls):
        cls.pool.terminate()
        cls.pool.join()


class TestGuarantees(PoolTestCase):
    def test_exception_type_args_and_remote_traceback(self):
        with self.assertRaises(KeyError) as caught:
            self.pool.apply(fail, ('a', 2))
        self.assertEqual(caught.exception.args, ('a', 2))
        cause = caught.exception.__cause__
        self.assertIsInstance(cause, Processing.RemoteTraceback)
        self.assertIn('raise KeyError(*args)', cause.tb)
        self.assertIn('fail', str(cause))

    def test_unpicklable_result_and_exception(self):
        for func in (unpicklable_result, unpicklable_exception):
            with self.assertRaises(Processing.MaybeEncodingError) as caught:
                self.pool.apply(func)
            self.assertIsNotNone(caught.exception.exc)
            self.assertIsNotNone(caught.exception.value)
        # The pool goes on, with the same workers.
        self.assertEqual(self.pool.map(square, range(20)), [x * x for x in range(20)])

    def test_unpicklable_argument(self):
        with self.assertRaises(TypeError):
            self.pool.apply(echo, (Unpicklable(),))
        got = []
        result = self.pool.apply_async(echo, (Unpicklable(),), error_callback=got.append)
        self.assertTrue(result.ready())
        self.assertFalse(result.successful())
        self.assertIsInstance(got[0], TypeError)

    def test_input_exception_then_usable(self):
        with self.assertRaises(IndexError):
            self.pool.map(square, generator_failing_at(5))
        with self.assertRaises(IndexError):
            self.pool.starmap(add, ((i, i) for i in generator_failing_at(3)))
        self.assertEqual(self.pool.apply(square, (9,)), 81)

    def test_imap_error_positions(self):
        # An input error at item k yields exactly (k // c) * c results.
        for ordered in (True, False):
            for chunksize in (1, 2, 3, 5):
                k = 7
                method = self.pool.imap if ordered else self.pool.imap_unordered
                it = method(square, generator_failing_at(k), chunksize)
                got = []
                with self.assertRaises(IndexError):
                    for value in it:
                        got.append(value)
                self.assertEqual(sorted(got), [x * x for x in range((k // chunksize) * chunksize)])
                self.assertRaises(StopIteration, next, it)

    def test_imap_task_error_in_place(self):
        # A chunk whose call fails raises in its place; the rest follows.
        def items():
            yield from [(1,), (2,), ('x',), (4,)]
        it = self.pool.imap(square, [1, 2, 'x', 4])
        self.assertEqual(next(it), 1)
        self.assertEqual(next(it), 4)
        self.assertRaises(TypeError, next, it)
        self.assertEqual(next(it), 16)
        self.assertRaises(StopIteration, next, it)

    def test_callbacks_run_before_get_returns(self):
        # No main loop runs: the callbacks run in a thread of their own.
        got = []

        def slow_append(value):
            time.sleep(0.05)
            got.append(value)

        result = self.pool.apply_async(square, (3,), callback=slow_append)
        self.assertEqual(result.get(), 9)
        self.assertEqual(got, [9])

        result = self.pool.apply_async(fail, ('k',), error_callback=slow_append)
        result.wait()
        self.assertTrue(result.ready())
        self.assertIsInstance(got[1], KeyError)
        self.assertRaises(KeyError, result.get)

        result = self.pool.map_async(square, range(10), 3, callback=slow_append)
        self.assertEqual(result.get(), [x * x for x in range(10)])
        self.assertEqual(got[2], [x * x for x in range(10)])

        result = self.pool.starmap_async(add, [(1, 2), (3, 'x')], 1, error_callback=slow_append)
        self.assertRaises(TypeError, result.get)
        self.assertIsInstance(got[3], TypeError)
        self.assertEqual(threading.current_thread(), threading.main_thread())

    def test_get_waits_for_a_running_callback(self):
        # The outcome is known while the callback still runs: get() waits
        # for the callback all the same.
        got = []

        def slow_append(value):
            time.sleep(0.3)
            got.append(value)

        result = self.pool.apply_async(square, (3,), callback=slow_append)
        time.sleep(0.1)
        self.assertEqual(result.get(), 9)
        self.assertEqual(got, [9])

    def test_map_fails_fast_with_callbacks(self):
        # A later chunk fails while an earlier one still runs.
        got = []
        result = self.pool.starmap_async(nap, [(0.5, 1), ('x', 2)], 1, callback=got.append,
                                         error_callback=got.append)
        self.assertRaises(TypeError, result.get, 30)
        self.assertIsInstance(got[0], TypeError)
        result = self.pool.starmap_async(nap, [(0.5, 1), ('x', 2)], 1)
        self.assertRaises(TypeError, result.get, 30)

    def test_callback_thread(self):
        threads = []
        self.pool.apply_async(square, (2,), callback=lambda v: threads.append(
            threading.current_thread())).get()
        self.assertNotEqual(threads[0], threading.current_thread())

    def test_callback_exception_does_not_stop_others(self):
        got = []

        def broken(value):
            raise RuntimeError('a broken callback')

        first = self.pool.apply_async(square, (1,), callback=broken)
        second = self.pool.apply_async(square, (2,), callback=got.append)
        self.assertEqual(first.get(), 1)
        self.assertEqual(second.get(), 4)
        self.assertEqual(got, [4])

    def test_map_async_empty_ready_at_once(self):
        got = []
        result = self.pool.map_async(square, [], callback=got.append)
        self.assertTrue(result.ready())
        self.assertTrue(result.successful())
        self.assertEqual(result.get(timeout=0), [])
        self.assertEqual(got, [[]])

    def test_successful_not_ready(self):
        result = self.pool.apply_async(nap, (0.5,))
        with self.assertRaises(ValueError):
            result.successful()
        result.get()
        self.assertTrue(result.successful())

    def test_timeouts(self):
        self.assertTrue(issubclass(Processing.TimeoutError, TimeoutError))
        result = self.pool.apply_async(nap, (0.5, 'late'))
        with self.assertRaises(Processing.TimeoutError):
            result.get(timeout=0.01)
        result.wait(0.01)
        self.assertFalse(result.ready())
        # A wait that runs out does not cancel the call.
        self.assertEqual(result.get(), 'late')

        it = self.pool.imap(nap, [0.5])
        with self.assertRaises(TimeoutError):
            it.next(timeout=0.01)
        self.assertIsNone(it.next(timeout=30))

    def test_no_references_kept(self):
        import gc
        import weakref

        # Things the caller made, and the copies the results hold.
        things = [Thing() for _ in range(5)]
        refs = [weakref.ref(thing) for thing in things]
        results = self.pool.map(echo, things)
        result_refs = [weakref.ref(result) for result in results]
        del things, results
        gc.collect()
        self.assertEqual([ref() for ref in refs + result_refs], [None] * 10)

    def test_not_running(self):
        pool = Processing.Pool(1)
        pool.close()
        for call in (lambda: pool.apply(square, (1,)), lambda: pool.map(square, [1]),
                     lambda: pool.imap(square, [1]), lambda: pool.apply_async(square, (1,))):
            self.assertRaises(ValueError, call)
        with self.assertRaises(ValueError):
            with pool:
                pass
        pool.join()
        self.assertRaises(ValueError, Processing.Pool(1).join)

    def test_bad_arguments(self):
        self.assertRaises(ValueError, Processing.Pool, 0)
        self.assertRaises(ValueError, Processing.Pool, -3)
        self.assertRaises(ValueError, Processing.Pool, 1025)
        self.assertRaises(TypeError, Processing.Pool, 1.5)
        for value in (0, -1, 0.5, '12', True):
            self.assertRaises(ValueError, Processing.Pool, 1, maxtasksperchild=value)
        self.assertRaises(TypeError, Processing.Pool, 1, initializer=3)
        self.assertRaises(TypeError, Processing.Pool, 1, no_such_option=3)
        self.assertRaises(ValueError, Processing.Pool, 1, task_timeout=-1)
        self.assertRaises(ValueError, self.pool.map, square, [1], 0)
        self.assertRaises(ValueError, self.pool.imap, square, [1], -1)
        self.assertRaises(TypeError, self.pool.apply, 'square', (1,), {'x': 1})
        with self.assertRaises(NotImplementedError):
            import pickle
            pickle.dumps(self.pool)

    def test_initializer(self):
        with Processing.Pool(2, initializer=initialize, initargs=('ready',)) as pool:
            self.assertEqual(set(pool.map(echo, [1, 2, 3])), {1, 2, 3})
            self.assertEqual(pool.apply(initialized), 'ready')

    def test_starmap_and_kwds(self):
        self.assertEqual(self.pool.starmap(add, [(1, 2), ('a', 'b')]), [3, 'ab'])
        self.assertEqual(self.pool.apply(nap, (0,), {'value': 'kw'}), 'kw')

    def test_large_values(self):
        data = os.urandom(3 << 20)
        self.assertEqual(self.pool.apply(echo, (data,)), data)
        self.assertEqual(self.pool.map(echo, [data, b'', data[:10]], 1), [data, b'', data[:10]])


class TestBeyond(unittest.TestCase):
    """What multiprocessing does not do."""

    def test_cancel_queued_and_running(self):
        with Processing.Pool(1, cancel_grace_period=0.1) as pool:
            running = pool.apply_async(spin_until_cancelled)
            queued = pool.apply_async(square, (5,))
            time.sleep(0.2)
            self.assertTrue(queued.cancel())
            self.assertRaises(Processing.CancelledError, queued.get, 30)
            self.assertTrue(queued.cancelled())
            self.assertTrue(running.cancel())
            self.assertRaises(Processing.CancelledError, running.get, 30)
            # The worker that ignored it was replaced.
            self.assertEqual(pool.apply(square, (6,)), 36)
            done = pool.apply_async(square, (2,))
            done.wait()
            self.assertFalse(done.cancel())
            self.assertEqual(done.get(), 4)

    def test_cancel_map(self):
        with Processing.Pool(1, cancel_grace_period=0.1) as pool:
            result = pool.map_async(nap, [30] * 4, 1)
            self.assertTrue(result.cancel())
            self.assertRaises(Processing.CancelledError, result.get, 30)
            self.assertEqual(pool.apply(square, (3,)), 9)

    def test_task_timeout(self):
        with Processing.Pool(1, task_timeout=0.2) as pool:
            with self.assertRaises(Processing.TaskTimeoutError) as caught:
                pool.apply(nap, (60,))
            self.assertIsInstance(caught.exception, TimeoutError)
            self.assertEqual(pool.apply(square, (4,)), 16)

    def test_worker_death(self):
        with Processing.Pool(1) as pool:
            first = pool.apply(getpid)
            with self.assertRaises(Processing.WorkerDiedError) as caught:
                pool.apply(die, (3,))
            self.assertIn('3', str(caught.exception))
            with self.assertRaises(Processing.WorkerDiedError) as caught:
                pool.apply(kill_self, (signal.SIGKILL,))
            self.assertIn('9', str(caught.exception))
            self.assertNotEqual(pool.apply(getpid), first)
            # A death inside a map fails the map, not the pool.
            self.assertRaises(Processing.WorkerDiedError, pool.map, die, [0, 1, 2], 1)
            self.assertEqual(pool.map(square, range(4)), [0, 1, 4, 9])

    def test_terminate_prompt(self):
        pool = Processing.Pool(2)
        busy = [pool.apply_async(nap, (600,)) for _ in range(2)]
        queued = pool.map_async(nap, [600] * 5000, 1)
        got = []
        pool.apply_async(nap, (600,), error_callback=got.append)
        pool.terminate()
        pool.join()
        for result in busy + [queued]:
            self.assertTrue(result.ready())
            self.assertRaises(Processing.CancelledError, result.get)
        self.assertIsInstance(got[0], Processing.CancelledError)

    def test_close_with_maxtasksperchild(self):
        pool = Processing.Pool(2, maxtasksperchild=1)
        results = [pool.apply_async(getpid) for _ in range(8)]
        pool.close()
        pool.join()
        self.assertEqual(len({result.get() for result in results}), 8)

    def test_sandbox(self):
        # The pool's other properties by their names: here its sandbox.
        if Processing.Pool.find_property('sandbox') is None:
            self.skipTest('no sandbox in this version')
        try:
            pool = Processing.Pool(1, sandbox=Processing.Sandbox.new())
        except GLib.Error as error:
            self.skipTest('no sandbox here: %s' % error.message)
        with pool:
            self.assertEqual(pool.apply(square, (7,)), 49)

    def test_extras_not_there_yet(self):
        # launcher= and sandbox= come with the properties that hold them.
        for name in ('launcher', 'sandbox'):
            if Processing.Pool.find_property(name) is None:
                self.assertRaises(TypeError, Processing.Pool, 1, **{name: None})


class CountingInput:
    """An endless input that says how many items were taken from it."""

    def __init__(self):
        self.pulled = 0

    def __iter__(self):
        for i in itertools.count():
            self.pulled = i + 1
            yield i


def feeder_threads():
    return [thread for thread in threading.enumerate() if thread.name == 'Processing.Pool feeder']


class TestFlow(PoolTestCase):
    """imap(buffersize=), progress, the elastic and bounded pool, stats()."""

    def test_imap_buffersize_bounds_the_input(self):
        # At most buffersize chunks are submitted and not yet taken: the
        # input is never read further ahead than that.
        for method, chunksize, buffersize in itertools.product(
                (self.pool.imap, self.pool.imap_unordered), (1, 3), (1, 4)):
            with self.subTest(method=method.__name__, chunksize=chunksize, buffersize=buffersize):
                source = CountingInput()
                results = method(square, source, chunksize, buffersize)
                got = []
                for taken in range(1, 31):
                    got.append(next(results))
                    chunks_taken = (taken - 1) // chunksize + 1
                    self.assertLessEqual(source.pulled, (chunks_taken + buffersize) * chunksize)
                if method == self.pool.imap:
                    self.assertEqual(got, [x * x for x in range(30)])
                else:
                    self.assertEqual(len(set(got)), 30)
                    self.assertTrue(all(round(value ** 0.5) ** 2 == value for value in got))
        # An input nobody reads from any more is let go.
        results = source = None
        gc.collect()
        deadline = time.monotonic() + 30
        while feeder_threads() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(feeder_threads(), [])

    def test_imap_buffersize_input_error(self):
        # The input's exception after the results of the whole chunks before it.
        for method in (self.pool.imap, self.pool.imap_unordered):
            for chunksize in (1, 2, 3):
                got = []
                with self.assertRaises(IndexError):
                    for value in method(square, generator_failing_at(7), chunksize, buffersize=2):
                        got.append(value)
                self.assertEqual(sorted(got), [x * x for x in range(7 // chunksize * chunksize)])
        self.assertEqual(self.pool.apply(square, (5,)), 25)

    def test_imap_buffersize_any_input(self):
        self.assertEqual(list(self.pool.imap(square, [1, 2, 3], buffersize=1)), [1, 4, 9])
        self.assertEqual(list(self.pool.imap(square, range(10), 4, 2)), [x * x for x in range(10)])
        self.assertEqual(list(self.pool.imap(square, [], buffersize=3)), [])
        self.assertEqual(list(self.pool.imap('square', iter(range(5)), 2, buffersize=1)),
                         [0, 1, 4, 9, 16])
        self.assertEqual(sorted(self.pool.imap_unordered('square', range(5), buffersize=2)),
                         [0, 1, 4, 9, 16])
        # A task's exception in its place, then the rest.
        results = self.pool.imap(add, [(1, 2), 3], buffersize=1)
        self.assertRaises(TypeError, next, results)
        self.assertRaises(TypeError, next, results)
        self.assertRaises(StopIteration, next, results)

    def test_imap_buffersize_arguments(self):
        for buffersize in (0, -1):
            self.assertRaises(ValueError, self.pool.imap, square, [1], 1, buffersize)
            self.assertRaises(ValueError, self.pool.imap_unordered, square, [1], 1, buffersize)
        for buffersize in (1.5, '2'):
            self.assertRaises(TypeError, self.pool.imap, square, [1], 1, buffersize)

    def test_progress(self):
        for func in (report_steps, 'report_steps'):
            with self.subTest(func=func):
                seen = []
                done = []

                def progress(fraction, message):
                    seen.append((fraction, message, threading.current_thread()))

                result = self.pool.apply_async(func, (4,), progress=progress,
                                               callback=lambda value: done.append(len(seen)))
                self.assertEqual(result.get(), 4)
                # Seen in order, on the callback thread, all before the
                # result's callback and get().
                fractions = [fraction for fraction, _, _ in seen]
                self.assertEqual(fractions, sorted(fractions))
                self.assertEqual(fractions[-1], 1.0)
                self.assertTrue({message for _, message, _ in seen} <=
                                {'step %d' % i for i in range(1, 5)})
                self.assertEqual({thread for _, _, thread in seen} - {threading.current_thread()},
                                 {thread for _, _, thread in seen})
                self.assertEqual(done, [len(seen)])

    def test_progress_of_a_failure(self):
        seen = []
        result = self.pool.apply_async(fail, ('x',), progress=lambda *args: seen.append(args),
                                       error_callback=lambda error: seen.append(error))
        self.assertRaises(KeyError, result.get)
        self.assertIsInstance(seen[-1], KeyError)
        self.assertRaises(TypeError, self.pool.apply_async, square, (1,), progress=3)

    def test_report_progress_outside_a_task(self):
        Processing.report_progress(0.5, 'nothing runs')
        self.assertRaises(ValueError, Processing.report_progress, 1.5)
        self.assertRaises(TypeError, Processing.report_progress, 0.5, 3)

    def test_flow_arguments(self):
        with Processing.Pool(2) as pool:
            self.assertEqual((pool.props.min_processes, pool.props.idle_timeout,
                              pool.props.max_queued), (2, 0, 0))
        with Processing.Pool(3, min_processes=1, idle_timeout=0.25, max_queued=4) as pool:
            self.assertEqual((pool.props.min_processes, pool.props.idle_timeout,
                              pool.props.max_queued), (1, 250000, 4))
            self.assertEqual(pool.map(square, range(8), 1), [x * x for x in range(8)])
        for bad in ({'min_processes': 3}, {'min_processes': -1}, {'min_processes': 1.0},
                    {'idle_timeout': -1}, {'idle_timeout': 'soon'}, {'max_queued': -1},
                    {'max_queued': 'x'}):
            with self.subTest(**bad):
                self.assertRaises(ValueError, Processing.Pool, 2, **bad)

    def test_elastic(self):
        # Workers above min_processes exit once idle, and come back for work.
        with Processing.Pool(2, min_processes=0, idle_timeout=0.1) as pool:
            self.assertEqual(pool.map(square, range(6), 1), [x * x for x in range(6)])
            deadline = time.monotonic() + 60
            while pool.stats()['workers'] > 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(pool.stats()['workers'], 0)
            self.assertEqual(pool.apply(square, (9,)), 81)

    def test_max_queued(self):
        # Work beyond the limit waits: nothing is dropped.
        with Processing.Pool(1, max_queued=2) as pool:
            results = [pool.apply_async(nap, (0.01, i)) for i in range(12)]
            self.assertEqual([result.get() for result in results], list(range(12)))

    def test_stats(self):
        self.assertEqual(self.pool.map(square, range(4), 1), [0, 1, 4, 9])
        stats = self.pool.stats()
        self.assertEqual(set(stats), {'workers', 'busy', 'idle', 'starting', 'queued', 'completed',
                                      'failed', 'per_worker'})
        self.assertLessEqual(stats['workers'], 2)
        self.assertGreaterEqual(stats['completed'], 4)
        self.assertEqual(len(stats['per_worker']), stats['workers'])
        for worker in stats['per_worker']:
            self.assertEqual(set(worker), {'pid', 'state', 'tasks_run', 'in_flight', 'task_age'})
            self.assertIsInstance(worker['pid'], int)
            self.assertIn(worker['state'], ('starting', 'ready', 'exiting', 'dead'))
            self.assertTrue(worker['task_age'] is None or worker['task_age'] >= 0)
        running = self.pool.apply_async(nap, (0.5, 1))
        deadline = time.monotonic() + 30
        while self.pool.stats()['busy'] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        ages = [worker['task_age'] for worker in self.pool.stats()['per_worker']]
        self.assertTrue(any(isinstance(age, float) for age in ages), ages)
        self.assertEqual(running.get(), 1)


class TestNamedFunctions(PoolTestCase):
    def test_main_functions_by_name(self):
        self.assertEqual(self.pool.apply('square', (5,)), 25)
        self.assertEqual(self.pool.apply('add', (2, 3)), 5)
        self.assertEqual(self.pool.map('square', range(5)), [0, 1, 4, 9, 16])
        self.assertEqual(self.pool.starmap('add', [(1, 2), ('a', 'b')]), [3, 'ab'])
        self.assertEqual(list(self.pool.imap('square', [3, 4])), [9, 16])
        self.assertEqual(sorted(self.pool.imap_unordered('square', [3, 4])), [9, 16])
        self.assertEqual(self.pool.apply_async('square', (6,)).get(), 36)
        self.assertEqual(self.pool.apply('square', GLib.Variant('(i)', (7,))), 49)

    def test_named_input_error(self):
        for chunksize in (1, 2, 3):
            it = self.pool.imap('square', generator_failing_at(7), chunksize)
            got = []
            with self.assertRaises(IndexError):
                for value in it:
                    got.append(value)
            self.assertEqual(got, [x * x for x in range(7 // chunksize * chunksize)])
        it = self.pool.imap_unordered('square', [1, {2}])
        self.assertEqual(next(it), 1)
        self.assertRaises(TypeError, next, it)
        self.assertRaises(StopIteration, next, it)

    def test_named_errors(self):
        with self.assertRaises(GLib.Error) as caught:
            self.pool.apply('fail', ('x',))
        self.assertEqual(caught.exception.domain, Processing.PYTHON_ERROR_DOMAIN)
        self.assertIn('KeyError', caught.exception.message)
        with self.assertRaises(Processing.UnknownFunctionError):
            self.pool.apply('no_such_function', (1,))
        with self.assertRaises(Processing.UnknownFunctionError):
            self.pool.map('no_such_function', [1, 2])

    def test_gio_style(self):
        # As a GTK program writes it: the C function's call and apply_finish.
        loop = GLib.MainLoop()
        got = []

        def on_applied(pool, result):
            got.append(pool.apply_finish(result))
            loop.quit()

        self.assertIsNone(self.pool.apply_async('square', GLib.Variant('(i)', (5,)), None, on_applied))
        loop.run()
        self.assertEqual(got[0].unpack(), 25)

        self.assertEqual(self.pool.apply('square', GLib.Variant('x', 8), None).unpack(), 64)
        cancellable = Gio.Cancellable()
        self.assertEqual(self.pool.apply('square', GLib.Variant('x', 8),
                                         cancellable=cancellable).unpack(), 64)
        squares = self.pool.map('square', GLib.Variant('ax', [1, 2]), 0, None)
        self.assertEqual([v for v in squares.unpack()], [1, 4])
        it = self.pool.imap('square', GLib.Variant('ax', [3]), 0, None)
        self.assertEqual(it.next(-1).unpack(), 9)
        self.assertIsNone(it.next(-1))

        def on_mapped(pool, result):
            got.append(pool.map_finish(result))
            loop.quit()

        self.pool.map_async('square', GLib.Variant('ax', [2, 3]), 0, None, on_mapped)
        loop.run()
        self.assertEqual(got[1].unpack(), [4, 9])

    def test_seed_api(self):
        result = self.pool.submit('square', GLib.Variant('x', 4), None)
        self.assertTrue(result.wait(-1))
        self.assertTrue(result.ready() and result.successful())
        self.assertEqual(result.get(-1).unpack(), 16)
        self.assertTrue(result.props.is_ready)


class TestConversion(PoolTestCase):
    VALUES = [None, True, False, 0, -1, 2**63 - 1, -2**63, 2**64 - 1, 1.5, float('inf'),
              '', 'héllo', b'', b'\x00\xff', [], [1, 2, 3], [1, 'a', None], ['a', 'b'],
              (), (1,), (1, 'a', (2.5, b'x')), {}, {'a': 1, 'b': [True, {'c': None}]},
              [[1, 2], [3]], [(1, 'a'), (2, 'b')]]

    def test_round_trip_here(self):
        for value in self.VALUES:
            self.assertEqual(Processing.from_variant(Processing.to_variant(value)), value)

    def test_round_trip_through_a_worker(self):
        for value in self.VALUES:
            # A tuple argument travels inside a tuple of arguments.
            self.assertEqual(self.pool.apply('echo', (value,)), value)
        self.assertEqual(self.pool.map('echo', self.VALUES), self.VALUES)

    def test_types(self):
        expected = [(None, 'mv'), (True, 'b'), (3, 'x'), (2**64 - 1, 't'), (1.0, 'd'), ('a', 's'),
                    (b'a', 'ay')]
        for value, type_string in expected:
            self.assertEqual(Processing.to_variant(value).get_type_string(), type_string)
        self.assertEqual(Processing.to_variant([1, 2]).get_type_string(), 'ax')
        self.assertEqual(Processing.to_variant([1, 'a']).get_type_string(), 'av')
        self.assertEqual(Processing.to_variant([]).get_type_string(), 'av')
        self.assertEqual(Processing.to_variant((1, 'a')).get_type_string(), '(xs)')
        self.assertEqual(Processing.to_variant({'a': 1}).get_type_string(), 'a{sv}')
        self.assertEqual(Processing.to_variant(bytearray(b'z')).get_type_string(), 'ay')
        variant = GLib.Variant('(iu)', (1, 2))
        self.assertIs(Processing.to_variant(variant), variant)
        self.assertEqual(Processing.from_variant(GLib.Variant('a{ix}', {1: 2})), {1: 2})
        self.assertEqual(Processing.from_variant(GLib.Variant('ms', None)), None)
        self.assertEqual(Processing.from_variant(GLib.Variant('ms', 'x')), 'x')
        self.assertEqual(Processing.from_variant(GLib.Variant('(yqo)', (1, 2, '/a'))), (1, 2, '/a'))

    def test_refused(self):
        for value in ({1, 2}, object(), {1: 'a'}, [1, {2}]):
            self.assertRaises(TypeError, Processing.to_variant, value)
        self.assertRaises(OverflowError, Processing.to_variant, 2**64)
        self.assertRaises(OverflowError, Processing.to_variant, -2**63 - 1)
        self.assertRaises(TypeError, self.pool.apply, 'echo', ({1},))


class TestCrossLanguage(unittest.TestCase):
    def test_c_module(self):
        # A Python caller, a C task module served by the stock worker.
        pool = Processing.Pool.new_for_modules(2, [os.environ['TEST_MODULE_PATH']])
        self.assertEqual(pool.apply('module_cube', (3,)), 27)
        self.assertEqual(pool.map('module_cube', range(5)), [0, 1, 8, 27, 64])
        self.assertEqual(list(pool.imap('module_cube', [2, 3])), [8, 27])
        got = []
        pool.apply_async('module_cube', (4,), callback=got.append).get()
        self.assertEqual(got, [64])
        # Python callables need Python workers.
        self.assertRaises(Processing.UnknownFunctionError, pool.apply, square, (2,))
        pool.close()
        pool.join()


class TestInterpreterExit(unittest.TestCase):
    """A pool left open when the interpreter exits."""

    def run_script(self, body, *args):
        script = textwrap.dedent('''\
            import sys, time
            import gi
            gi.require_version('Processing', '1.0')
            from gi.repository import Processing

            def nap(seconds):
                time.sleep(seconds)
                return seconds

            if __name__ == '__main__':
            ''') + textwrap.indent(textwrap.dedent(body), '    ')
        path = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'processing-exit-%d.py' % os.getpid())
        with open(path, 'w') as f:
            f.write(script)
        try:
            return subprocess.run([sys.executable, path, *args], capture_output=True,
                                  timeout=60, text=True)
        finally:
            os.unlink(path)

    def test_exit_status_kept(self):
        for status in (0, 3):
            done = self.run_script('''
                pool = Processing.Pool(2)
                print(pool.apply(nap, (0,)))
                pool.map_async(nap, [600] * 100, 1)
                pool.apply_async(nap, (600,), callback=print)
                sys.exit(%d)
            ''' % status)
            self.assertEqual(done.returncode, status, done.stderr)
            self.assertEqual(done.stdout, '0\n')

    def test_uncaught_exception(self):
        done = self.run_script('''
            pool = Processing.Pool(1)
            pool.apply_async(nap, (600,))
            raise SystemError('the end')
        ''')
        self.assertEqual(done.returncode, 1)
        self.assertIn('the end', done.stderr)

    def test_pool_dropped_unclosed(self):
        done = self.run_script('''
            for _ in range(3):
                pool = Processing.Pool(1)
                pool.apply_async(nap, (600,))
            del pool
            print('fine')
        ''')
        self.assertEqual((done.returncode, done.stdout), (0, 'fine\n'), done.stderr)


if __name__ == '__main__':
    pytap.main()
