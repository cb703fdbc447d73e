// seed.js: the processing.Pool doctest, in gjs
//
//   >>> pool = Pool(4)
//   >>> result = pool.apply_async(square, [4])
//   >>> result.wait(); print(result.ready(), result.successful(), result.get())
//   True True 16
//   >>> print(pool.map(square, range(10)))
//   [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]
//   >>> it = pool.imap(square, range(10))
//   >>> print(next(it)); print(next(it))
//   0
//   1
//
// Run it with `gjs -m examples/seed.js` (it imports processing.js from the
// source tree; installed, the module is in
// `pkg-config --variable=jsmoduledir processing-glib-1.0`). The script is
// its own worker: the pool starts it again, and Worker.isRequested() tells
// it to serve "square" instead.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import System from 'system';
import {Pool, Worker} from '../introspection/processing.js';

const worker = new Worker();
worker.addFunction('square', x => x * x);
if (Worker.isRequested())
    System.exit(worker.run() ? 0 : 1);

const range = n => [...Array(n).keys()];
const python = value => typeof value === 'boolean' ? (value ? 'True' : 'False') : String(value);

const pool = new Pool(4);
const result = pool.applyAsync('square', [4]);
result.wait();
print(python(result.ready()), python(result.successful()), result.get());
print(`[${(await pool.map('square', range(10))).join(', ')}]`);
const it = pool.imap('square', range(10));
print((await it.next()).value);
print((await it.next()).value);

pool.close();
pool.join();
