# mandelbrot_strip.py: one strip of the Mandelbrot image, the function the
# pool's workers run
#
# Plain Python, and nothing of GTK: each worker imports this module to run
# render_strip(), and importing Gtk would connect it to the display.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import math
import os
from typing import NamedTuple

# The image's size in pixels, whatever part of the plane it shows: smaller
# than the C application's, and fewer iterations, as pure Python is some
# fifty times slower per point.
WIDTH = 640
HEIGHT = 480

# A point still near 0 after this many iterations is taken to be in the
# set, and painted black.
MAX_ITERATIONS = 500

# Each strip is a task: enough of them that several workers share the
# work evenly and the image fills in visibly, few enough that each is
# worth a round trip.
STRIP_ROWS = 12
N_STRIPS = (HEIGHT + STRIP_ROWS - 1) // STRIP_ROWS

# Pixels are blue, green, red and alpha, a byte each
# (Gdk.MemoryFormat.B8G8R8A8_PREMULTIPLIED), as in the C application: what
# cairo draws from as it is. They are opaque, which makes premultiplied
# alpha the same as straight.
BYTES_PER_PIXEL = 4

# Smooth colouring reads how far past the escape radius a point went: a
# radius well above 2 makes the bands between iterations vanish.
_ESCAPE_RADIUS_SQUARED = 16.0 * 16.0

# Iterations per turn of the palette, which repeats.
_PALETTE_PERIOD = 48.0

# Red, green, blue: deep blue, sky, white, gold, rust, and back to deep
# blue; never black, which is for the points in the set.
_PALETTE = (
    (0, 7, 100),
    (32, 107, 203),
    (237, 255, 255),
    (255, 170, 0),
    (140, 40, 20),
)


class View(NamedTuple):
    """The part of the complex plane the image shows: its centre, and the
    distance between two pixels."""

    center_re: float
    center_im: float
    pixel_size: float


# The whole set, with some room around it.
DEFAULT_VIEW = View(-0.75, 0.0, 3.5 / WIDTH)


def strips(view):
    """The arguments of render_strip() for each strip of the image."""
    return [(view, row, min(STRIP_ROWS, HEIGHT - row)) for row in range(0, HEIGHT, STRIP_ROWS)]


def render_strip(view, first_row, n_rows):
    """The pixels of the image's rows first_row to first_row + n_rows - 1,
    row after row: (first_row, bytes). The first row comes back too, as
    strips come back in any order."""
    left = view.center_re - view.pixel_size * WIDTH / 2
    top = view.center_im + view.pixel_size * HEIGHT / 2
    pixel_size = view.pixel_size
    log, log2, floor = math.log, math.log2, math.floor
    n_colors = len(_PALETTE)

    # Opaque black: the points in the set are left as they are.
    pixels = bytearray(b'\0\0\0\xff' * (WIDTH * n_rows))
    offset = 0
    for row in range(first_row, first_row + n_rows):
        ci = top - row * pixel_size
        ci2 = ci * ci
        for column in range(WIDTH):
            cr = left + column * pixel_size

            # The main cardioid and the disc to its left are in the set:
            # most of the black, and the most iterations, skipped.
            x = cr - 0.25
            q = x * x + ci2
            if q * (q + x) <= 0.25 * ci2 or (cr + 1) * (cr + 1) + ci2 <= 0.0625:
                offset += BYTES_PER_PIXEL
                continue

            zr = zi = zr2 = zi2 = 0.0
            n = 0
            while n < MAX_ITERATIONS and zr2 + zi2 <= _ESCAPE_RADIUS_SQUARED:
                zi = 2 * zr * zi + ci
                zr = zr2 - zi2 + cr
                zr2 = zr * zr
                zi2 = zi * zi
                n += 1

            if n < MAX_ITERATIONS:
                # The iteration count, made continuous by how far past the
                # radius z went: n + 1 - log2 (log |z|).
                smooth = max(0.0, n + 1 - log2(0.5 * log(zr2 + zi2)))
                position = (smooth / _PALETTE_PERIOD) % 1.0 * n_colors
                stop = int(position) % n_colors
                fraction = position - floor(position)
                red, green, blue = _PALETTE[stop]
                next_red, next_green, next_blue = _PALETTE[(stop + 1) % n_colors]
                pixels[offset] = int(blue + fraction * (next_blue - blue) + 0.5)
                pixels[offset + 1] = int(green + fraction * (next_green - green) + 0.5)
                pixels[offset + 2] = int(red + fraction * (next_red - red) + 0.5)
            offset += BYTES_PER_PIXEL

    return first_row, bytes(pixels)


def lower_priority(niceness):
    """Runs first in each worker (the pool's initializer): workers give way
    to the window, or with as many busy workers as processors, the window's
    frames would wait their turn."""
    try:
        os.nice(niceness)
    except OSError:
        pass
