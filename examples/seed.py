#!/usr/bin/python3
# seed.py: the processing.Pool doctest, as the seed writes it
#
#   >>> pool = Pool(4)
#   >>> result = pool.apply_async(square, [4])
#   >>> result.wait(); print(result.ready(), result.successful(), result.get())
#   True True 16
#   >>> print(pool.map(square, range(10)))
#   [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]
#   >>> it = pool.imap(square, range(10))
#   >>> print(next(it)); print(next(it))
#   0
#   1
#
# The workers are this interpreter, importing this script as __mp_main__:
# the pool is made under "if __name__ == '__main__':".
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import gi

gi.require_version('Processing', '1.0')
from gi.repository.Processing import Pool  # noqa: E402


def square(x):
    return x * x


if __name__ == '__main__':
    pool = Pool(4)
    result = pool.apply_async(square, [4])
    result.wait(); print(result.ready(), result.successful(), result.get())  # noqa: E702
    print(pool.map(square, range(10)))
    it = pool.imap(square, range(10))
    print(next(it)); print(next(it))  # noqa: E702
    pool.close()
    pool.join()
