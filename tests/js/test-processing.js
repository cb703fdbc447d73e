// test-processing.js: processing-glib from gjs, through processing.js and
// the introspected API: the seed's calls, promises, a script as its own
// worker, conversions, and workers in other languages. Prints TAP.
// Run with gjs -m.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Processing from 'gi://Processing?version=1.0';
import System from 'system';

import {Pool, Worker, toVariant, fromVariant, argsToVariant, reportProgress} from '../../introspection/processing.js';

const TEST_ERROR = GLib.quark_from_string('processing-test-error-quark');

const worker = new Worker();
worker.addFunction('square', x => x * x);
worker.addFunction('add', (a, b) => a + b);
worker.addFunction('echo', value => value);
worker.addFunction('count', (...args) => args.length);
worker.addFunction('throw_error', message => {
    throw new Error(message);
});
worker.addFunction('throw_type_error', () => null.property);
worker.addFunction('throw_gerror', () => {
    throw new GLib.Error(TEST_ERROR, 7, 'a GLib.Error');
});
worker.addFunction('nap', ms => {
    GLib.usleep(ms * 1000);
    return ms;
});
// A report every 60 ms: the pool takes one every 50 ms at most.
worker.addFunction('steps', n => {
    for (let i = 1; i <= n; i++) {
        reportProgress(i / n, `step ${i}`);
        GLib.usleep(60000);
    }
    return n;
});
if (Worker.isRequested())
    System.exit(worker.run() ? 0 : 1);

const here = GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]);

function assert(condition, what) {
    if (!condition)
        throw new Error(`assertion failed: ${what}`);
}

function assertEqual(actual, expected, what = '') {
    const a = JSON.stringify(actual, (k, v) => v instanceof Uint8Array ? `u8:${[...v]}` : v);
    const e = JSON.stringify(expected, (k, v) => v instanceof Uint8Array ? `u8:${[...v]}` : v);
    if (a !== e)
        throw new Error(`${what} expected ${e}, got ${a}`);
}

async function assertRejects(promise, check) {
    try {
        await promise;
    } catch (error) {
        check(error);
        return;
    }
    throw new Error('no rejection');
}

const pool = new Pool(2);

const tests = {
    seedCalls() {
        // Processing.Result's methods, as the seed calls them.
        const result = pool.gobject.submit('square', new GLib.Variant('x', 4), null);
        assert(result.wait(-1), 'wait');
        assert(result.ready() === true, 'ready()');
        assert(result.successful() === true, 'successful()');
        assert(result.get(-1).deep_unpack() === 16, 'get()');
        assert(result.is_ready === true, 'is-ready');

        const wrapped = pool.applyAsync('square', [5]);
        wrapped.wait();
        assertEqual([wrapped.ready(), wrapped.successful(), wrapped.get()], [true, true, 25]);
    },

    async applyPlainValues() {
        assert(await pool.apply('square', [4]) === 16, 'square');
        assert(await pool.apply('add', [2, 3]) === 5, 'add');
        assert(await pool.apply('add', ['a', 'b']) === 'ab', 'add strings');
        assert(await pool.apply('count', []) === 0, 'no arguments');
        assert(await pool.apply('count', [[1, 2, 3]]) === 1, 'one array argument');
        assert(await pool.apply('square', new GLib.Variant('x', 6)) === 36, 'a GLib.Variant as it is');
    },

    async promisified() {
        // Every _async/_finish pair returns a promise without a callback.
        const gobject = pool.gobject;
        const value = await gobject.apply_async('square', new GLib.Variant('x', 9), null);
        assert(value.deep_unpack() === 81, 'apply_async');
        const squares = await gobject.map_async('square', new GLib.Variant('ax', [3, 4]), 0, null);
        assertEqual(fromVariant(squares), [9, 16], 'map_async');
        const iterator = gobject.imap('square', new GLib.Variant('ax', [5, 6]), 0, null);
        assert((await iterator.next_async(null)).deep_unpack() === 25, 'next_async');
        assert((await iterator.next_async(null)).deep_unpack() === 36, 'next_async');
        assert(await iterator.next_async(null) === null, 'the end');
        // Promisifying again changes nothing.
        Gio._promisify(Processing.Pool.prototype, 'apply_async', 'apply_finish');
        assert((await gobject.apply_async('square', new GLib.Variant('x', 2), null)).deep_unpack() === 4,
            'apply_async again');
    },

    async thrownErrors() {
        await assertRejects(pool.apply('throw_error', ['boom']), error => {
            assert(error.message === 'boom', error.message);
        });
        await assertRejects(pool.apply('throw_type_error'), error => {
            assert(error instanceof TypeError, `${error} is a TypeError`);
        });
        await assertRejects(pool.apply('throw_gerror'), error => {
            assert(error.matches(TEST_ERROR, 7), `${error} keeps its domain and code`);
            assert(error.message === 'a GLib.Error', error.message);
        });
        await assertRejects(pool.apply('no_such_function', [1]), error => {
            assert(error.matches(Processing.pool_error_quark(), Processing.PoolError.UNKNOWN_FUNCTION),
                `${error}`);
        });
        // The workers live on.
        assert(await pool.apply('square', [3]) === 9, 'after the errors');
    },

    async conversions() {
        const values = [null, true, false, 0, -7, 2 ** 40, 1.5, '', 'héllo',
            new Uint8Array([0, 1, 255]), [], [1, 2, 3], [1, 'a', null], ['a', 'b'],
            {}, {a: 1, b: [true, {c: null}]}, [[1, 2], [3]]];
        for (const value of values) {
            assertEqual(fromVariant(toVariant(value)), value, 'here');
            // eslint-disable-next-line no-await-in-loop
            assertEqual(await pool.apply('echo', [value]), value, 'through a worker');
        }
        assertEqual(await pool.map('echo', values), values, 'map');
        const types = [[null, 'mv'], [true, 'b'], [3, 'x'], [0.5, 'd'], ['s', 's'],
            [new Uint8Array(1), 'ay'], [[1, 2], 'ax'], [[1, 'a'], 'av'], [[], 'av'], [{a: 1}, 'a{sv}']];
        for (const [value, type] of types)
            assertEqual(toVariant(value).get_type_string(), type, `type of ${value}`);
        assertEqual(argsToVariant([1, 'a']).get_type_string(), '(xs)', 'arguments');
        assertEqual(argsToVariant([1]).get_type_string(), 'x', 'one argument');
        assertEqual(fromVariant(new GLib.Variant('(iu)', [1, 2])), [1, 2], 'a tuple');
        assertEqual(fromVariant(new GLib.Variant('a{is}', {1: 'a'})), {1: 'a'}, 'a dict');
        for (const bad of [new Map(), () => 1, Symbol('s'), new Date()]) {
            let threw = false;
            try {
                toVariant(bad);
            } catch (e) {
                threw = e instanceof TypeError;
            }
            assert(threw, `${String(bad)} refused`);
        }
    },

    async mapAndImap() {
        const range = [...Array(20).keys()];
        assertEqual(await pool.map('square', range), range.map(x => x * x), 'map');
        assertEqual(await pool.map('square', range, {chunksize: 3}), range.map(x => x * x), 'chunks');
        const ordered = [];
        for await (const value of pool.imap('square', range))
            ordered.push(value);
        assertEqual(ordered, range.map(x => x * x), 'imap');
        const unordered = [];
        for await (const value of pool.imapUnordered('square', range, {chunksize: 4}))
            unordered.push(value);
        assertEqual(unordered.sort((a, b) => a - b), range.map(x => x * x), 'imapUnordered');
        assertEqual(await pool.map('square', []), [], 'an empty map');
    },

    timeouts() {
        const result = pool.applyAsync('nap', [300]);
        assert(!result.wait(0.01), 'not ready yet');
        let timedOut = false;
        try {
            result.get(0.01);
        } catch (error) {
            timedOut = error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT);
        }
        assert(timedOut, 'get() timed out');
        let notReady = false;
        try {
            result.successful();
        } catch (error) {
            notReady = true;
        }
        assert(notReady, 'successful() while not ready');
        assert(result.get() === 300, 'then the value');
    },

    async pythonWorker() {
        // A gjs caller, a Python worker.
        const python = GLib.getenv('PYTHON');
        if (!python)
            return 'SKIP no Python with PyGObject';
        const other = new Pool(1, {workerArgv: [python, `${here}/../python/plain-worker.py`]});
        assert(await other.apply('square', [4]) === 16, 'square');
        assert(await other.apply('concat', ['ab', 'cd']) === 'abcd', 'concat');
        assertEqual(await other.apply('describe', [[1, 'a']]), ['list', [1, 'a']], 'describe');
        assertEqual(await other.map('square', [1, 2, 3]), [1, 4, 9], 'map');
        await assertRejects(other.apply('fail', ['no luck']), error => {
            assert(error.message.includes('ValueError') && error.message.includes('no luck'),
                error.message);
        });
        other.close();
        other.join();
        return null;
    },

    async taskTimeout() {
        const other = new Pool(1, {taskTimeout: 0.2});
        await assertRejects(other.apply('nap', [60000]), error => {
            assert(error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT), `${error}`);
        });
        assert(await other.apply('square', [7]) === 49, 'a new worker');
        other.terminate();
        other.join();
    },

    async cModule() {
        const module = GLib.getenv('TEST_MODULE_PATH');
        if (!module)
            return 'SKIP no test module';
        const other = new Pool(1, {modules: [module]});
        assert(await other.apply('module_cube', [3]) === 27, 'module_cube');
        other.terminate();
        other.join();
        return null;
    },

    async progress() {
        // onProgress: in order, in this thread's main context, before the value.
        const seen = [];
        const value = await pool.apply('steps', [4], {onProgress: (fraction, message) =>
            seen.push([fraction, message])});
        assert(value === 4, 'the value');
        assert(seen.length > 0, 'progress seen');
        const fractions = seen.map(([fraction]) => fraction);
        assertEqual(fractions, [...fractions].sort(), 'in order');
        assert(fractions[fractions.length - 1] === 1, `done: ${fractions}`);
        for (const [, message] of seen)
            assert(/^step [1-4]$/.test(message), message);

        const result = pool.applyAsync('steps', [3], {onProgress: fraction => seen.push(fraction)});
        assert(await result.value() === 3, 'Result.value()');
        assert(result.progress === 1, 'Result.progress');
        assert(/^step [1-3]$/.test(result.progressMessage), result.progressMessage);
    },

    async progressNotifications() {
        // notify::progress of a Processing.Result, in a main loop.
        const result = pool.gobject.submit('steps', new GLib.Variant('x', 3), null);
        const seen = [];
        result.connect('notify::progress', () => seen.push(result.progress));
        const loop = new GLib.MainLoop(null, false);
        result.connect('notify::is-ready', () => loop.quit());
        loop.run();
        assert(result.get(0).deep_unpack() === 3, 'the value');
        assertEqual(seen, [...seen].sort(), 'in order');
        assert(seen[seen.length - 1] === 1, `done: ${seen}`);
        assert(/^step [1-3]$/.test(result.progress_message), result.progress_message);
    },

    async lazyImap() {
        // At most buffersize items submitted and not taken: the input is
        // read no further ahead.
        for (const [ordered, buffersize] of [[true, 1], [true, 3], [false, 2]]) {
            let pulled = 0;
            const counting = (function* () {
                for (let i = 0; ; i++) {
                    pulled = i + 1;
                    yield i;
                }
            })();
            const got = [];
            for await (const value of pool.imap('square', counting, {buffersize, ordered})) {
                got.push(value);
                assert(pulled <= got.length + buffersize, `pulled ${pulled} for ${got.length} taken`);
                if (got.length === 20)
                    break;
            }
            if (ordered)
                assertEqual(got, [...Array(20).keys()].map(x => x * x), 'in order');
            else
                assert(got.every(value => Number.isInteger(Math.sqrt(value))), 'squares');
        }

        // The input's error after the results before it.
        const failing = (function* () {
            yield* [1, 2, 3];
            throw new RangeError('the input ends');
        })();
        const got = [];
        let thrown = null;
        try {
            for await (const value of pool.imap('square', failing, {buffersize: 2}))
                got.push(value);
        } catch (error) {
            thrown = error;
        }
        assertEqual(got, [1, 4, 9], 'before the error');
        assert(thrown instanceof RangeError, `${thrown}`);

        let refused = false;
        try {
            await pool.imap('square', [1], {buffersize: 0}).next();
        } catch (error) {
            refused = error instanceof RangeError;
        }
        assert(refused, 'buffersize 0');
    },

    async flowAndStats() {
        const other = new Pool(2, {minProcesses: 0, idleTimeout: 0.1, maxQueued: 2});
        const gobject = other.gobject;
        assertEqual([gobject.min_processes, gobject.idle_timeout, gobject.max_queued], [0, 100000, 2]);
        assertEqual(await other.map('square', [1, 2, 3, 4], {chunksize: 1}), [1, 4, 9, 16], 'map');
        const stats = other.stats();
        for (const key of ['workers', 'busy', 'idle', 'starting', 'queued', 'completed', 'failed', 'per-worker'])
            assert(key in stats, key);
        assert(stats.completed >= 4, `completed ${stats.completed}`);
        assert(stats['per-worker'].every(w => 'pid' in w && 'state' in w), 'per worker');
        other.terminate();
        other.join();
    },

    closed() {
        pool.close();
        let refused = false;
        try {
            pool.applyAsync('square', [1]).get();
        } catch (error) {
            refused = error.matches(Processing.pool_error_quark(), Processing.PoolError.CLOSED);
        }
        assert(refused, 'closed');
        pool.join();
    },
};

const names = Object.keys(tests);
let failed = 0;
print(`1..${names.length}`);
for (const [i, name] of names.entries()) {
    try {
        // eslint-disable-next-line no-await-in-loop
        const skip = await tests[name]();
        print(typeof skip === 'string' ? `ok ${i + 1} ${name} # ${skip}` : `ok ${i + 1} ${name}`);
    } catch (error) {
        failed++;
        print(`not ok ${i + 1} ${name}`);
        print(`# ${error}\n# ${error.stack}`.replace(/\n/g, '\n# '));
    }
}
System.exit(failed > 0 ? 1 : 0);
