# pytap.py: runs the unittest cases of the main script and prints TAP.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import sys
import time
import traceback
import unittest


class _TAPResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.number = 0
        self._started = 0

    def _line(self, test, status, detail=None):
        self.number += 1
        name = test.id().split('.', 1)[-1]
        elapsed = time.monotonic() - self._started
        print('%s %d %s  # %.2f s' % (status, self.number, name, elapsed)
              if not status.endswith('SKIP') else
              'ok %d %s # SKIP %s' % (self.number, name, detail))
        if detail and not status.endswith('SKIP'):
            for line in detail.rstrip().splitlines():
                print('# ' + line)
        sys.stdout.flush()

    def startTest(self, test):
        super().startTest(test)
        self._started = time.monotonic()

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(test, 'ok')

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(test, 'not ok', ''.join(traceback.format_exception(*err)))

    def addError(self, test, err):
        super().addError(test, err)
        if isinstance(test, unittest.TestCase):
            self._line(test, 'not ok', ''.join(traceback.format_exception(*err)))
        else:
            # setUpClass and the like: not a case of its own.
            print('# error in %s' % test)
            for line in ''.join(traceback.format_exception(*err)).splitlines():
                print('# ' + line)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(test, 'SKIP', reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line(test, 'ok')

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line(test, 'not ok', 'unexpected success')


def _matching(suite, patterns):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _matching(test, patterns)
        elif not patterns or any(pattern in test.id() for pattern in patterns):
            yield test


def main():
    """Runs the cases of the main script, or those whose names contain
    one of the command line's arguments."""
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules['__main__'])
    suite = unittest.TestSuite(_matching(suite, sys.argv[1:]))
    print('1..%d' % suite.countTestCases())
    sys.stdout.flush()
    result = _TAPResult()
    suite.run(result)
    sys.exit(0 if result.wasSuccessful() else 1)
