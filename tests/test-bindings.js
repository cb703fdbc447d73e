// test-bindings.js: the pool from JavaScript through GObject-introspection
// (gjs), with this script as its own worker. Prints TAP.
//
// Copyright 2026 The processing-glib authors
//
// SPDX-License-Identifier: LGPL-2.1-or-later

imports.gi.versions.Processing = '1.0';
const {Gio, GLib, Processing} = imports.gi;
const System = imports.system;

const TEST_ERROR = GLib.quark_from_string('processing-test-error-quark');
const POOL_ERROR = Processing.pool_error_quark();

const worker = Processing.Worker.new();
worker.add_function('square', args => {
    const x = args.deep_unpack();
    if (x < 0)
        throw new GLib.Error(TEST_ERROR, 7, `negative: ${x}`);
    return new GLib.Variant('x', x * x);
});
worker.add_function('concat', args => {
    const [a, b] = args.deep_unpack();
    return new GLib.Variant('s', a + b);
});
if (Processing.Worker.is_requested())
    System.exit(worker.run() ? 0 : 1);

Gio._promisify(Processing.Pool.prototype, 'apply_async', 'apply_finish');
Gio._promisify(Processing.Pool.prototype, 'map_async', 'map_finish');

function assert(condition, what) {
    if (!condition)
        throw new Error(`assertion failed: ${what}`);
}

function assertError(call, domain, code) {
    try {
        call();
    } catch (error) {
        assert(error.matches(domain, code), `${error} is ${domain}:${code}`);
        return error;
    }
    throw new Error('no error');
}

const tests = {
    apply(pool) {
        assert(pool.apply('square', new GLib.Variant('x', 7), null).deep_unpack() === 49, '7²');
        const joined = pool.apply('concat', new GLib.Variant('(ss)', ['ab', 'cd']), null);
        assert(joined.deep_unpack() === 'abcd', 'concat');
    },

    taskError(pool) {
        const error = assertError(() => pool.apply('square', new GLib.Variant('x', -2), null),
            TEST_ERROR, 7);
        assert(error.message === 'negative: -2', error.message);
        assertError(() => pool.apply('nothing', new GLib.Variant('x', 0), null),
            POOL_ERROR, Processing.PoolError.UNKNOWN_FUNCTION);
    },

    submit(pool) {
        const result = pool.submit('square', new GLib.Variant('x', 5), null);
        assert(result.get(-1).deep_unpack() === 25, '5²');
        // The property is "is-ready": a property would hide a method of
        // the same name in gjs.
        assert(result.ready() === true, 'ready');
        assert(result.is_ready === true, 'is_ready');
        assert(result.successful(), 'successful');
    },

    map(pool) {
        const items = new GLib.Variant('ax', [...Array(50).keys()]);
        const squares = pool.map('square', items, 0, null).deep_unpack().map(v => v.deep_unpack());
        assert(squares.every((value, i) => value === i * i), 'squares');
        assertError(() => pool.map('square', new GLib.Variant('x', 1), 0, null),
            Gio.io_error_quark(), Gio.IOErrorEnum.INVALID_ARGUMENT);
    },

    imapUnordered(pool) {
        const iterator = pool.imap_unordered('square', new GLib.Variant('ax', [1, 2, 3]), 1, null);
        const values = [];
        for (let value; (value = iterator.next(-1)) !== null;)
            values.push(value.deep_unpack());
        assert(values.sort().join() === '1,4,9', values.join());
    },

    async promises(pool) {
        const value = await pool.apply_async('square', new GLib.Variant('x', 9), null);
        assert(value.deep_unpack() === 81, '9²');
        const squares = await pool.map_async('square', new GLib.Variant('ax', [3, 4]), 0, null);
        assert(squares.deep_unpack().map(v => v.deep_unpack()).join() === '9,16', 'map_async');
        await assertRejects(pool.apply_async('square', new GLib.Variant('x', -1), null),
            TEST_ERROR, 7);
    },

    closed(pool) {
        pool.shutdown();
        assertError(() => pool.apply('square', new GLib.Variant('x', 1), null),
            POOL_ERROR, Processing.PoolError.CLOSED);
        pool.join();
    },
};

async function assertRejects(promise, domain, code) {
    try {
        await promise;
    } catch (error) {
        assert(error.matches(domain, code), `${error} is ${domain}:${code}`);
        return;
    }
    throw new Error('no rejection');
}

async function main() {
    const names = Object.keys(tests);
    const pool = Processing.Pool.new(2, null);
    let failed = 0;

    print(`1..${names.length}`);
    for (const [i, name] of names.entries()) {
        try {
            // eslint-disable-next-line no-await-in-loop
            await tests[name](pool);
            print(`ok ${i + 1} ${name}`);
        } catch (error) {
            failed++;
            print(`not ok ${i + 1} ${name}`);
            print(`# ${error}\n# ${error.stack}`.replace(/\n/g, '\n# '));
        }
    }
    return failed;
}

const loop = new GLib.MainLoop(null, false);
let exitStatus = 1;
main().then(failed => {
    exitStatus = failed > 0 ? 1 : 0;
}).catch(error => {
    print(`# ${error}`);
}).finally(() => loop.quit());
loop.run();
System.exit(exitStatus);
