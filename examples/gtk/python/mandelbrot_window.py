# mandelbrot_window.py: the window, which renders with a pool of workers
#
# The image is cut into strips, each a call of render_strip() in a worker,
# made with Pool.apply_async(). As a worker finishes a strip, its callback
# hands the strip to the main loop, where the window copies its pixels
# into the image and moves the progress bar, and that is all the work the
# main loop does. Nothing here blocks, so the window stays responsive while
# the workers are busy.
#
# The window is the C application's: the same mandelbrot-window.ui.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import functools
import os
import sys
import time
from gettext import gettext as _, ngettext

import gi

gi.require_version('Gdk', '4.0')
gi.require_version('Graphene', '1.0')
gi.require_version('Gtk', '4.0')
gi.require_version('Processing', '1.0')
from gi.repository import Gdk, Gio, GLib, GObject, Graphene, Gtk  # noqa: E402
from gi.repository.Processing import CancelledError, Pool  # noqa: E402

import mandelbrot_strip  # noqa: E402
from mandelbrot_strip import BYTES_PER_PIXEL, HEIGHT, WIDTH  # noqa: E402

STRIDE = WIDTH * BYTES_PER_PIXEL

# Workers idle for this long exit, and the next render starts them again:
# a viewer left open holds no processes it does not use.
WORKER_IDLE_TIMEOUT_USEC = 60 * 1000000

# Workers run this much nicer than the window (see lower_priority()).
WORKER_NICENESS = 10

# Zooming in further than this shows the limits of double precision.
SMALLEST_PIXEL_SIZE = 1e-13

UI_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, 'mandelbrot-window.ui')


def _template():
    # PyGObject connects no handler declared swapped="yes", as the C
    # application's are (they take the window first): here, each handler
    # is the window's method, and takes the widget that emits the signal.
    with open(UI_FILE, encoding='utf-8') as ui:
        return ui.read().replace(' swapped="yes"', '')


class _Render:
    """One render: its strips, those that came back, and the first that failed."""

    def __init__(self, n_strips):
        self.results = []
        self.total = n_strips
        self.completed = 0
        self.error = None
        self.started_at = time.monotonic()


@Gtk.Template(string=_template())
class MandelbrotWindow(Gtk.ApplicationWindow):
    """The viewer's window, with its pool of workers. Its action
    mandelbrot.render renders the image, mandelbrot.cancel cancels that."""

    __gtype_name__ = 'MandelbrotWindow'

    __gsignals__ = {
        # A render ended: with None if every strip was drawn, or with why
        # not (CancelledError if it was cancelled, by the user or by
        # another render).
        'render-finished': (GObject.SignalFlags.RUN_LAST, None, (object,)),
    }

    picture = Gtk.Template.Child()
    progress = Gtk.Template.Child()
    workers = Gtk.Template.Child()

    def __init__(self, application, workers):
        super().__init__(application=application)

        self._pool = None
        self._pool_error = None     # why there is no pool
        self._view = mandelbrot_strip.DEFAULT_VIEW
        self._pixels = bytearray(STRIDE * HEIGHT)    # transparent where no strip came yet
        self._render = None         # the render under way, if any

        actions = Gio.SimpleActionGroup()
        for name, activate in (('render', self._on_render), ('cancel', self._on_cancel)):
            action = Gio.SimpleAction.new(name, None)
            action.connect('activate', activate)
            actions.add_action(action)
        self._cancel_action = actions.lookup_action('cancel')
        self._cancel_action.set_enabled(False)
        self.insert_action_group('mandelbrot', actions)

        shortcuts = Gtk.ShortcutController()
        for trigger, action_name in (('<Control>r', 'mandelbrot.render'),
                                     ('Escape', 'mandelbrot.cancel')):
            shortcuts.add_shortcut(Gtk.Shortcut.new(Gtk.ShortcutTrigger.parse_string(trigger),
                                                    Gtk.NamedAction.new(action_name)))
        self.add_controller(shortcuts)

        self.connect('close-request', self._on_close_request)

        # Sets the pool up, through on_workers_changed(), unless the value
        # is the spin button's already.
        self.workers.set_value(workers)
        self._replace_pool(self.workers.get_value_as_int())

    # {{{ The pool

    def _replace_pool(self, workers):
        # Pool(processes=N) is fixed when the pool is made: another number
        # of workers is another pool.
        if self._pool is not None and self._pool.props.processes == workers:
            return

        # The old pool's workers are killed at once: a render under way on
        # it has been cancelled (on_workers_changed() renders again).
        self._drop_pool()
        try:
            # The workers are this interpreter, importing the main script
            # and, to unpickle render_strip(), mandelbrot_strip: none of
            # them starts GTK.
            self._pool = Pool(workers,
                              initializer=mandelbrot_strip.lower_priority,
                              initargs=(WORKER_NICENESS,),
                              idle_timeout=WORKER_IDLE_TIMEOUT_USEC)
        except GLib.Error as error:
            self._pool_error = error
            self.progress.set_text(error.message)

    def _drop_pool(self):
        if self._pool is not None:
            self._pool.terminate()
        self._pool = None
        self._pool_error = None

    # }}}
    # {{{ Rendering

    def _show_progress(self):
        render = self._render
        # Translators: the strips of the image that have been rendered so far.
        text = ngettext('%u of %u strip', '%u of %u strips', render.total) % (render.completed, render.total)
        self.progress.set_text(text)
        self.progress.set_fraction(render.completed / render.total)

    def _draw_strip(self, first_row, pixels):
        """Copies a strip into the image, and shows the image."""
        start = first_row * STRIDE
        if (first_row < 0 or len(pixels) % STRIDE != 0 or
                len(pixels) // STRIDE > HEIGHT - first_row):
            print('A strip of %d bytes from row %d does not fit the image' % (len(pixels), first_row),
                  file=sys.stderr)
            return
        self._pixels[start:start + len(pixels)] = pixels

        # A texture never changes: each strip makes a new one, from a copy
        # of the whole image. That is a megabyte copied at once, not work
        # per pixel, and GTK draws it no sooner than the next frame. The
        # copy is a bytes object: PyGObject copies a bytearray into a
        # GLib.Bytes item by item, fifty times slower.
        texture = Gdk.MemoryTexture.new(WIDTH, HEIGHT, Gdk.MemoryFormat.B8G8R8A8_PREMULTIPLIED,
                                        GLib.Bytes.new(bytes(self._pixels)), STRIDE)
        self.picture.set_paintable(texture)

    def _finish_render(self, error):
        """Ends the render under way, with error if it did not complete."""
        render, self._render = self._render, None
        if error is None:
            seconds = time.monotonic() - render.started_at
            workers = self._pool.props.processes
            # Translators: how long a render took, and with how many workers.
            text = ngettext('Rendered in %.1f s with %u worker',
                            'Rendered in %.1f s with up to %u workers', workers) % (seconds, workers)
            self.progress.set_fraction(1)
        else:
            # A GLib.Error's message, or a Python exception's text.
            text = getattr(error, 'message', None) or str(error)
        self.progress.set_text(text)
        self._cancel_action.set_enabled(False)

        self.emit('render-finished', error)

    def _cancel_strips(self):
        # Strips that wait for a worker never run; a strip running goes on
        # to its end in its worker (a Python function does not see the
        # cancellation), a few tens of milliseconds, and is not drawn.
        for result in self._render.results:
            result.cancel()

    def cancel_render(self):
        if self._render is None:
            return

        self._cancel_strips()
        self._finish_render(CancelledError(_('Cancelled')))

    # The callbacks of apply_async() run in a thread of the pool, where
    # GTK must not be touched. GLib.idle_add() is safe from any thread,
    # and the usual way to hand work to GTK's main loop: it wakes the loop
    # at once, and the strip is drawn after whatever input and frames are
    # waiting, at idle priority. Polling an imap_unordered() iterator with
    # a timer instead would wake the loop when no strip has come, and
    # leave each strip waiting up to the timer's period.
    def _strip_done(self, render, strip):
        GLib.idle_add(self._on_strip, render, strip, None)

    def _strip_failed(self, render, error):
        GLib.idle_add(self._on_strip, render, None, error)

    def _on_strip(self, render, strip, error):
        # A render that was cancelled or replaced since, or a window
        # closed: nothing to draw on.
        if render is not self._render:
            return GLib.SOURCE_REMOVE

        render.completed += 1
        if strip is not None:
            self._draw_strip(*strip)
        elif render.error is None:
            render.error = error     # the other strips still come

        if render.completed == render.total:
            self._finish_render(render.error)
        else:
            self._show_progress()
        return GLib.SOURCE_REMOVE

    def render(self):
        # A render under way gives way to this one.
        self.cancel_render()

        # A pool that could not start a worker is tried again; without
        # one, there is only why.
        if self._pool is None:
            self._replace_pool(self.workers.get_value_as_int())
        if self._pool is None:
            self.emit('render-finished', self._pool_error)
            return

        # One task per strip, handed back in the order they finish: each
        # is drawn as soon as any worker is done with it.
        strips = mandelbrot_strip.strips(self._view)
        render = self._render = _Render(len(strips))
        for args in strips:
            render.results.append(self._pool.apply_async(
                mandelbrot_strip.render_strip, args,
                callback=functools.partial(self._strip_done, render),
                error_callback=functools.partial(self._strip_failed, render)))

        self._show_progress()
        self._cancel_action.set_enabled(True)

    # }}}
    # {{{ Where the image is

    def _get_image_rect(self):
        """The image's rectangle in the picture, or None. The picture has
        the image's size (see the .ui file); were it let shrink or grow, it
        would scale the image to fit, keeping its aspect ratio, and centre
        it: so does this."""
        width = self.picture.get_width()
        height = self.picture.get_height()
        scale = min(width / WIDTH, height / HEIGHT)
        if not scale > 0:
            return None
        return Graphene.Rect().init((width - WIDTH * scale) / 2, (height - HEIGHT * scale) / 2,
                                    WIDTH * scale, HEIGHT * scale)

    def get_image_bounds(self):
        """Where the image is, in the window's coordinates, as a
        Graphene.Rect; None if the window has no room for it yet."""
        rect = self._get_image_rect()
        if rect is None:
            return None
        found, origin = self.picture.compute_point(self, rect.origin)
        if not found:
            return None
        return Graphene.Rect().init(origin.x, origin.y, rect.size.width, rect.size.height)

    # }}}
    # {{{ Controls

    def _on_render(self, action, parameter):
        self.render()

    def _on_cancel(self, action, parameter):
        self.cancel_render()

    @Gtk.Template.Callback()
    def on_workers_changed(self, spin_button):
        rendering = self._render is not None
        self.cancel_render()
        self._replace_pool(spin_button.get_value_as_int())

        # A render under way starts again, with the new pool.
        if rendering:
            self.render()

    @Gtk.Template.Callback()
    def on_picture_pressed(self, gesture, n_press, x, y):
        """Click: zoom in, twice as close, centred on that point;
        right-click: zoom out as much."""
        image = self._get_image_rect()
        if image is None or not image.contains_point(Graphene.Point().init(x, y)):
            return

        view = self._view
        column = (x - image.origin.x) / image.size.width * WIDTH
        row = (y - image.origin.y) / image.size.height * HEIGHT
        center_re = view.center_re + (column - WIDTH / 2) * view.pixel_size
        center_im = view.center_im - (row - HEIGHT / 2) * view.pixel_size
        if gesture.get_current_button() == Gdk.BUTTON_SECONDARY:
            pixel_size = min(view.pixel_size * 2, mandelbrot_strip.DEFAULT_VIEW.pixel_size)
        else:
            pixel_size = max(view.pixel_size / 2, SMALLEST_PIXEL_SIZE)
        self._view = mandelbrot_strip.View(center_re, center_im, pixel_size)

        self.render()

    def _on_close_request(self, window):
        # Strips still running stop with their workers; those on their way
        # back find no render to draw on. (A window that Python still
        # holds is never disposed: it stops its work here, as it closes.)
        if self._render is not None:
            self._cancel_strips()
            self._render = None
        self._drop_pool()
        return False     # close

    # }}}
