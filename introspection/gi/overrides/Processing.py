# Processing.py: the PyGObject override of Processing-1.0
#
# Copyright 2026 The processing-glib authors
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Parts of this module follow CPython's Lib/multiprocessing/pool.py and
# Lib/multiprocessing/spawn.py (Python Software Foundation License): the
# exceptions that carry a remote traceback, MaybeEncodingError, the default
# chunk size, and how a worker imports the main script under another name.

"""A process pool with multiprocessing.Pool's API, on processing-glib.

``from gi.repository import Processing`` gives ``Processing.Pool``, which a
``multiprocessing.Pool`` user can use as is::

    with Processing.Pool(4) as pool:
        print(pool.map(square, range(10)))

Python callables run in Python workers (this program's main script,
imported again under the name ``__mp_main__``, as multiprocessing's *spawn*
does); functions, arguments, results and exceptions travel by pickle. A
function named by a string is served by any worker, in any language, with
values converted to and from GVariant (see to_variant() and from_variant()).

The GIO calls of the C API stay as they are: a call whose first two
arguments are a function's name and a GLib.Variant, with a Gio.Cancellable
or None where the C function takes its cancellable (the third argument of
apply() and apply_async(), the fourth of map(), map_async(), imap() and
imap_unordered()), or with cancellable= given, is the C function's.
"""

import builtins
import collections
import itertools
import os
import pickle
import struct
import sys
import threading
import warnings
import weakref

from ..module import get_introspection_module
from ..overrides import override
from gi.repository import GLib, Gio

Processing = get_introspection_module('Processing')

__all__ = []

# {{{ Exceptions


class TimeoutError(builtins.TimeoutError):
    """A result was not ready within the time given to get() or next()."""


class TaskTimeoutError(TimeoutError):
    """A task ran for longer than the pool's task_timeout."""


class CancelledError(Exception):
    """The task was cancelled (AsyncResult.cancel(), or terminate())."""


class WorkerDiedError(RuntimeError):
    """The worker running the task died (a signal, an exit, a lost link)."""


class UnknownFunctionError(LookupError):
    """No worker of the pool serves a function of that name."""


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker: its __cause__."""

    def __init__(self, tb):
        self.tb = tb

    def __str__(self):
        return self.tb


class MaybeEncodingError(Exception):
    """A result (or an exception) that could not be pickled in the worker."""

    def __init__(self, exc, value):
        self.exc = repr(exc)
        self.value = repr(value)
        super().__init__(self.exc, self.value)

    def __str__(self):
        return "Error sending result: '%s'. Reason: '%s'" % (self.value, self.exc)

    def __repr__(self):
        return "<%s: %s>" % (self.__class__.__name__, self)


class _ExceptionWithTraceback:
    # Pickled in the worker, unpickled in the caller as the exception itself
    # with the worker's traceback as its cause.
    def __init__(self, exc, tb):
        import traceback

        text = ''.join(traceback.format_exception(type(exc), exc, tb))
        self.exc = exc
        self.tb = '\n"""\n%s"""' % text

    def __reduce__(self):
        return _rebuild_exception, (self.exc, self.tb)


def _rebuild_exception(exc, tb):
    exc.__cause__ = RemoteTraceback(tb)
    return exc


_POOL_ERROR = 'p-pool-error-quark'
_IO_ERROR = 'g-io-error-quark'
PYTHON_ERROR_DOMAIN = 'processing-python-error-quark'


def _exception_from_error(error):
    """The Python exception for a GLib.Error of the pool; others stay as they are."""
    domain, code = error.domain, error.code
    if domain == _IO_ERROR and code == Gio.IOErrorEnum.CANCELLED:
        exc = CancelledError(error.message)
    elif domain == _IO_ERROR and code == Gio.IOErrorEnum.TIMED_OUT:
        exc = TaskTimeoutError(error.message)
    elif domain == _POOL_ERROR and code == Processing.PoolError.WORKER_DIED:
        exc = WorkerDiedError(error.message)
    elif domain == _POOL_ERROR and code == Processing.PoolError.UNKNOWN_FUNCTION:
        exc = UnknownFunctionError(error.message)
    elif domain == _POOL_ERROR and code == Processing.PoolError.CLOSED:
        exc = ValueError('Pool not running')
    else:
        return error
    exc.__cause__ = error
    return exc


for _name in ('TimeoutError', 'TaskTimeoutError', 'CancelledError', 'WorkerDiedError',
              'UnknownFunctionError', 'RemoteTraceback', 'MaybeEncodingError',
              'PYTHON_ERROR_DOMAIN'):
    __all__.append(_name)

# }}}
# {{{ Plain values and GVariant

_AY = GLib.VariantType.new('ay')
_AAY = GLib.VariantType.new('aay')
_V = GLib.VariantType.new('v')
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_UINT64_MAX = (1 << 64) - 1


_new_bytes = GLib.Bytes.new


def _bytes_variant(data):
    return GLib.Variant.new_from_bytes(_AY, _new_bytes(data), True)


def _variant_bytes(variant):
    return variant.get_data_as_bytes().get_data()


def to_variant(value):
    """Converts a plain Python value to a GLib.Variant.

    None is ``@mv nothing``; a bool ``b``; an int ``x`` (``t`` above the
    int64 range; OverflowError beyond uint64); a float ``d``; a str ``s``;
    bytes, bytearray and memoryview ``ay``; a tuple a tuple of its members'
    types; a list an array of its items' type if they all have one, else
    ``av`` (``av`` when empty); a dict with str keys ``a{sv}``. A GLib.Variant
    is returned as it is. Anything else raises TypeError.
    """
    if isinstance(value, GLib.Variant):
        return value
    if value is None:
        return GLib.Variant.new_maybe(_V, None)
    if isinstance(value, bool):
        return GLib.Variant.new_boolean(value)
    if isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            return GLib.Variant.new_int64(value)
        if 0 <= value <= _UINT64_MAX:
            return GLib.Variant.new_uint64(value)
        raise OverflowError('%d does not fit in 64 bits' % value)
    if isinstance(value, float):
        return GLib.Variant.new_double(value)
    if isinstance(value, str):
        return GLib.Variant.new_string(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _bytes_variant(bytes(value))
    if isinstance(value, tuple):
        return GLib.Variant.new_tuple(*[to_variant(member) for member in value])
    if isinstance(value, list):
        items = [to_variant(item) for item in value]
        types = {item.get_type_string() for item in items}
        if len(types) == 1:
            return GLib.Variant.new_array(None, items)
        return GLib.Variant.new_array(_V, [GLib.Variant.new_variant(item) for item in items])
    if isinstance(value, dict):
        entries = []
        for key, member in value.items():
            if not isinstance(key, str):
                raise TypeError('only dicts with str keys convert to GVariant, not a key of type %s'
                                % type(key).__name__)
            entries.append(GLib.Variant.new_dict_entry(
                GLib.Variant.new_string(key), GLib.Variant.new_variant(to_variant(member))))
        return GLib.Variant.new_array(GLib.VariantType.new('{sv}'), entries)
    raise TypeError('a value of type %s does not convert to GVariant' % type(value).__name__)


_BASIC_GETTERS = {
    'b': 'get_boolean', 'y': 'get_byte', 'n': 'get_int16', 'q': 'get_uint16',
    'i': 'get_int32', 'u': 'get_uint32', 'x': 'get_int64', 't': 'get_uint64',
    'h': 'get_handle', 'd': 'get_double', 's': 'get_string', 'o': 'get_string',
    'g': 'get_string',
}


def from_variant(variant):
    """Converts a GLib.Variant to plain Python values.

    Booleans, numbers and strings (``s``, ``o``, ``g``) give bool, int,
    float and str; ``ay`` gives bytes; a variant its content; a maybe None
    or its content; a tuple (or a dict entry) a tuple; an array of dict
    entries a dict; any other array a list.
    """
    type_string = variant.get_type_string()
    getter = _BASIC_GETTERS.get(type_string)
    if getter is not None:
        return getattr(variant, getter)()
    if type_string == 'v':
        return from_variant(variant.get_variant())
    if type_string == 'ay':
        return _variant_bytes(variant)
    first = type_string[0]
    if first == 'm':
        inner = variant.get_maybe()
        return None if inner is None else from_variant(inner)
    children = [from_variant(variant.get_child_value(i)) for i in range(variant.n_children())]
    if first in '({':
        return tuple(children)
    if type_string.startswith('a{'):
        return dict(children)
    return children


def _args_variant(args, kwds):
    # A function named by a string: a single argument that is not a tuple
    # is sent alone; any other argument list as a tuple. Receivers spread a
    # tuple into positional arguments and pass anything else as the one.
    if kwds:
        raise TypeError('keyword arguments cannot be passed to a function named by a string')
    if isinstance(args, GLib.Variant):
        return args
    args = tuple(args)
    if len(args) == 1 and not isinstance(args[0], tuple):
        return to_variant(args[0])
    return to_variant(args)


def _item_variant(item, star):
    return _args_variant(item, None) if star else _args_variant((item,), None)


def _call_with_variant(func, args):
    # The receiving side of _args_variant(); an item of an ``av`` comes boxed.
    while args.get_type_string() == 'v':
        args = args.get_variant()
    if args.get_type_string().startswith('('):
        return func(*from_variant(args))
    return func(from_variant(args))


for _name in ('to_variant', 'from_variant'):
    __all__.append(_name)

# }}}
# {{{ The worker side


_PROTOCOL = pickle.HIGHEST_PROTOCOL
_pickle_dumps = pickle.dumps
_pickle_loads = pickle.loads


def _dumps(value):
    return _pickle_dumps(value, _PROTOCOL)


def _outcome_bytes(ok, value):
    try:
        return _dumps((ok, value))
    except Exception as e:
        return _dumps((False, MaybeEncodingError(e, value)))


def _failure(exc):
    return (False, _ExceptionWithTraceback(exc, exc.__traceback__))


# The pickled calls: the arguments and the result are ``ay``, a pickle of
# (function, args, kwds) or (function, items, star) and of (True, value) or
# (False, exception). A function is itself sent pickled, as bytes, so that
# each side pickles and unpickles it once, not per task.
_CALL = 'py:call'
_CHUNK = 'py:chunk'

_FUNCTION_TYPES = (type(len), type(_failure))
_pickled_functions = {}
_unpickled_functions = {}


def _pickled_function(func):
    # Only functions, which are pickled by name: a cached bound method
    # would keep its object alive.
    if type(func) not in _FUNCTION_TYPES:
        return _dumps(func)
    data = _pickled_functions.get(func)
    if data is None:
        if len(_pickled_functions) >= 256:
            _pickled_functions.clear()
        data = _pickled_functions[func] = _dumps(func)
    return data


def _unpickled_function(data):
    func = _unpickled_functions.get(data)
    if func is None:
        if len(_unpickled_functions) >= 256:
            _unpickled_functions.clear()
        func = _unpickled_functions[data] = pickle.loads(data)
    return func


_LARGE = 256 * 1024
_large_seen = False


def _keep_freed_memory():
    """Called once a worker moves a large value: from then on, it keeps the
    memory it frees (up to 64 MiB) for the next values, which glibc would
    otherwise give back to the system at once and take again, a page fault
    per 4 KiB, for every value."""
    global _large_seen
    _large_seen = True
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 32 << 20)      # M_MMAP_THRESHOLD: large blocks from the heap
        libc.mallopt(-1, 64 << 20)      # M_TRIM_THRESHOLD: freed ones kept
    except Exception:
        pass


# The hot path of every pickled task, a PDataFunc: the bytes come and go as
# bytes, with no call into GLib. (Its other arguments, the bytes' length if
# this PyGObject passes it and the task's cancellable, are not used.)
def _serve_call(data, *_, loads=_pickle_loads, dumps=_pickle_dumps, functions=_unpickled_functions):
    if len(data) >= _LARGE and not _large_seen:
        _keep_freed_memory()
    try:
        func, args, kwds = loads(data)
        value = (functions.get(func) or _unpickled_function(func))(*args, **kwds)
    except Exception as e:
        return _outcome_bytes(*_failure(e))
    try:
        result = dumps((True, value), _PROTOCOL)
    except Exception as e:
        return _dumps((False, MaybeEncodingError(e, value)))
    if len(result) >= _LARGE and not _large_seen:
        _keep_freed_memory()
    return result


def _serve_chunk(data, *_, loads=_pickle_loads, dumps=_pickle_dumps, functions=_unpickled_functions):
    if len(data) >= _LARGE and not _large_seen:
        _keep_freed_memory()
    try:
        func, items, star = loads(data)
        func = functions.get(func) or _unpickled_function(func)
        values = list(itertools.starmap(func, items) if star else map(func, items))
    except Exception as e:
        return _outcome_bytes(*_failure(e))
    try:
        result = dumps((True, values), _PROTOCOL)
    except Exception as e:
        return _dumps((False, MaybeEncodingError(e, values)))
    if len(result) >= _LARGE and not _large_seen:
        _keep_freed_memory()
    return result


def _named_task(func):
    """A GIO task function calling a plain Python function with converted values."""
    def task(args, cancellable):
        try:
            return to_variant(_call_with_variant(func, args))
        except GLib.Error:
            raise
        except Exception as e:
            raise GLib.Error('%s: %s' % (type(e).__name__, e), PYTHON_ERROR_DOMAIN, 0)
    task.__name__ = getattr(func, '__name__', 'task')
    return task


class Worker(Processing.Worker):
    """The worker side of a pool.

    add_function() takes a GIO task function, ``func(args, cancellable)``,
    which returns a GLib.Variant (or raises GLib.Error); add_plain_function()
    a plain Python function, called with converted values. run() also
    serves the pool's pickled calls of Python callables.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def add_plain_function(self, name, func):
        """Serves ``func`` under ``name``: a tuple of arguments is spread into
        positional arguments, any other value is the one argument; the result
        is converted with to_variant(), and an exception comes back as a
        GLib.Error in PYTHON_ERROR_DOMAIN with the exception's type and text."""
        if not callable(func):
            raise TypeError('func must be callable')
        self.add_function(name, _named_task(func))

    def run(self):
        self.add_data_function(_CALL, _serve_call)
        self.add_data_function(_CHUNK, _serve_chunk)
        # Large results go in the stream, not in sealed files (docs/protocol.md,
        # section 13, which leaves that to the worker): a Python result is a
        # new object each time, and a sealed file's pages would be made,
        # mapped and freed for each, in the caller's thread, where the
        # stream is copied by the pool's (docs/performance.md, "From Python").
        os.environ.pop('PROCESSING_GLIB_SEALED', None)
        return super().run()


Worker = override(Worker)
__all__.append('Worker')


def _module_functions(module):
    for name, value in vars(module).items():
        if (not name.startswith('_') and callable(value) and
                getattr(value, '__module__', None) == module.__name__ and
                isinstance(value, type(_module_functions))):
            yield name, value


def serve(functions=None):
    """Serves plain Python functions to the pool that started this process.

    ``functions`` is a dict of names and functions, an iterable of
    functions (served by their __name__), or None for the public
    module-level functions of the main script. Values are converted as
    Worker.add_plain_function() does; pickled calls are served too. Returns
    when the pool closes the channel: the exit status for sys.exit().
    """
    if functions is None:
        functions = dict(_module_functions(sys.modules['__main__']))
    elif not isinstance(functions, dict):
        functions = {func.__name__: func for func in functions}
    worker = Worker()
    for name, func in functions.items():
        worker.add_plain_function(name, func)
    try:
        return 0 if worker.run() else 1
    except GLib.Error as error:
        print('processing worker: %s' % error.message, file=sys.stderr)
        return 1


__all__.append('serve')


def report_progress(fraction, message=None):
    """Reports the progress of the task that runs in this worker: a number
    from 0 to 1, and what it is doing, for people, or None. The caller sees
    it with apply_async(progress=...), or as the progress of the task's
    Processing.Result. At most one report every 50 ms goes to the caller
    (a later one replaces one that waits). Outside a task, it does
    nothing."""
    fraction = float(fraction)
    if not 0.0 <= fraction <= 1.0:
        raise ValueError('fraction must be from 0 to 1, not %r' % fraction)
    if message is not None and not isinstance(message, str):
        raise TypeError('message must be a str or None')
    Processing.Worker.report_progress(fraction, message)


__all__.append('report_progress')

# The default worker of a pool made in Python: this interpreter, started
# with -c and the data prepare() needs, as multiprocessing's spawn does.
_BOOTSTRAP = ('import sys,pickle;d=pickle.loads(bytes.fromhex(sys.argv[1]));'
              'sys.path[:]=d["sys_path"];'
              'import gi;gi.require_version("Processing","1.0");'
              'from gi.repository import Processing;'
              'import gi.overrides.Processing as P;P._worker_main(d)')

_importing_main = False


def _preparation_data(initializer, initargs):
    data = {'sys_path': [os.getcwd() if entry == '' else entry for entry in sys.path],
            'sys_argv': sys.argv, 'dir': os.getcwd()}
    main = sys.modules.get('__main__')
    main_name = getattr(getattr(main, '__spec__', None), 'name', None)
    if main_name is not None:
        data['main_name'] = main_name
    else:
        main_path = getattr(main, '__file__', None)
        if main_path is not None:
            data['main_path'] = os.path.normpath(os.path.join(os.getcwd(), main_path))
    if initializer is not None:
        # Unpickled once the main script is imported: it may be defined there.
        data['initializer'] = _dumps((initializer, tuple(initargs)))
    return data


def _fixup_main(data):
    import runpy
    import types

    global _importing_main
    name = data.get('main_name')
    path = data.get('main_path')
    if name is not None and (name == '__main__' or name.endswith('.__main__')):
        return
    if name is None and (path is None or
                         os.path.splitext(os.path.basename(path))[0] == 'ipython'):
        return
    main_module = types.ModuleType('__mp_main__')
    _importing_main = True
    try:
        if name is not None:
            content = runpy.run_module(name, run_name='__mp_main__', alter_sys=True)
        else:
            content = runpy.run_path(path, run_name='__mp_main__')
    finally:
        _importing_main = False
    main_module.__dict__.update(content)
    sys.modules['__main__'] = sys.modules['__mp_main__'] = main_module


def _worker_main(data):
    sys.argv[:] = data['sys_argv']
    try:
        os.chdir(data['dir'])
    except OSError:
        pass
    _fixup_main(data)
    if 'initializer' in data:
        initializer, initargs = pickle.loads(data['initializer'])
        initializer(*initargs)
    sys.exit(serve())

# }}}
# {{{ Results


def _wait_presult(presult, timeout):
    # In slices, so that a signal (Ctrl-C) is seen while waiting.
    if timeout is None:
        while not presult.wait(200000):
            pass
        return True
    return presult.wait(max(0, int(timeout * 1e6)))


class _ProgressWatch:
    """A task's progress(fraction, message), called with each new value."""

    def __init__(self, presult, progress):
        self.progress = progress
        self.seen = None
        self.handler = presult.connect('notify::progress', self.deliver)

    def deliver(self, presult, pspec=None):
        now = (presult.get_progress(), presult.dup_progress_message())
        if now != self.seen:
            self.seen = now
            _run_callback(self.progress, *now)


class _Dispatcher:
    """The thread that runs callbacks, as multiprocessing's result handler
    does: each function given to watch() runs there once its PResult is
    ready, in the order they become ready. A task's progress callback runs
    there too, in order, before its result's function: its PResult, made
    while the dispatcher's main context was the thread's default, notifies
    its progress there (a notification that a later one replaces is not
    seen)."""

    # How often progress is looked for while a task that reports it runs.
    PROGRESS_POLL = 0.02

    def __init__(self):
        self._queue = Processing.ResultQueue.new()
        self._functions = {}    # PResult → function
        self._progress = {}     # PResult → _ProgressWatch
        self._cond = threading.Condition()
        self._thread = None
        self._stopping = False
        self.context = GLib.MainContext.new()

    def watch(self, presult, func, progress=None):
        with self._cond:
            self._functions[presult] = func
            if progress is not None:
                self._progress[presult] = _ProgressWatch(presult, progress)
            if self._thread is None:
                self._thread = threading.Thread(target=self._main, name='Processing.Pool callbacks',
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()
        self._queue.add(presult)

    def _run_pending(self):
        context = self.context
        while context.pending():
            context.iteration(False)

    def _main(self):
        while True:
            with self._cond:
                while not self._functions and not self._stopping:
                    self._cond.wait()
                if not self._functions:
                    return
                watching = bool(self._progress)
            if watching:
                self._run_pending()
            presult = self._queue.pop(int(self.PROGRESS_POLL * 1e6) if watching else 200000)
            if presult is None:
                continue
            with self._cond:
                func = self._functions[presult]
                watch = self._progress.pop(presult, None)
            if watch is not None:
                # Every notification made before the result was ready.
                self._run_pending()
                watch.deliver(presult)
                presult.disconnect(watch.handler)
            try:
                func()
            except Exception:
                import traceback

                traceback.print_exc()
            finally:
                with self._cond:
                    del self._functions[presult]
                    self._cond.notify_all()

    def stop(self):
        """Stops the thread once every function has run."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def join(self):
        """Waits until every function has run, then stops the thread."""
        with self._cond:
            while self._functions:
                self._cond.wait(0.2)
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()


def _run_callback(callback, *values):
    try:
        callback(*values)
    except Exception:
        import traceback

        traceback.print_exc()


class AsyncResult:
    """The result of apply_async(): get(timeout=None), wait(timeout=None),
    ready(), successful(), and, beyond multiprocessing, cancel()."""

    __slots__ = ('_presults', '_decode', '_outcome', '_callback', '_error_callback', '_event',
                 '_left', '_cancellable', '_cancelled', '__weakref__')

    def __init__(self, presults, decode, callback=None, error_callback=None, dispatcher=None,
                 outcome=None, cancellable=None, progress=None):
        # One PResult per task; decode(presult) gives (ok, value).
        self._presults = presults
        self._decode = decode
        self._outcome = outcome
        self._callback = callback
        self._error_callback = error_callback
        self._event = None
        self._cancellable = cancellable
        self._cancelled = False
        if outcome is not None:
            self._run_callbacks()
        elif callback is not None or error_callback is not None or progress is not None:
            self._event = threading.Event()
            self._left = len(presults)
            for index, presult in enumerate(presults):
                dispatcher.watch(presult, lambda index=index: self._on_ready(index), progress)

    def __repr__(self):
        state = 'ready' if self.ready() else 'pending'
        return '<%s.%s %s>' % (__name__.rsplit('.', 1)[-1], type(self).__name__, state)

    # Runs in the dispatcher's thread.
    def _on_ready(self, index):
        if self._event.is_set():
            return
        self._left -= 1
        try:
            if not self._part_failed(index) and self._left > 0:
                return
            self._settle()
        except BaseException as e:
            # Never a result left unready.
            self._outcome = (False, e)
        try:
            self._run_callbacks()
        finally:
            self._event.set()

    def _run_callbacks(self):
        ok, value = self._outcome
        if ok and self._callback is not None:
            _run_callback(self._callback, value)
        elif not ok and self._error_callback is not None:
            _run_callback(self._error_callback, value)

    def _part_failed(self, index):
        return False

    def _outcome_now(self):
        return self._decode(self._presults[0])

    def _settle(self):
        # Two threads may decode at once: the first outcome stays.
        if self._outcome is None:
            outcome = self._outcome_now()
            if self._outcome is None:
                self._outcome = outcome
                self._presults = None

    def ready(self):
        """Whether the result is there (and its callback has run)."""
        if self._event is not None:
            return self._event.is_set()
        if self._outcome is not None:
            return True
        return all(presult.ready() for presult in self._presults)

    def successful(self):
        """Whether the call succeeded; ValueError while not ready."""
        if not self.ready():
            raise ValueError('%r not ready' % self)
        self._settle()
        return self._outcome[0]

    def wait(self, timeout=None):
        """Waits until the result is ready or ``timeout`` seconds have passed."""
        if self._event is not None:
            self._event.wait(timeout)
            return
        if self._outcome is not None:
            return
        deadline = None if timeout is None else GLib.get_monotonic_time() + timeout * 1e6
        for presult in self._presults:
            left = None if deadline is None else max(0, deadline - GLib.get_monotonic_time()) / 1e6
            if not _wait_presult(presult, left):
                return

    def get(self, timeout=None):
        """The value, or the call's exception raised; TimeoutError if it is not
        ready after ``timeout`` seconds (the call goes on)."""
        # With callbacks, the outcome is known before they have run: it is
        # ready once they have.
        if self._event is not None and not self._event.wait(timeout):
            raise TimeoutError('the result was not ready in time')
        outcome = self._outcome
        if outcome is None:
            if timeout is None and self._event is None and len(self._presults) == 1:
                # Waits and decodes in one call, in slices so that a signal
                # is seen meanwhile.
                presult = self._presults[0]
                decode = self._decode
                while (outcome := decode(presult, 200000)) is None:
                    pass
                if self._outcome is None:
                    self._outcome = outcome
                    self._presults = None
            else:
                self.wait(timeout)
                if not self.ready():
                    raise TimeoutError('the result was not ready in time')
                self._settle()
            outcome = self._outcome
        if outcome[0]:
            return outcome[1]
        raise outcome[1]

    def cancel(self):
        """Cancels the call, queued or running: get() raises CancelledError.
        Returns False if it was ready already."""
        if self.ready():
            return False
        self._cancelled = True
        if self._cancellable is not None:
            self._cancellable.cancel()
        else:
            for presult in self._presults:
                presult.cancel()
        return True

    def cancelled(self):
        """Whether cancel() was called before the result was ready."""
        return self._cancelled


ApplyResult = AsyncResult


def _plain_result(presult, new=object.__new__):
    """AsyncResult((presult,), _decode_pickled), made in fewer steps: the
    result of every apply_async() without callbacks."""
    result = new(AsyncResult)
    result._presults = (presult,)
    result._decode = _decode_pickled
    result._outcome = result._event = result._cancellable = None
    result._cancelled = False
    return result


class MapResult(AsyncResult):
    """The result of map_async() or starmap_async(): one PResult per chunk."""

    __slots__ = ('_parts',)

    def __init__(self, presults, decode, **kwargs):
        self._parts = [None] * len(presults)
        super().__init__(presults, decode, **kwargs)

    def _part_failed(self, index):
        # Decodes the chunk if it is ready; a chunk not ready has not failed.
        part = self._parts[index]
        if part is None:
            part = self._decode(self._presults[index])
            if part is None:
                return False
            self._parts[index] = part
        return not part[0]

    def _outcome_now(self):
        # The first chunk that failed (a chunk may fail before those before
        # it are ready), else every chunk's values, in order.
        for part in self._parts:
            if part is not None and not part[0]:
                return part
        values = []
        for index in range(len(self._parts)):
            if self._part_failed(index):
                return self._parts[index]
            values.extend(self._parts[index][1])
        return (True, values)

    def _settle(self):
        super()._settle()
        self._parts = None

    def wait(self, timeout=None):
        if self._event is not None or self._outcome is not None:
            return super().wait(timeout)
        # Each chunk decoded as it comes, while the workers compute the
        # next ones; a chunk that failed ends the wait.
        deadline = None if timeout is None else GLib.get_monotonic_time() + int(timeout * 1e6)
        for index, presult in enumerate(self._presults):
            part = self._parts[index]
            while part is None:
                if deadline is None:
                    usec = 200000
                else:
                    usec = max(0, min(200000, deadline - GLib.get_monotonic_time()))
                part = self._decode(presult, usec)
                if part is None and usec < 200000:
                    return
            self._parts[index] = part
            if not part[0]:
                return

    def ready(self):
        if self._event is not None or self._outcome is not None:
            return super().ready()
        done = True
        for index, presult in enumerate(self._presults):
            if not presult.ready():
                done = False
            elif self._part_failed(index):
                return True
        return done


__all__ += ['AsyncResult', 'ApplyResult', 'MapResult']


def _decode_pickled(presult, timeout_usec=0, loads=_pickle_loads):
    """The (ok, value) of a pickled call, or None if it is not ready in time."""
    try:
        data = presult.get_data(timeout_usec)
    except GLib.Error as error:
        # A wait that ran out, or the task's own error (a task_timeout, say).
        if not presult.ready():
            return None
        return (False, _exception_from_error(error))
    try:
        return loads(data)
    except Exception as e:
        return (False, e)


def _decode_named(presult, timeout_usec=0):
    try:
        return (True, from_variant(presult.get(timeout_usec)))
    except GLib.Error as error:
        if not presult.ready():
            return None
        return (False, _exception_from_error(error))


def _decode_pickled_data(data, loads=_pickle_loads):
    try:
        return loads(data)
    except Exception as e:
        return (False, e)


def _decode_named_value(variant):
    return (True, from_variant(variant))


def _items_variant(items):
    # An array of the items' type if they all have one, else of variants.
    if len({item.get_type_string() for item in items}) == 1:
        return GLib.Variant.new_array(None, items)
    return GLib.Variant.new_array(_V, [GLib.Variant.new_variant(item) for item in items])


def _decode_named_map(presult, timeout_usec=0):
    outcome = _decode_named(presult, timeout_usec)
    if outcome is None or not outcome[0]:
        return outcome
    return (True, list(outcome[1]))


class _Raise:
    """In an IMapIterator's buffer: an exception in an item's place."""

    __slots__ = ('exception',)

    def __init__(self, exception):
        self.exception = exception


class IMapIterator:
    """The iterator of imap() and imap_unordered(): next(timeout=None)."""

    def __init__(self, source, decode, chunked):
        # source.next_batch(timeout, decode) → [(ok, value), ...]; StopIteration
        self._source = source
        self._decode = decode
        self._chunked = chunked
        self._buffer = collections.deque()  # values, and _Raise in an item's place
        self._lock = threading.Lock()

    def __iter__(self):
        return self

    def _fill(self, timeout):
        buffer = self._buffer
        for ok, value in self._source.next_batch(timeout, self._decode):
            if not ok:
                buffer.append(_Raise(value))
            elif self._chunked:
                buffer.extend(value)
            else:
                buffer.append(value)

    def next(self, timeout=None):
        with self._lock:
            while not self._buffer:
                self._fill(timeout)
            item = self._buffer.popleft()
        if item.__class__ is _Raise:
            raise item.exception
        return item

    __next__ = next


IMapUnorderedIterator = IMapIterator
__all__ += ['IMapIterator', 'IMapUnorderedIterator']


class _MapIterSource:
    """A PMapIter's values, one per chunk (as bytes) or per item (as a
    GLib.Variant). Bytes are taken as many as are there, in one call."""

    # The most results taken in one call.
    BATCH = 256

    def __init__(self, map_iter, as_bytes):
        self._map_iter = map_iter
        self._as_bytes = as_bytes

    def next_batch(self, timeout, decode):
        map_iter = self._map_iter
        if map_iter is None:
            raise StopIteration
        # In slices, so that a signal is seen while waiting.
        if timeout is None:
            while not map_iter.wait(200000):
                pass
        elif not map_iter.wait(max(0, int(timeout * 1e6))):
            raise TimeoutError('no result in time')
        try:
            if self._as_bytes:
                more, data, ends = map_iter.next_data_many(0, self.BATCH)
                if more:
                    if len(ends) == 1:
                        return [decode(data)]
                    view = memoryview(data)
                    return [decode(view[start:end]) for start, end in zip([0, *ends], ends)]
            else:
                value = map_iter.next(0)
                more = value is not None
                if more:
                    return [decode(value)]
        except GLib.Error as error:
            return [(False, _exception_from_error(error))]
        self._map_iter = None
        raise StopIteration


class _ThenRaise:
    """Another source's values, then an exception."""

    def __init__(self, source, error):
        self._source = source
        self._error = error

    def next_batch(self, timeout, decode):
        if self._source is not None:
            try:
                return self._source.next_batch(timeout, decode)
            except StopIteration:
                self._source = None
        error, self._error = self._error, None
        if error is None:
            raise StopIteration
        return [(False, error)]


class _FedSource:
    """Chunks submitted by a feeder thread as it reads the input, and the
    input's exception, if any, after them. With a ``buffersize``, at most
    that many chunks are submitted and not yet taken: the feeder waits for
    room before it reads the next chunk from the input."""

    def __init__(self, ordered, buffersize=None):
        self._ordered = ordered
        self._cond = threading.Condition()
        self._presults = collections.deque()     # ordered: in order
        self._ready = None if ordered else Processing.ResultQueue.new()
        self._error = None
        self._finished = False
        self._room = None if buffersize is None else threading.Semaphore(buffersize)

    def wait_for_room(self, going_on):
        """In the feeder, before it reads a chunk: True once there is room,
        False if going_on() says to stop first."""
        if self._room is None:
            return True
        while not self._room.acquire(timeout=0.2):
            if not going_on():
                return False
        return True

    def _taken(self):
        if self._room is not None:
            self._room.release()

    def put(self, presult):
        with self._cond:
            if self._ordered:
                self._presults.append(presult)
            else:
                self._ready.add(presult)
            self._cond.notify_all()

    def finish(self, error=None):
        with self._cond:
            self._error = error
            self._finished = True
            self._cond.notify_all()

    def _end(self):
        # The input's exception once, then the end.
        error, self._error = self._error, None
        if error is not None:
            return (False, error)
        raise StopIteration

    def next_batch(self, timeout, decode):
        return [self.next(timeout, decode)]

    def next(self, timeout, decode):
        deadline = None if timeout is None else GLib.get_monotonic_time() + timeout * 1e6
        while True:
            left = None if deadline is None else (deadline - GLib.get_monotonic_time()) / 1e6
            if left is not None and left <= 0 and timeout > 0:
                raise TimeoutError('no result in time')
            slice_ = 0.2 if left is None else max(0, min(left, 0.2))
            with self._cond:
                if self._ordered:
                    head = self._presults[0] if self._presults else None
                    if head is None:
                        if self._finished:
                            return self._end()
                        if left is not None and left <= 0:
                            raise TimeoutError('no result in time')
                        self._cond.wait(slice_)
                        continue
                else:
                    pending = self._ready.get_pending()
                    finished = self._finished
            if self._ordered:
                if _wait_presult(head, slice_):
                    with self._cond:
                        self._presults.popleft()
                    self._taken()
                    return decode(head)
            else:
                presult = self._ready.pop(int(slice_ * 1e6) if pending else 0)
                if presult is not None:
                    self._taken()
                    return decode(presult)
                if not pending:
                    if finished:
                        return self._end()
                    with self._cond:
                        if not self._finished and not self._ready.get_pending():
                            self._cond.wait(slice_)
            if left is not None and left <= 0:
                raise TimeoutError('no result in time')


# }}}
# {{{ The pool

_RUN, _CLOSE, _TERMINATE = 'RUN', 'CLOSE', 'TERMINATE'
_live_pools = weakref.WeakSet()


def _is_cancellable(value):
    return value is None or isinstance(value, Gio.Cancellable)


_submit_data = Processing.Pool.submit_data


def _gio_style(args, kwargs, cancellable_index):
    """Whether a call is the C function's (see the module's description)."""
    if 'cancellable' in kwargs:
        return True
    return (len(args) > cancellable_index and isinstance(args[0], str) and
            isinstance(args[1], GLib.Variant) and _is_cancellable(args[cancellable_index]))


def _check_chunksize(chunksize):
    if not isinstance(chunksize, int) or isinstance(chunksize, bool):
        raise TypeError('chunksize must be an int, not %s' % type(chunksize).__name__)
    if chunksize < 1:
        raise ValueError('Chunksize must be 1+, not {0:n}'.format(chunksize))


def _sequence_chunks(items, chunksize):
    # A range's slices are ranges, which cost the worker an import each to
    # unpickle: small ones go as tuples of their numbers.
    if isinstance(items, range) and chunksize < 256:
        return [tuple(items[i:i + chunksize]) for i in range(0, len(items), chunksize)]
    return [items[i:i + chunksize] for i in range(0, len(items), chunksize)]


def _aay_variant(payloads):
    # The normal form of an array of byte strings: the strings one after the
    # other, then the end of each, in offsets of the smallest size that fits.
    n = len(payloads)
    ends = list(itertools.accumulate(map(len, payloads)))
    body = ends[-1] if ends else 0
    for size, code in ((1, 'B'), (2, 'H'), (4, 'I'), (8, 'Q')):
        if size == 8 or body + n * size < (1 << (8 * size)):
            break
    data = b''.join(payloads) + struct.pack('<%d%s' % (n, code), *ends) if n else b''
    return GLib.Variant.new_from_bytes(_AAY, GLib.Bytes.new(data), True)


class Pool(Processing.Pool):
    """A pool of worker processes with multiprocessing.Pool's API.

    ``Pool(processes=None, initializer=None, initargs=(), maxtasksperchild=None,
    **extras)``: ``processes`` workers (os.cpu_count() if None), each
    running ``initializer(*initargs)`` first and retired after
    ``maxtasksperchild`` tasks. The workers are this interpreter, importing
    the main script under the name ``__mp_main__``.

    Extras, beyond multiprocessing: ``task_timeout`` and
    ``cancel_grace_period`` in seconds; ``min_processes`` (``processes``
    unless given: as multiprocessing, every worker starts at once) and
    ``idle_timeout`` (seconds; None or 0 for never), an elastic pool whose
    workers above ``min_processes`` exit after idling that long and start
    again when work comes; ``max_queued``, how many tasks may wait for a
    worker before more wait to be queued (None or 0: no limit);
    ``worker_argv``, another worker command (a program serving its
    functions with Processing.Worker, in any language); ``launcher``, a
    Processing.Launcher that starts the workers on other hosts
    (``processes=None`` then takes as many as it says); and any other
    property of the pool by its name.
    """

    def __init__(self, processes=None, initializer=None, initargs=(), maxtasksperchild=None,
                 **extras):
        if _importing_main:
            raise RuntimeError('A pool was created while a worker imported the main script: '
                               'create pools under "if __name__ == \'__main__\':"')
        # With a launcher, None is as many workers as its hosts or its
        # allocation say.
        launcher_decides = processes is None and extras.get('launcher') is not None
        if processes is None:
            processes = 0 if launcher_decides else os.cpu_count() or 1
        if not isinstance(processes, int) or isinstance(processes, bool):
            raise TypeError('processes must be an int, not %s' % type(processes).__name__)
        if processes < 1 and not launcher_decides:
            raise ValueError('Number of processes must be at least 1')
        if processes > 1024:
            raise ValueError('Number of processes must be at most 1024')
        if maxtasksperchild is not None and (not isinstance(maxtasksperchild, int) or
                                             isinstance(maxtasksperchild, bool) or
                                             maxtasksperchild <= 0):
            raise ValueError('maxtasksperchild must be a positive int or None')
        if initializer is not None and not callable(initializer):
            raise TypeError('initializer must be a callable')

        properties = {'processes': processes, 'max_tasks_per_worker': maxtasksperchild or 0,
                      'min_processes': processes}
        for name, value in extras.items():
            if name in ('task_timeout', 'cancel_grace_period', 'idle_timeout'):
                if value is None:
                    value = 0
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise ValueError('%s must be a number of seconds, at least 0' % name)
                value = int(round(value * 1e6))
            elif name in ('min_processes', 'max_queued'):
                if value is None and name == 'max_queued':
                    value = 0
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError('%s must be an int, at least 0' % name)
                if name == 'min_processes' and value > processes:
                    raise ValueError('min_processes must be at most processes')
            elif name == 'worker_argv':
                value = list(value)
                if initializer is not None:
                    raise ValueError('initializer is for the default worker, not worker_argv')
            elif self.find_property(name.replace('_', '-')) is None:
                raise TypeError("Pool() got an unexpected keyword argument '%s'" % name)
            properties[name] = value
        if properties.get('worker_argv') is None:
            sys.modules.setdefault('__mp_main__', sys.modules.get('__main__'))
            data = _preparation_data(initializer, initargs)
            properties['worker_argv'] = [sys.executable,
                                         *_interpreter_flags(), '-c', _BOOTSTRAP,
                                         pickle.dumps(data, 4).hex()]
        super().__init__(**properties)
        self.init(None)
        self._py_state()

    def _py_state(self):
        return _state_of(self)

    def stats(self):
        """What the pool is doing, as a dict taken at one moment: ``workers``,
        ``busy``, ``idle``, ``starting`` (worker processes by state), ``queued``
        (tasks that wait for a worker; a map chunk counts as one),
        ``completed`` and ``failed`` (tasks and chunks since the pool was
        made), and ``per_worker``, a list of dicts with each worker's
        ``pid``, ``state``, ``tasks_run``, ``in_flight`` and ``task_age``
        (seconds since its current task started, None when it has none)."""
        stats = {}
        for key, value in self.get_stats().unpack().items():
            if key == 'per-worker':
                key, value = 'per_worker', [_worker_stats(worker) for worker in value]
            stats[key] = value
        return stats

    def __repr__(self):
        state = self._py_state()
        return '<%s.%s state=%s pool_size=%d>' % (__name__.rsplit('.', 1)[-1], type(self).__name__,
                                                  state.state, self.props.processes)

    def __reduce__(self):
        raise NotImplementedError('pool objects cannot be passed between processes or pickled')

    def __enter__(self):
        if self._py_state().state != _RUN:
            raise ValueError('Pool not running')
        return self

    def __exit__(self, *exc_info):
        self.terminate()

    def _check_running(self):
        state = self._py_state()
        if state.state != _RUN:
            raise ValueError('Pool not running')
        return state

    # {{{ apply

    def _submit_apply(self, state, func, args, kwds, callback, error_callback, progress=None):
        context = None
        if progress is not None:
            if not callable(progress):
                raise TypeError('progress must be callable')
            # The result notifies its progress in the dispatcher's context.
            context = state.dispatcher().context
            context.push_thread_default()
        try:
            if isinstance(func, str):
                presult = self.submit(func, _args_variant(args, kwds), Gio.Cancellable())
                decode = _decode_named
            else:
                payload = _dumps((_pickled_function(func), args, kwds))
                presult = _submit_data(self, _CALL, payload, None)
                decode = _decode_pickled
        except Exception as e:
            # As multiprocessing: the call fails, not the submission.
            return AsyncResult(None, None, callback, error_callback, outcome=(False, e))
        finally:
            if context is not None:
                context.pop_thread_default()
        if callback is None and error_callback is None and progress is None:
            return AsyncResult((presult,), decode)
        return AsyncResult((presult,), decode, callback, error_callback, state.dispatcher(),
                           progress=progress)

    def apply_async(self, *args, **kwargs):
        """apply_async(func, args=(), kwds={}, callback=None, error_callback=None, progress=None)

        Calls ``func(*args, **kwds)`` in a worker and returns an AsyncResult
        at once. ``func`` is a picklable callable or the name of a function
        the workers serve. ``progress(fraction, message)`` is called with
        what the task reports with report_progress() (at most every 50 ms;
        a report that a later one replaces is not seen), in order, before
        the result is ready. ``callback`` (or ``error_callback``, with the
        exception) runs in a thread of this process before the result is
        ready. (The C function's call, apply_async(name, variant,
        cancellable, callback, *user_data), stays as it is.)"""
        if kwargs or not 0 < len(args) <= 2 or isinstance(args[0], str):
            if _gio_style(args, kwargs, 2):
                return super().apply_async(*args, **kwargs)
            return self._apply_async(*args, **kwargs)
        # apply_async(func) or apply_async(func, args), the most common
        # call, in as few steps as it takes.
        state = _states.get(hash(self)) or _state_of(self)
        if state.state is not _RUN:
            raise ValueError('Pool not running')
        try:
            presult = _submit_data(self, _CALL, _pickle_dumps((_pickled_function(args[0]),
                                                               args[1] if len(args) > 1 else (), {}),
                                                              _PROTOCOL), None)
        except Exception as e:
            return AsyncResult(None, None, outcome=(False, e))
        return _plain_result(presult)

    def _apply_async(self, func, args=(), kwds={}, callback=None, error_callback=None,
                     progress=None):
        state = _states.get(hash(self)) or _state_of(self)
        if state.state is not _RUN:
            raise ValueError('Pool not running')
        return self._submit_apply(state, func, args, kwds, callback, error_callback, progress)

    def apply(self, *args, **kwargs):
        """apply(func, args=(), kwds={}): ``func(*args, **kwds)`` in a worker."""
        if kwargs or not 0 < len(args) <= 2 or isinstance(args[0], str):
            if _gio_style(args, kwargs, 2):
                return super().apply(*args, **kwargs)
            return self._apply(*args, **kwargs)
        state = _states.get(hash(self)) or _state_of(self)
        if state.state is not _RUN:
            raise ValueError('Pool not running')
        presult = _submit_data(self, _CALL, _pickle_dumps((_pickled_function(args[0]),
                                                           args[1] if len(args) > 1 else (), {}),
                                                          _PROTOCOL), None)
        while (outcome := _decode_pickled(presult, 200000)) is None:
            pass
        if outcome[0]:
            return outcome[1]
        raise outcome[1]

    def _apply(self, func, args=(), kwds={}):
        state = _states.get(hash(self)) or _state_of(self)
        if state.state is not _RUN:
            raise ValueError('Pool not running')
        if isinstance(func, str):
            return self._apply_async(func, args, kwds).get()
        presult = _submit_data(self, _CALL, _dumps((_pickled_function(func), args, kwds)), None)
        while (outcome := _decode_pickled(presult, 200000)) is None:
            pass
        if outcome[0]:
            return outcome[1]
        raise outcome[1]

    # }}}
    # {{{ map

    def _default_chunksize(self, n):
        chunksize, extra = divmod(n, self.props.processes * 4)
        return chunksize + 1 if extra else chunksize

    def _map_async(self, func, iterable, chunksize, star, callback, error_callback):
        state = self._check_running()
        if not hasattr(iterable, '__len__') or not hasattr(iterable, '__getitem__'):
            iterable = list(iterable)
        if chunksize is None:
            chunksize = self._default_chunksize(len(iterable))
        if len(iterable) == 0:
            return MapResult([], None, callback=callback, error_callback=error_callback,
                             outcome=(True, []))
        _check_chunksize(chunksize)
        cancellable = Gio.Cancellable()
        try:
            if isinstance(func, str):
                presults = [self.submit_map(func, _items_variant([_item_variant(item, star)
                                                                  for item in iterable]),
                                            chunksize, cancellable)]
                result_type, decode = AsyncResult, _decode_named_map
            else:
                pickled = _pickled_function(func)
                presults = [_submit_data(self, _CHUNK, _dumps((pickled, chunk, star)), cancellable)
                            for chunk in _sequence_chunks(iterable, chunksize)]
                result_type, decode = MapResult, _decode_pickled
        except Exception as e:
            cancellable.cancel()
            return MapResult([], None, callback=callback, error_callback=error_callback,
                             outcome=(False, e))
        if callback is None and error_callback is None:
            return result_type(presults, decode, cancellable=cancellable)
        return result_type(presults, decode, callback=callback, error_callback=error_callback,
                           dispatcher=state.dispatcher(), cancellable=cancellable)

    def map_async(self, *args, **kwargs):
        """map_async(func, iterable, chunksize=None, callback=None, error_callback=None)

        map() returning an AsyncResult. (The C function's call,
        map_async(name, variant, chunksize, cancellable, callback,
        *user_data), stays as it is.)"""
        if _gio_style(args, kwargs, 3):
            return super().map_async(*args, **kwargs)
        return self._map_async_py(*args, **kwargs)

    def _map_async_py(self, func, iterable, chunksize=None, callback=None, error_callback=None):
        return self._map_async(func, iterable, chunksize, False, callback, error_callback)

    def map(self, *args, **kwargs):
        """map(func, iterable, chunksize=None): ``[func(x) for x in iterable]``
        computed by the workers, ``chunksize`` items per task (by default,
        about four tasks per worker)."""
        if _gio_style(args, kwargs, 3):
            return super().map(*args, **kwargs)
        return self._map_async_py(*args, **kwargs).get()

    def starmap_async(self, func, iterable, chunksize=None, callback=None, error_callback=None):
        """map_async() with each item unpacked as the arguments of ``func``."""
        return self._map_async(func, iterable, chunksize, True, callback, error_callback)

    def starmap(self, func, iterable, chunksize=None):
        """map() with each item unpacked as the arguments of ``func``."""
        return self._map_async(func, iterable, chunksize, True, None, None).get()

    # }}}
    # {{{ imap

    def _imap(self, func, iterable, chunksize, buffersize, ordered):
        state = self._check_running()
        _check_chunksize(chunksize)
        if buffersize is not None:
            if not isinstance(buffersize, int):
                raise TypeError('buffersize must be an integer or None')
            if buffersize < 1:
                raise ValueError('buffersize must be None or > 0')
            return self._imap_fed(state, func, iterable, chunksize, buffersize, ordered)
        method = Processing.Pool.imap if ordered else Processing.Pool.imap_unordered
        if isinstance(func, str):
            # An input that fails at item k gives the first (k // chunksize)
            # * chunksize results, then its exception, as with callables.
            variants, error = [], None
            try:
                for item in iterable:
                    variants.append(_item_variant(item, False))
            except Exception as e:
                error = e
                del variants[len(variants) // chunksize * chunksize:]
            map_iter = method(self, func, _items_variant(variants), chunksize, None)
            source = _MapIterSource(map_iter, False)
            return IMapIterator(source if error is None else _ThenRaise(source, error),
                                _decode_named_value, chunked=False)
        if isinstance(iterable, (list, tuple, range)):
            # Every chunk now, in one call; a chunk of one item as a call.
            pickled = _pickled_function(func)
            if chunksize == 1:
                payloads = [_pickle_dumps((pickled, (item,), {}), _PROTOCOL) for item in iterable]
                map_iter = method(self, _CALL, _aay_variant(payloads), 1, None)
                return IMapIterator(_MapIterSource(map_iter, True), _decode_pickled_data,
                                    chunked=False)
            payloads = [_dumps((pickled, chunk, False))
                        for chunk in _sequence_chunks(iterable, chunksize)]
            map_iter = method(self, _CHUNK, _aay_variant(payloads), 1, None)
            return IMapIterator(_MapIterSource(map_iter, True), _decode_pickled_data, chunked=True)
        # Any other iterable is read by a thread of its own, as
        # multiprocessing does, and its chunks sent as they come.
        return self._imap_fed(state, func, iterable, chunksize, None, ordered)

    def _imap_fed(self, state, func, iterable, chunksize, buffersize, ordered):
        # The input is read by a thread of its own, as multiprocessing's
        # task handler does, and each chunk is submitted as it is read
        # (with a buffersize, once there is room for it).
        source = _FedSource(ordered, buffersize)
        decode = _decode_named_map if isinstance(func, str) else _decode_pickled
        result = IMapIterator(source, decode, chunked=True)
        consumer = weakref.ref(result)

        def going_on():
            # Not for an iterator nobody holds, nor a pool that stopped.
            return consumer() is not None and state.state == _RUN

        feeder = threading.Thread(target=self._feed,
                                  args=(source, func, iter(iterable), chunksize, going_on),
                                  name='Processing.Pool feeder', daemon=True)
        feeder.start()
        return result

    def _feed(self, source, func, iterator, chunksize, going_on):
        error = None
        try:
            while source.wait_for_room(going_on):
                # A chunk cut short by the input's exception is not sent.
                chunk = list(itertools.islice(iterator, chunksize))
                if not chunk:
                    break
                if isinstance(func, str):
                    items = _items_variant([_item_variant(item, False) for item in chunk])
                    presult = self.submit_map(func, items, len(chunk), None)
                else:
                    payload = _dumps((_pickled_function(func), chunk, False))
                    presult = _submit_data(self, _CHUNK, payload, None)
                source.put(presult)
        except Exception as e:
            error = e
        finally:
            source.finish(error)

    def imap(self, *args, **kwargs):
        """imap(func, iterable, chunksize=1, buffersize=None): an iterator of
        ``func(x)`` for each item, in order; its next(timeout=None) raises
        TimeoutError after ``timeout`` seconds. ``chunksize`` items go to a
        worker as one task. With a ``buffersize``, at most that many tasks
        are submitted whose results have not been taken yet: the iterable,
        any iterable, endless or not, is read as room frees, by a thread of
        this process (set it at least to the number of processes to keep
        them busy). An exception raised by the iterable comes after the
        results of the chunks before it. (The C function's call stays as it
        is.)"""
        if _gio_style(args, kwargs, 3):
            return super().imap(*args, **kwargs)
        return self._imap_py(*args, ordered=True, **kwargs)

    def imap_unordered(self, *args, **kwargs):
        """imap() yielding the results in the order they come."""
        if _gio_style(args, kwargs, 3):
            return super().imap_unordered(*args, **kwargs)
        return self._imap_py(*args, ordered=False, **kwargs)

    def _imap_py(self, func, iterable, chunksize=1, buffersize=None, *, ordered):
        return self._imap(func, iterable, chunksize, buffersize, ordered)

    # }}}
    # {{{ Life

    def close(self):
        """No new tasks; the queued ones run, then the workers exit."""
        state = self._py_state()
        if state.state == _RUN:
            state.state = _CLOSE
        super().shutdown()

    def shutdown(self):
        """close(), by its name in the C API."""
        self.close()

    def terminate(self):
        """Stops now: unfinished calls fail with CancelledError, workers are killed."""
        state = self._py_state()
        state.state = _TERMINATE
        super().terminate()

    def join(self):
        """Waits, after close() or terminate(), until the workers have exited
        and every callback has run."""
        state = self._py_state()
        if state.state == _RUN:
            raise ValueError('Pool is still running')
        super().join()
        if state._dispatcher is not None:
            state._dispatcher.join()

    # }}}


class _PoolState:
    def __init__(self):
        self.state = _RUN
        self._dispatcher = None
        self._lock = threading.Lock()
        self.weak_ref = None

    def dispatcher(self):
        with self._lock:
            if self._dispatcher is None:
                self._dispatcher = _Dispatcher()
            return self._dispatcher


# A pool's Python state, by the address of its GObject, until it is
# finalized. Not in the wrapper's __dict__: PyGObject then holds the
# wrapper with a toggle reference and drops it holding the GIL, and the
# pool's dispose waits for its thread, which may need the GIL to free an
# object a binding made (a Gio.Cancellable): a deadlock.
_states = {}
_states_lock = threading.Lock()


def _forget_state(key, states=_states, lock=_states_lock, run=_RUN, warn=warnings.warn):
    # Maybe called while the interpreter exits: no module globals.
    with lock:
        state = states.pop(key, None)
    if state is None:
        return
    # As multiprocessing's, in its words: filters written for it apply.
    if state.state == run:
        warn('unclosed running multiprocessing pool (a Processing.Pool)', ResourceWarning)
    if state._dispatcher is not None:
        state._dispatcher.stop()


def _state_of(pool):
    # Pools made with Pool.new() and the like have not run __init__.
    key = hash(pool)
    state = _states.get(key)
    if state is None:
        with _states_lock:
            state = _states.get(key)
            if state is None:
                state = _states[key] = _PoolState()
                state.weak_ref = pool.weak_ref(_forget_state, key)
                _live_pools.add(pool)
    return state



def _worker_stats(worker):
    stats = {}
    for key, value in worker.items():
        if key == 'task-age':
            value = None if value < 0 else value / 1e6
        stats[key.replace('-', '_')] = value
    return stats


def _interpreter_flags():
    import subprocess
    return subprocess._args_from_interpreter_flags()


def _terminate_live_pools():
    # A pool left open at exit: its workers go, without waiting for callbacks.
    for pool in list(_live_pools):
        state = _states.get(hash(pool))
        if state is not None and state.state != _TERMINATE:
            state.state = _TERMINATE
            Processing.Pool.terminate(pool)
            try:
                Processing.Pool.join(pool)
            except GLib.Error:
                pass
    # No Python code when the pools are finalized, later in the exit.
    with _states_lock:
        for state in _states.values():
            if state.weak_ref is not None:
                state.weak_ref.unref()
                state.weak_ref = None


import atexit  # noqa: E402
atexit.register(_terminate_live_pools)

Pool = override(Pool)
__all__.append('Pool')

# }}}
