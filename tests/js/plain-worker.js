// plain-worker.js: a gjs worker of plain functions, for callers in any
// language (test-cross-language.c). Run with gjs -m.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import System from 'system';
import {Worker} from '../../introspection/processing.js';

const worker = new Worker();
worker.addFunction('square', x => x * x);
worker.addFunction('concat', (a, b) => a + b);
worker.addFunction('fail', message => {
    throw new Error(message);
});
worker.addFunction('echo', value => value);
System.exit(worker.run() ? 0 : 1);
