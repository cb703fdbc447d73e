#!/usr/bin/python3
# test-mandelbrot.py: runs the Python Mandelbrot viewer once and checks the
# picture of its window, that its workers never import GTK, and that its
# Cancel action cancels the strips still waiting; prints TAP
#
#   xvfb-run -a test-mandelbrot.py PATH-TO-MANDELBROT.PY
#
# The viewer needs a display, which xvfb-run gives it; this program starts
# it with --run-once --screenshot, passes on what it prints (the longest
# stall of its main loop among it: a figure, never a verdict), and reads
# the PNG with GdkPixbuf, which needs no display. The expected pixels come
# from mandelbrot_strip, the workers' module, which has nothing of GTK:
# this program never imports Gtk, only the programs it starts do.
#
# Skipped when PyGObject or the typelib of GTK 4 or GdkPixbuf is missing.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import subprocess
import sys
import tempfile
import textwrap
import traceback

# Points of the plane far from the set's boundary, whichever side.
INSIDE_POINTS = [(-0.2, 0.0), (-1.0, 0.0), (-0.1, 0.5), (0.1, -0.3)]
OUTSIDE_POINTS = [(0.6, 0.6), (-2.2, 1.1), (0.6, -0.9), (-1.8, -0.9)]


def comment(text):
    for line in str(text).splitlines():
        print('# ' + line)
    sys.stdout.flush()


def skip_all(reason):
    print('1..0 # SKIP ' + reason)
    sys.exit(0)


try:
    import gi
except ImportError:
    skip_all('PyGObject (python3-gi) is missing')
try:
    # Found, not imported: importing Gtk would connect to the display.
    gi.require_version('Gtk', '4.0')
    gi.require_version('GdkPixbuf', '2.0')
except ValueError as error:
    skip_all('%s (gir1.2-gtk-4.0)' % error)
from gi.repository import GdkPixbuf  # noqa: E402

if len(sys.argv) != 2:
    print('Usage: %s PATH-TO-MANDELBROT.PY' % sys.argv[0], file=sys.stderr)
    sys.exit(2)
MANDELBROT = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.dirname(MANDELBROT))
import mandelbrot_strip  # noqa: E402
from mandelbrot_strip import BYTES_PER_PIXEL, HEIGHT, WIDTH  # noqa: E402


class State:
    directory = tempfile.TemporaryDirectory(prefix='test-mandelbrot-python-')
    screenshot_path = os.path.join(directory.name, 'mandelbrot.png')
    image = None          # (x, y, width, height): where the viewer says the image is
    screenshot = None     # GdkPixbuf.Pixbuf


def run_python(*args, code=None):
    """This Python, with args, or with code (-c); its output."""
    command = [sys.executable] + (['-c', code] if code is not None else []) + list(args)
    process = subprocess.run(command, capture_output=True, text=True, timeout=25)
    for line in process.stdout.splitlines():
        comment(line)
    if process.stderr:
        comment('stderr: ' + process.stderr)
    return process


def test_workers_without_gtk():
    # What a worker does before it runs anything, with the path of the
    # program that made the pool: it imports the main script as
    # __mp_main__, then, to unpickle render_strip(), mandelbrot_strip.
    # Neither may import Gtk.
    process = run_python(MANDELBROT, code=textwrap.dedent('''
        import os, runpy, sys
        sys.path.insert(0, os.path.dirname(sys.argv[1]))
        import gi
        gi.require_version('Processing', '1.0')
        from gi.repository import Processing
        runpy.run_path(sys.argv[1], run_name='__mp_main__')
        import mandelbrot_strip
        loaded = sorted(name for name in sys.modules if name.startswith('gi.repository.'))
        print('A worker has', ', '.join(loaded))
        sys.exit('gi.repository.Gtk' in loaded or 'gi.repository.Gdk' in loaded)
    '''))
    assert process.returncode == 0, 'a worker imports GTK'


def test_run_once():
    process = run_python(MANDELBROT, '--run-once', '--screenshot', State.screenshot_path)
    assert process.returncode == 0, 'exit status %d' % process.returncode
    assert 'Longest main-loop stall: ' in process.stdout

    geometry = process.stdout[process.stdout.index('(image at '):]
    where, size = geometry[len('(image at '):geometry.index(')')].split(' size ')
    x, y = (float(value) for value in where.split(','))
    width, height = (float(value) for value in size.split('x'))
    State.image = (x, y, width, height)
    assert width > WIDTH / 8


def test_screenshot():
    pixbuf = GdkPixbuf.Pixbuf.new_from_file(State.screenshot_path)
    comment('the window: %dx%d' % (pixbuf.get_width(), pixbuf.get_height()))
    x, y, width, height = State.image
    assert x + width <= pixbuf.get_width() + 1
    assert y + height <= pixbuf.get_height() + 1
    assert pixbuf.get_bits_per_sample() == 8 and pixbuf.get_n_channels() in (3, 4)
    State.screenshot = pixbuf


def rgb_at(x, y):
    """The red, green and blue of the screenshot at pixel x, y."""
    pixbuf = State.screenshot
    assert 0 <= x < pixbuf.get_width() and 0 <= y < pixbuf.get_height()
    offset = int(y) * pixbuf.get_rowstride() + int(x) * pixbuf.get_n_channels()
    return tuple(pixbuf.get_pixels()[offset:offset + 3])


def test_pixels_exact():
    # The image is drawn at its own size: each pixel on screen is the one
    # a worker computed, which this program computes again.
    x, y, width, height = State.image
    assert (width, height) == (WIDTH, HEIGHT)
    for k in range(16):
        column = 25 + k * (WIDTH - 50) // 16
        row = 20 + k * (HEIGHT - 40) // 16
        first_row, pixels = mandelbrot_strip.render_strip(mandelbrot_strip.DEFAULT_VIEW, row, 1)
        assert first_row == row and len(pixels) == WIDTH * BYTES_PER_PIXEL
        blue, green, red = pixels[column * BYTES_PER_PIXEL:column * BYTES_PER_PIXEL + 3]
        seen = rgb_at(x + column, y + row)
        assert seen == (red, green, blue), 'at %d,%d: %s, not %s' % (column, row, seen, (red, green, blue))


def rgb_of_point(re, im):
    view = mandelbrot_strip.DEFAULT_VIEW
    left = view.center_re - view.pixel_size * WIDTH / 2
    top = view.center_im + view.pixel_size * HEIGHT / 2
    x, y, width, height = State.image
    rgb = rgb_at(x + (re - left) / view.pixel_size * width / WIDTH,
                 y + (top - im) / view.pixel_size * height / HEIGHT)
    comment('%g%+gi: %d %d %d' % (re, im, *rgb))
    return rgb


def test_inside_black():
    for re, im in INSIDE_POINTS:
        assert max(rgb_of_point(re, im)) <= 8


def test_outside_colored():
    for re, im in OUTSIDE_POINTS:
        assert max(rgb_of_point(re, im)) >= 64


# Renders with one worker, and activates the Cancel button's action as
# soon as the first strip is drawn; then waits, in the main loop, until
# every strip's result is ready, and prints what they came to.
CANCEL_DRIVER = textwrap.dedent('''
    import sys
    sys.path.insert(0, sys.argv[1])

    import gi
    gi.require_version('Gtk', '4.0')
    gi.require_version('Processing', '1.0')
    from gi.repository import Gio, GLib, Gtk
    from gi.repository.Processing import CancelledError, Pool
    from mandelbrot_window import MandelbrotWindow

    results = []
    apply_async = Pool.apply_async

    def recording_apply_async(self, *args, **kwargs):
        results.append(apply_async(self, *args, **kwargs))
        return results[-1]

    Pool.apply_async = recording_apply_async

    def on_activate(application):
        window = MandelbrotWindow(application, 1)

        def on_fraction(progress, pspec):
            if 0 < progress.get_fraction() < 1:
                progress.disconnect_by_func(on_fraction)
                window.activate_action('mandelbrot.cancel', None)

        def on_render_finished(window, error):
            print('render-finished:', type(error).__name__, window.progress.get_text())
            GLib.timeout_add(10, when_all_ready, window, GLib.get_monotonic_time())

        def when_all_ready(window, since):
            if not all(result.ready() for result in results):
                return GLib.get_monotonic_time() - since < 30 * 1000000
            outcomes = []
            for result in results:
                try:
                    result.get()
                    outcomes.append('done')
                except CancelledError:
                    outcomes.append('cancelled')
            print('strips:', len(results), 'done:', outcomes.count('done'),
                  'cancelled:', outcomes.count('cancelled'))
            window.close()
            return False

        window.progress.connect('notify::fraction', on_fraction)
        window.connect('render-finished', on_render_finished)
        window.present()
        window.render()

    application = Gtk.Application(application_id='org.processing_glib.MandelbrotPythonTest',
                                  flags=Gio.ApplicationFlags.NON_UNIQUE)
    application.connect('activate', on_activate)
    sys.exit(application.run([]))
''')


def test_cancel():
    # Strips that wait for a worker never run: each fails with
    # CancelledError, none is left waiting.
    process = run_python(os.path.dirname(MANDELBROT), code=CANCEL_DRIVER)
    assert process.returncode == 0, 'exit status %d' % process.returncode
    assert 'render-finished: CancelledError Cancelled' in process.stdout
    counts = process.stdout[process.stdout.index('strips: '):].split()
    strips, done, cancelled = int(counts[1]), int(counts[3]), int(counts[5])
    assert strips == mandelbrot_strip.N_STRIPS
    assert done >= 1 and cancelled >= 1 and done + cancelled == strips


# In this order: each case uses what the one before found.
CASES = [
    ('/mandelbrot-python/workers-without-gtk', test_workers_without_gtk),
    ('/mandelbrot-python/run-once', test_run_once),
    ('/mandelbrot-python/screenshot', test_screenshot),
    ('/mandelbrot-python/pixels-exact', test_pixels_exact),
    ('/mandelbrot-python/inside-black', test_inside_black),
    ('/mandelbrot-python/outside-colored', test_outside_colored),
    ('/mandelbrot-python/cancel', test_cancel),
]


def main():
    print('1..%d' % len(CASES))
    failed = 0
    for number, (name, case) in enumerate(CASES, 1):
        try:
            case()
        except Exception:
            failed += 1
            comment(traceback.format_exc())
            print('not ok %d %s' % (number, name))
        else:
            print('ok %d %s' % (number, name))
        sys.stdout.flush()
    State.directory.cleanup()
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
