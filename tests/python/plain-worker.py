#!/usr/bin/python3
# plain-worker.py: a Python worker of plain functions, for callers in any
# language (test-cross-language.c, tests/js/test-processing.js).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import sys

import gi

gi.require_version('Processing', '1.0')
from gi.repository import Processing  # noqa: E402


def square(x):
    return x * x


def concat(a, b):
    return a + b


def fail(message):
    raise ValueError(message)


def describe(value):
    return [type(value).__name__, value]


def pid():
    return os.getpid()


if __name__ == '__main__':
    sys.exit(Processing.serve())
