#!/usr/bin/python3
# mandelbrot.py: a Mandelbrot viewer that renders on a pool of worker
# processes, the Python twin of the C application one directory up
#
#   mandelbrot.py [--workers=N] [--run-once [--screenshot=FILE]]
#
# The pool's workers are this interpreter, importing this script under the
# name __mp_main__, as multiprocessing's spawn does: so nothing here starts
# GTK, or even imports it (importing Gtk connects to the display), unless
# this is the program that was run. The workers import mandelbrot_strip,
# which has the function they run and nothing of GTK.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import sys

if __name__ == '__main__':
    from mandelbrot_application import main

    sys.exit(main(sys.argv))
