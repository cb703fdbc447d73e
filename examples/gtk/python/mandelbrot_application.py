# mandelbrot_application.py: the viewer's Gtk.Application, its options, and
# --run-once
#
# --run-once renders the image once, prints how long it took and the
# longest the main loop stalled meanwhile, saves a picture of the window if
# asked to, and quits: that is how its test drives it.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import gettext
import locale
import os
import sys
import time
from gettext import gettext as _

import gi

gi.require_version('Graphene', '1.0')
gi.require_version('Gtk', '4.0')
gi.require_version('Processing', '1.0')
from gi.repository import Gio, GLib, GObject, Graphene, Gtk, Processing  # noqa: E402

from mandelbrot_strip import N_STRIPS, STRIP_ROWS, WIDTH  # noqa: E402
from mandelbrot_window import MandelbrotWindow  # noqa: E402

GETTEXT_PACKAGE = 'processing-glib-1.0'

MAX_WORKERS = 64

# --run-once watches the main loop with a timer this often: how late it
# fires is how long the loop was kept from running.
STALL_TIMER_MS = 10


def bind_translations():
    """The viewer's messages, those of the window's .ui file as well, are in
    the library's catalogs. The library binds its domain to where they are
    installed the first time one of its classes is used: here, before the
    window's template is read. Python's gettext reads the same catalogs."""
    try:
        locale.setlocale(locale.LC_ALL, '')
    except locale.Error:
        pass
    GObject.type_class_ref(Processing.Pool)
    gettext.bindtextdomain(GETTEXT_PACKAGE, locale.bindtextdomain(GETTEXT_PACKAGE, None))
    gettext.textdomain(GETTEXT_PACKAGE)


def _render_to_png(renderer, snapshot, area, filename):
    """Renders what snapshot holds, the area of it given as a Graphene.Rect,
    to a PNG file; False if it holds nothing or the file cannot be written.

    PyGObject before 3.47 cannot hold a Gsk.RenderNode, a fundamental type
    that is not a GObject: there, the node goes from GTK's snapshot to its
    renderer through ctypes, and never reaches Python."""
    if gi.version_info >= (3, 47, 0):
        node = snapshot.to_node()
        return node is not None and renderer.render_texture(node, area).save_to_png(filename)

    import ctypes

    gtk = ctypes.CDLL('libgtk-4.so.1')
    gtk.gtk_snapshot_to_node.restype = ctypes.c_void_p
    gtk.gtk_snapshot_to_node.argtypes = [ctypes.c_void_p]
    gtk.gsk_renderer_render_texture.restype = ctypes.c_void_p
    gtk.gsk_renderer_render_texture.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    gtk.gdk_texture_save_to_png.restype = ctypes.c_int
    gtk.gdk_texture_save_to_png.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    gtk.gsk_render_node_unref.argtypes = [ctypes.c_void_p]
    gtk.g_object_unref.argtypes = [ctypes.c_void_p]

    # A GObject's hash is its address; a graphene_rect_t, four floats.
    node = gtk.gtk_snapshot_to_node(hash(snapshot))
    if not node:
        return False
    rect = (ctypes.c_float * 4)(area.origin.x, area.origin.y, area.size.width, area.size.height)
    texture = gtk.gsk_renderer_render_texture(hash(renderer), node, ctypes.addressof(rect))
    saved = gtk.gdk_texture_save_to_png(texture, os.fsencode(filename))
    gtk.g_object_unref(texture)
    gtk.gsk_render_node_unref(node)
    return bool(saved)


def save_screenshot(widget, filename):
    """A picture of widget as it is drawn, as a PNG, in the widget's own
    coordinates; False if it cannot be made."""
    paintable = Gtk.WidgetPaintable.new(widget)
    snapshot = Gtk.Snapshot.new()

    # The paintable shows all the widget draws, which can reach past its
    # allocation (a window's resize border does): drawn at its own size,
    # then cut down to the allocation, it is the widget pixel for pixel.
    found, bounds = widget.compute_bounds(widget)
    if not found:
        bounds = Graphene.Rect().init(0, 0, widget.get_width(), widget.get_height())
    paintable.snapshot(snapshot, bounds.size.width, bounds.size.height)

    return _render_to_png(widget.get_native().get_renderer(), snapshot,
                          Graphene.Rect().init(-bounds.origin.x, -bounds.origin.y,
                                               widget.get_width(), widget.get_height()),
                          filename)


class MandelbrotApplication(Gtk.Application):
    def __init__(self):
        super().__init__(application_id='org.processing_glib.MandelbrotPython',
                         flags=Gio.ApplicationFlags.DEFAULT_FLAGS)
        self.add_main_option('workers', ord('w'), GLib.OptionFlags.NONE, GLib.OptionArg.INT,
                             _('The most worker processes to render with (one per processor by default)'),
                             _('N'))
        self.add_main_option('run-once', 0, GLib.OptionFlags.NONE, GLib.OptionArg.NONE,
                             _('Render once, print the longest stall of the main loop meanwhile, and quit'),
                             None)
        self.add_main_option('screenshot', 0, GLib.OptionFlags.NONE, GLib.OptionArg.FILENAME,
                             _('With --run-once: save a picture of the window to FILE, as a PNG'),
                             _('FILE'))

        self.workers = 0
        self.run_once = False
        self.screenshot = None
        self.exit_status = 0

        # --run-once
        self._window = None
        self._started_at = 0
        self._stall_timer = 0
        self._last_tick = 0
        self._longest_stall = 0

    def do_handle_local_options(self, options):
        options = options.end().unpack()
        self.workers = options.get('workers', 0)
        self.run_once = options.get('run-once', False)
        screenshot = options.get('screenshot')
        # A filename comes as bytes, without its terminating zero.
        self.screenshot = os.fsdecode(bytes(screenshot).rstrip(b'\0')) if screenshot else None

        if not 0 <= self.workers <= MAX_WORKERS:
            print(_('--workers takes a number from 1 to %d\n') % MAX_WORKERS, end='', file=sys.stderr)
            return 1

        if self.screenshot is not None and not self.run_once:
            print(_('--screenshot goes with --run-once\n'), end='', file=sys.stderr)
            return 1

        # A run of its own, even if the viewer is open already.
        if self.run_once:
            self.set_flags(self.get_flags() | Gio.ApplicationFlags.NON_UNIQUE)

        return -1   # go on

    def do_activate(self):
        window = self.get_active_window()

        if window is None:
            window = MandelbrotWindow(self, self.workers or min(os.cpu_count() or 1, MAX_WORKERS))

            if self.run_once:
                self._window = window
                window.connect('render-finished', self._on_render_finished)
                window.realize()
                window.get_frame_clock().connect('after-paint', self._on_first_frame)
            else:
                # The workers start while the window is being shown.
                window.activate_action('mandelbrot.render', None)

        window.present()

    # {{{ --run-once

    # What --run-once prints is for scripts: it is not translated.

    def _on_stall_timer(self):
        now = GLib.get_monotonic_time()
        self._longest_stall = max(self._longest_stall, now - self._last_tick - STALL_TIMER_MS * 1000)
        self._last_tick = now
        return GLib.SOURCE_CONTINUE

    def _on_first_frame(self, frame_clock):
        # The render and the timer start once the window is on screen: what
        # the timer measures is the render, not GTK drawing the window for
        # the first time.
        frame_clock.disconnect_by_func(self._on_first_frame)

        self._started_at = time.monotonic()
        self._last_tick = GLib.get_monotonic_time()
        self._stall_timer = GLib.timeout_add(STALL_TIMER_MS, self._on_stall_timer)
        self._window.activate_action('mandelbrot.render', None)

    def _on_last_frame(self, frame_clock):
        # The last strip is drawn: the picture can be taken.
        frame_clock.disconnect_by_func(self._on_last_frame)

        image = self._window.get_image_bounds()
        if not save_screenshot(self._window, self.screenshot):
            print('No screenshot: %s could not be written' % self.screenshot, file=sys.stderr)
            self.exit_status = 1
        elif image is None:
            print('No screenshot: the window has no room for the image', file=sys.stderr)
            self.exit_status = 1
        else:
            print('Screenshot: %s (image at %.0f,%.0f size %.0fx%.0f)'
                  % (self.screenshot, image.origin.x, image.origin.y,
                     image.size.width, image.size.height))

        self._window.close()

    def _on_render_finished(self, window, error):
        if self._stall_timer:
            GLib.source_remove(self._stall_timer)
            self._stall_timer = 0

        if error is not None:
            print('The render failed: %s' % (getattr(error, 'message', None) or error), file=sys.stderr)
            self.exit_status = 1
            window.close()
            return

        print('Rendered %d strips of %dx%d pixels in %.2f s'
              % (N_STRIPS, WIDTH, STRIP_ROWS, time.monotonic() - self._started_at))
        print('Longest main-loop stall: %.1f ms (a %d ms timer fired at most that late)'
              % (self._longest_stall / 1000, STALL_TIMER_MS))
        sys.stdout.flush()

        if self.screenshot is None:
            window.close()
            return

        # After the next frame, the last strip and the progress bar's last
        # words are on screen.
        window.get_frame_clock().connect('after-paint', self._on_last_frame)
        window.queue_draw()

    # }}}


def main(argv):
    bind_translations()
    application = MandelbrotApplication()
    status = application.run(argv)
    return status or application.exit_status
