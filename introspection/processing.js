// processing.js: processing-glib from gjs with plain JavaScript values
//
// Copyright 2026 The processing-glib authors
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// An ES module, installed as $datadir/processing-glib-1.0/processing.js
// (pkg-config --variable=jsmoduledir processing-glib-1.0):
//
//   import {Pool, Worker} from 'file:///usr/share/processing-glib-1.0/processing.js';
//
//   const worker = new Worker();
//   worker.addFunction('square', x => x * x);
//   if (Worker.isRequested())
//       imports.system.exit(worker.run() ? 0 : 1);
//
//   const pool = new Pool(4);
//   print(await pool.apply('square', [4]));      // 16
//
// Values are converted to and from GVariant by toVariant() and
// fromVariant(); a GLib.Variant passes as it is. Importing the module also
// makes the _async functions of Processing.Pool and Processing.MapIter
// return a promise when called without a callback (Gio._promisify()).
//
// A task reports its progress with reportProgress(fraction, message); the
// caller sees it through the onProgress option of apply() and applyAsync(),
// or as notify::progress of the Processing.Result, in its main context.
// imap() with a buffersize reads any iterable lazily, in bounded memory.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Processing from 'gi://Processing?version=1.0';

Gio._promisify(Processing.Pool.prototype, 'apply_async', 'apply_finish');
Gio._promisify(Processing.Pool.prototype, 'map_async', 'map_finish');
Gio._promisify(Processing.MapIter.prototype, 'next_async', 'next_finish');

const AY = new GLib.VariantType('ay');
const V = new GLib.VariantType('v');
const SV = new GLib.VariantType('{sv}');

/**
 * Converts a plain JavaScript value to a GLib.Variant.
 *
 * null and undefined are `@mv nothing`; a boolean `b`; a number `x` if it
 * is a safe integer, else `d`; a BigInt `x` (RangeError beyond int64); a
 * string `s`; a Uint8Array `ay`; an array an array of its items' type if
 * they all have one, else `av` (`av` when empty); a plain object `a{sv}`. A
 * GLib.Variant is returned as it is. Anything else throws TypeError.
 *
 * @param {*} value - a plain value
 * @returns {GLib.Variant} the value as a GLib.Variant
 */
export function toVariant(value) {
    if (value instanceof GLib.Variant)
        return value;
    if (value === null || value === undefined)
        return GLib.Variant.new_maybe(V, null);
    switch (typeof value) {
    case 'boolean':
        return GLib.Variant.new_boolean(value);
    case 'number':
        return Number.isSafeInteger(value) ? GLib.Variant.new_int64(value) : GLib.Variant.new_double(value);
    case 'bigint':
        if (value < -(2n ** 63n) || value >= 2n ** 63n)
            throw new RangeError(`${value} does not fit in an int64`);
        return new GLib.Variant('x', value);
    case 'string':
        return GLib.Variant.new_string(value);
    }
    if (value instanceof Uint8Array)
        return GLib.Variant.new_from_bytes(AY, new GLib.Bytes(value), true);
    if (Array.isArray(value)) {
        const items = value.map(toVariant);
        const types = new Set(items.map(item => item.get_type_string()));
        if (types.size === 1)
            return GLib.Variant.new_array(null, items);
        return GLib.Variant.new_array(V, items.map(item => GLib.Variant.new_variant(item)));
    }
    const prototype = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
    if (prototype === Object.prototype || prototype === null) {
        const entries = Object.entries(value).map(([key, member]) =>
            GLib.Variant.new_dict_entry(GLib.Variant.new_string(key),
                GLib.Variant.new_variant(toVariant(member))));
        return GLib.Variant.new_array(SV, entries);
    }
    throw new TypeError(`a value of type ${value?.constructor?.name ?? typeof value} does not convert to GVariant`);
}

/**
 * Converts a GLib.Variant to plain JavaScript values.
 *
 * Booleans, numbers and strings give booleans, numbers (64-bit integers
 * beyond ±2⁵³ lose precision) and strings; `ay` gives a Uint8Array; a
 * variant its content; a maybe null or its content; a tuple (or a dict
 * entry) an array; an array of dict entries an object, its keys as
 * strings; any other array an array.
 *
 * @param {GLib.Variant} variant - a GLib.Variant
 * @returns {*} its value
 */
export function fromVariant(variant) {
    const type = variant.get_type_string();
    switch (type) {
    case 'b': return variant.get_boolean();
    case 'y': return variant.get_byte();
    case 'n': return variant.get_int16();
    case 'q': return variant.get_uint16();
    case 'i': return variant.get_int32();
    case 'u': return variant.get_uint32();
    case 'x': return variant.get_int64();
    case 't': return variant.get_uint64();
    case 'h': return variant.get_handle();
    case 'd': return variant.get_double();
    case 's': case 'o': case 'g': return variant.get_string()[0];
    case 'v': return fromVariant(variant.get_variant());
    case 'ay': return variant.get_data_as_bytes().toArray();
    }
    if (type.startsWith('m')) {
        const inner = variant.get_maybe();
        return inner === null ? null : fromVariant(inner);
    }
    const children = [];
    for (let i = 0; i < variant.n_children(); i++)
        children.push(fromVariant(variant.get_child_value(i)));
    if (type.startsWith('a{'))
        return Object.fromEntries(children);
    return children;
}

/**
 * The arguments of a call to a function named by a string: a single
 * argument is sent alone, any other number of them as a tuple. Receivers
 * spread a tuple into arguments and pass anything else as the one.
 *
 * @param {Array|GLib.Variant} args - the arguments, or a GLib.Variant as it is
 * @returns {GLib.Variant} what the task is sent
 */
export function argsToVariant(args) {
    if (args instanceof GLib.Variant)
        return args;
    if (!Array.isArray(args))
        throw new TypeError('the arguments must be an array or a GLib.Variant');
    if (args.length === 1)
        return toVariant(args[0]);
    return GLib.Variant.new_tuple(args.map(toVariant));
}

/**
 * Calls `fn` with a task's arguments, as argsToVariant() sent them.
 *
 * @param {Function} fn - the function
 * @param {GLib.Variant} args - the task's arguments
 * @returns {*} what `fn` returns
 */
export function callWithVariant(fn, args) {
    while (args.get_type_string() === 'v')
        args = args.get_variant();
    if (args.get_type_string().startsWith('('))
        return fn(...fromVariant(args));
    return fn(fromVariant(args));
}

function callOptions(options) {
    if (options === null || options === undefined || options instanceof Gio.Cancellable)
        return {cancellable: options ?? null};
    return options;
}

function itemsToVariant(items) {
    if (items instanceof GLib.Variant)
        return items;
    const variants = Array.from(items, toVariant);
    const types = new Set(variants.map(item => item.get_type_string()));
    if (types.size === 1)
        return GLib.Variant.new_array(null, variants);
    return GLib.Variant.new_array(V, variants.map(item => GLib.Variant.new_variant(item)));
}

/**
 * Reports the progress of the task that runs in this worker, which the
 * caller sees as the progress of its result (the onProgress option of
 * Pool.apply() and Pool.applyAsync()). At most one report every 50 ms goes
 * to the pool: a later one replaces one that waits. Outside a task, it
 * does nothing.
 *
 * @param {number} fraction - how much of the task is done, from 0 to 1
 * @param {string} [message] - what it is doing, for people
 */
export function reportProgress(fraction, message = null) {
    if (!(fraction >= 0 && fraction <= 1))
        throw new RangeError(`the fraction must be from 0 to 1, not ${fraction}`);
    Processing.Worker.report_progress(fraction, message);
}

/*
 * Calls onProgress(fraction, message) on each notify::progress of a
 * Processing.Result, in the main context of the thread that submitted it,
 * until disconnected.
 */
function watchProgress(result, onProgress) {
    return result.connect('notify::progress', () =>
        onProgress(result.get_progress(), result.dup_progress_message()));
}

/*
 * Resolves once @result is ready; its notification comes in the main
 * context of the thread that submitted it, after its progress.
 */
function whenReady(result) {
    return new Promise(resolve => {
        if (result.ready()) {
            resolve();
            return;
        }
        const handler = result.connect('notify::is-ready', () => {
            result.disconnect(handler);
            resolve();
        });
    });
}

function usec(seconds) {
    return seconds === undefined || seconds === null ? -1 : Math.max(0, Math.round(seconds * 1e6));
}

/**
 * The result of Pool.applyAsync(): the seed's result object.
 */
export class Result {
    constructor(result, onProgress = null) {
        this._result = result;
        this._progressHandler = onProgress ? watchProgress(result, onProgress) : 0;
    }

    /** @returns {Processing.Result} the underlying object */
    get gobject() {
        return this._result;
    }

    /** @returns {boolean} whether the call has finished */
    ready() {
        return this._result.ready();
    }

    /** @returns {boolean} whether it succeeded; throws while not ready */
    successful() {
        if (!this._result.ready())
            throw new Error('the result is not ready');
        return this._result.successful();
    }

    /**
     * Waits until the result is ready.
     *
     * @param {number} [timeout] - seconds; none waits for as long as it takes
     * @returns {boolean} whether it is ready
     */
    wait(timeout) {
        return this._result.wait(usec(timeout));
    }

    /**
     * The value, or the call's error thrown; a GLib.Error of
     * Gio.IOErrorEnum.TIMED_OUT once `timeout` seconds have passed.
     *
     * @param {number} [timeout] - seconds; none waits for as long as it takes
     * @returns {*} the value
     */
    get(timeout) {
        return fromVariant(this._result.get(usec(timeout)));
    }

    /**
     * The value, once ready, without blocking the main loop: the progress
     * notified before it has been seen.
     *
     * @returns {Promise<*>} the value
     */
    async value() {
        await whenReady(this._result);
        return this.get(0);
    }

    /** @returns {number} how much of the task is done, from 0 to 1, as last reported */
    get progress() {
        return this._result.get_progress();
    }

    /** @returns {?string} what the task last said it was doing */
    get progressMessage() {
        return this._result.dup_progress_message();
    }
}

/**
 * A pool of worker processes, with plain values.
 */
export class Pool {
    /**
     * @param {number} [processes] - workers; 0 for one per processor
     * @param {object} [options] - options
     * @param {string[]} [options.workerArgv] - the worker command; none
     *   starts this script again, which serves its functions when
     *   Worker.isRequested()
     * @param {string[]} [options.modules] - task modules for the stock worker
     * @param {number} [options.taskTimeout] - seconds a task may run
     * @param {number} [options.maxTasksPerWorker] - tasks before a worker is replaced
     * @param {number} [options.minProcesses] - workers kept when idle
     * @param {number} [options.idleTimeout] - seconds before a worker above
     *   minProcesses exits when idle; 0 for never
     * @param {number} [options.maxQueued] - tasks that may wait for a worker
     *   before more wait to be queued; 0 for no limit
     */
    constructor(processes = 0, {workerArgv = null, modules = null, taskTimeout = 0, maxTasksPerWorker = 0,
        minProcesses = null, idleTimeout = 0, maxQueued = 0} = {}) {
        this._pool = modules !== null
            ? Processing.Pool.new_for_modules(processes, modules)
            : Processing.Pool.new(processes, workerArgv);
        this._pool.task_timeout = usec(taskTimeout || 0);
        this._pool.max_tasks_per_worker = maxTasksPerWorker;
        if (minProcesses !== null)
            this._pool.min_processes = minProcesses;
        this._pool.idle_timeout = usec(idleTimeout || 0);
        this._pool.max_queued = maxQueued;
    }

    /**
     * What the pool is doing (p_pool_get_stats()): `workers`, `busy`,
     * `idle`, `starting`, `queued`, `completed`, `failed`, and `per-worker`,
     * an array of objects with each worker's `pid`, `state`, `tasks-run`,
     * `in-flight` and `task-age` (microseconds, -1 without a task).
     *
     * @returns {object} the figures, taken at one moment
     */
    stats() {
        return this._pool.get_stats().recursiveUnpack();
    }

    /** @returns {Processing.Pool} the underlying object */
    get gobject() {
        return this._pool;
    }

    /** @returns {number} the number of workers */
    get processes() {
        return this._pool.get_processes();
    }

    /**
     * Calls the function `name` with `args`.
     *
     * @param {string} name - a function the workers serve
     * @param {Array|GLib.Variant} [args] - its arguments
     * @param {Gio.Cancellable|object} [options] - a Gio.Cancellable, or options
     * @param {Gio.Cancellable} [options.cancellable] - cancels the call
     * @param {Function} [options.onProgress] - called with (fraction, message)
     *   as the task reports its progress (reportProgress()), in order, in
     *   this thread's main context, before the promise resolves
     * @returns {Promise<*>} its result
     */
    async apply(name, args = [], options = null) {
        const {cancellable = null, onProgress = null} = callOptions(options);
        if (!onProgress)
            return fromVariant(await this._pool.apply_async(name, argsToVariant(args), cancellable));
        const result = new Result(this._pool.submit(name, argsToVariant(args), cancellable), onProgress);
        try {
            return await result.value();
        } finally {
            result._result.disconnect(result._progressHandler);
        }
    }

    /**
     * Submits a call and returns its Result at once.
     *
     * @param {string} name - a function the workers serve
     * @param {Array|GLib.Variant} [args] - its arguments
     * @param {Gio.Cancellable|object} [options] - a Gio.Cancellable, or
     *   options as for apply()
     * @returns {Result} the result
     */
    applyAsync(name, args = [], options = null) {
        const {cancellable = null, onProgress = null} = callOptions(options);
        return new Result(this._pool.submit(name, argsToVariant(args), cancellable), onProgress);
    }

    /**
     * Calls `name` once per item, each item its one argument.
     *
     * @param {string} name - a function the workers serve
     * @param {Iterable|GLib.Variant} items - the items
     * @param {object} [options] - options
     * @param {number} [options.chunksize] - items per task; 0 for about four tasks per worker
     * @param {Gio.Cancellable} [options.cancellable] - cancels the map
     * @returns {Promise<Array>} the results, in the items' order
     */
    async map(name, items, {chunksize = 0, cancellable = null} = {}) {
        const results = await this._pool.map_async(name, itemsToVariant(items), chunksize, cancellable);
        return fromVariant(results);
    }

    /**
     * As map(), yielding each result as soon as it (and those before it) came.
     *
     * With a `buffersize`, the items are taken from `items`, any iterable
     * (a generator, endless or not), only as results are taken: at most
     * `buffersize` items are submitted whose results were not taken yet
     * (p_pool_imap_lazy()), each item a task. An exception that the
     * iterable throws comes after the results of the items before it.
     *
     * @param {string} name - a function the workers serve
     * @param {Iterable|GLib.Variant} items - the items
     * @param {object} [options] - as for map(), `ordered` (default true)
     *   and `buffersize`
     * @yields {*} the results
     */
    async *imap(name, items, {chunksize = 0, cancellable = null, ordered = true, buffersize = null} = {}) {
        let iterator;
        let sourceError = null;
        if (buffersize !== null) {
            if (!Number.isInteger(buffersize) || buffersize < 1)
                throw new RangeError(`buffersize must be a positive integer, not ${buffersize}`);
            const input = items[Symbol.iterator]();
            // Called as room frees, in this thread; a thrown error ends
            // the items and comes after their results.
            const source = () => {
                try {
                    const next = input.next();
                    return next.done ? null : toVariant(next.value);
                } catch (error) {
                    sourceError = error;
                    return null;
                }
            };
            iterator = this._pool.imap_lazy(name, source, buffersize, ordered, cancellable);
        } else {
            const variant = itemsToVariant(items);
            iterator = ordered
                ? this._pool.imap(name, variant, chunksize, cancellable)
                : this._pool.imap_unordered(name, variant, chunksize, cancellable);
        }
        for (;;) {
            // eslint-disable-next-line no-await-in-loop
            const value = await iterator.next_async(null);
            if (value === null)
                break;
            yield fromVariant(value);
        }
        if (sourceError !== null)
            throw sourceError;
    }

    /**
     * As imap(), in the order the results come.
     *
     * @param {string} name - a function the workers serve
     * @param {Iterable|GLib.Variant} items - the items
     * @param {object} [options] - as for map()
     * @returns {AsyncGenerator} the results
     */
    imapUnordered(name, items, options = {}) {
        return this.imap(name, items, {...options, ordered: false});
    }

    /** Takes no new work; what was submitted runs, then the workers exit. */
    close() {
        this._pool.shutdown();
    }

    /** Stops now: unfinished calls fail with Gio.IOErrorEnum.CANCELLED. */
    terminate() {
        this._pool.terminate();
    }

    /** Waits, after close() or terminate(), until the workers are gone. */
    join() {
        this._pool.join();
    }
}

/**
 * The worker side, with plain values: a script that is its own worker
 * adds its functions and, when Worker.isRequested(), runs.
 */
export class Worker {
    constructor() {
        this._worker = Processing.Worker.new();
    }

    /** @returns {boolean} whether a pool started this process as its worker */
    static isRequested() {
        return Processing.Worker.is_requested();
    }

    /**
     * Serves `fn` under `name`: a tuple of arguments is spread, any other
     * value is the one argument; the result goes through toVariant(). A
     * thrown error comes back to the caller with its message (a
     * GLib.Error keeps its domain and code).
     *
     * @param {string} name - the name callers use
     * @param {Function} fn - the function
     */
    addFunction(name, fn) {
        this._worker.add_function(name, args => toVariant(callWithVariant(fn, args)));
    }

    /** @returns {Processing.Worker} the underlying object */
    get gobject() {
        return this._worker;
    }

    /**
     * Serves the pool until it closes the channel.
     *
     * @returns {boolean} true (an error is thrown)
     */
    run() {
        return this._worker.run();
    }
}
