/* mandelbrot-window.c: the window, which renders with a pool of workers
 *
 * The image is cut into strips, one task each, sent to a #PPool with
 * p_pool_imap_unordered(). p_map_iter_next_async() hands each strip back
 * in this thread's main loop as soon as a worker has finished it: the
 * window copies its pixels into the image and moves the progress bar, and
 * that is all the work the main loop does. Nothing here blocks, so the
 * window stays responsive while the workers are busy.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <glib/gi18n.h>
#include <processing-glib/processing-glib.h>

#include "mandelbrot-strip.h"
#include "mandelbrot-window.h"

#define IMAGE_STRIDE ((gsize) MANDELBROT_WIDTH * MANDELBROT_BYTES_PER_PIXEL)
#define IMAGE_SIZE   (IMAGE_STRIDE * MANDELBROT_HEIGHT)

/* Workers idle for this long exit, and the next render starts them again:
 * a viewer left open holds no processes it does not use. */
#define WORKER_IDLE_TIMEOUT_USEC ((gint64) 60 * G_USEC_PER_SEC)

/* Zooming in further than this shows the limits of double precision. */
#define SMALLEST_PIXEL_SIZE 1e-13

struct _MandelbrotWindow
{
  GtkApplicationWindow parent_instance;

  GtkPicture *picture;
  GtkProgressBar *progress;
  GtkSpinButton *workers;

  PPool *pool;
  GError *pool_error;        /* why there is no pool */
  MandelbrotView view;
  guint8 *pixels;            /* the image so far: transparent where no strip came yet */

  /* The render under way, if any. */
  PMapIter *strips;
  GCancellable *cancellable;
  GError *strip_error;       /* the first strip that failed */
  gint64 started_at;
};

enum {
  RENDER_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (MandelbrotWindow, mandelbrot_window, GTK_TYPE_APPLICATION_WINDOW)

/* {{{ The pool */

/* PPool:processes, the most workers a pool runs, is fixed when the pool is
 * made: another number of workers is another pool. A render still under
 * way keeps the old pool alive until it ends. */
static void
replace_pool (MandelbrotWindow *self,
              guint             workers)
{
  if (self->pool != NULL && p_pool_get_processes (self->pool) == workers)
    return;

  /* Making a pool, or dropping an idle one, takes a few milliseconds in
   * this thread: fine for a control turned now and then. */
  g_clear_object (&self->pool);
  g_clear_error (&self->pool_error);
  /* A NULL PPool:worker-argv starts this program again as the workers:
   * main() sends them to mandelbrot_strip_run() before GTK starts. */
  self->pool = g_initable_new (P_TYPE_POOL, NULL, &self->pool_error,
                               "processes", workers,
                               "idle-timeout", WORKER_IDLE_TIMEOUT_USEC,
                               NULL);
  if (self->pool == NULL)
    gtk_progress_bar_set_text (self->progress, self->pool_error->message);
}

/* }}} */
/* {{{ Rendering */

static void
show_progress (MandelbrotWindow *self)
{
  guint completed = p_map_iter_get_completed (self->strips);
  guint total = p_map_iter_get_total (self->strips);
  g_autofree char *text = NULL;

  /* Translators: the strips of the image that have been rendered so far. */
  text = g_strdup_printf (ngettext ("%u of %u strip", "%u of %u strips", total), completed, total);
  gtk_progress_bar_set_text (self->progress, text);
  gtk_progress_bar_set_fraction (self->progress, total > 0 ? (double) completed / total : 0);
}

/* Copies a strip into the image, and shows the image. */
static void
draw_strip (MandelbrotWindow *self,
            GVariant         *strip)
{
  g_autoptr(GVariant) pixels = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  const guint8 *data;
  guint32 first_row;
  gsize size;

  /* The worker is this very program, but what does not fit the image is
   * still not copied into it. */
  if (!g_variant_is_of_type (strip, G_VARIANT_TYPE (MANDELBROT_STRIP_RESULT_TYPE)))
    {
      g_warning ("A strip is a %s, not a %s", MANDELBROT_STRIP_RESULT_TYPE, g_variant_get_type_string (strip));
      return;
    }

  g_variant_get (strip, "(u@ay)", &first_row, &pixels);
  data = g_variant_get_fixed_array (pixels, &size, 1);
  if (first_row >= MANDELBROT_HEIGHT ||
      size % IMAGE_STRIDE != 0 ||
      size / IMAGE_STRIDE > MANDELBROT_HEIGHT - first_row)
    {
      g_warning ("A strip of %" G_GSIZE_FORMAT " bytes from row %u does not fit the image", size, first_row);
      return;
    }

  memcpy (self->pixels + first_row * IMAGE_STRIDE, data, size);

  /* A texture never changes: each strip makes a new one, from a copy of
   * the whole image. That is a few megabytes copied at once, not work per
   * pixel, and GTK draws it no sooner than the next frame. */
  bytes = g_bytes_new (self->pixels, IMAGE_SIZE);
  texture = gdk_memory_texture_new (MANDELBROT_WIDTH, MANDELBROT_HEIGHT,
                                    GDK_MEMORY_B8G8R8A8_PREMULTIPLIED, bytes, IMAGE_STRIDE);
  gtk_picture_set_paintable (self->picture, GDK_PAINTABLE (texture));
}

/* Ends the render under way, with @error (taken) if it did not complete. */
static void
finish_render (MandelbrotWindow *self,
               GError           *error)
{
  g_autoptr(GError) owned_error = error;
  g_autofree char *text = NULL;

  if (error == NULL)
    {
      double seconds = (g_get_monotonic_time () - self->started_at) / (double) G_USEC_PER_SEC;
      guint workers = p_pool_get_processes (self->pool);

      /* Translators: how long a render took, and with how many workers. */
      text = g_strdup_printf (ngettext ("Rendered in %.1f s with %u worker",
                                        "Rendered in %.1f s with up to %u workers", workers),
                              seconds, workers);
      gtk_progress_bar_set_fraction (self->progress, 1);
    }

  gtk_progress_bar_set_text (self->progress, text != NULL ? text : error->message);

  g_clear_object (&self->strips);
  g_clear_object (&self->cancellable);
  g_clear_error (&self->strip_error);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "mandelbrot.cancel", FALSE);

  g_signal_emit (self, signals[RENDER_FINISHED], 0, error);
}

static void
cancel_render (MandelbrotWindow *self)
{
  if (self->strips == NULL)
    return;

  /* Strips that wait for a worker never run; those running see their
   * cancellable cancelled in their worker, and stop at their next row. */
  g_cancellable_cancel (self->cancellable);
  finish_render (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Cancelled")));
}

static void
on_next_strip (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(MandelbrotWindow) self = user_data;
  PMapIter *strips = P_MAP_ITER (source);
  g_autoptr(GVariant) strip = NULL;
  g_autoptr(GError) error = NULL;

  strip = p_map_iter_next_finish (strips, result, &error);

  /* A render that was cancelled or replaced since, or a window closed:
   * nothing to draw on. */
  if (strips != self->strips)
    return;

  if (strip == NULL && error == NULL)
    {
      /* Every strip is in, or failed. */
      finish_render (self, g_steal_pointer (&self->strip_error));
      return;
    }

  if (strip != NULL)
    draw_strip (self, strip);
  else if (self->strip_error == NULL)
    self->strip_error = g_steal_pointer (&error);   /* the other strips still come */

  show_progress (self);
  p_map_iter_next_async (strips, self->cancellable, on_next_strip, g_object_ref (self));
}

static void
render (MandelbrotWindow *self)
{
  g_auto(GVariantBuilder) items = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a" MANDELBROT_STRIP_ARGS_TYPE));

  /* A render under way gives way to this one. */
  cancel_render (self);

  /* A pool that could not start a worker is tried again; without one,
   * there is only why. */
  if (self->pool == NULL)
    replace_pool (self, gtk_spin_button_get_value_as_int (self->workers));
  if (self->pool == NULL)
    {
      g_signal_emit (self, signals[RENDER_FINISHED], 0, self->pool_error);
      return;
    }

  for (guint row = 0; row < MANDELBROT_HEIGHT; row += MANDELBROT_STRIP_ROWS)
    g_variant_builder_add_value (&items, mandelbrot_strip_args (&self->view, row,
                                                                MIN (MANDELBROT_STRIP_ROWS,
                                                                     MANDELBROT_HEIGHT - row)));

  /* One task per strip (a chunk size of 1), handed back in the order they
   * finish: each is drawn as soon as any worker is done with it. */
  self->cancellable = g_cancellable_new ();
  self->strips = p_pool_imap_unordered (self->pool, MANDELBROT_STRIP_FUNCTION,
                                        g_variant_builder_end (&items), 1, self->cancellable);
  self->started_at = g_get_monotonic_time ();

  show_progress (self);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "mandelbrot.cancel", TRUE);

  /* The same cancellable: cancelling the render also fails this call at
   * once, rather than when the workers have stopped. */
  p_map_iter_next_async (self->strips, self->cancellable, on_next_strip, g_object_ref (self));
}

/* }}} */
/* {{{ Where the image is */

/* The image's rectangle in the picture. The picture has the image's size
 * (see the .ui file); were it let shrink or grow, it would scale the image
 * to fit, keeping its aspect ratio, and centre it: so does this. */
static gboolean
get_image_rect (MandelbrotWindow *self,
                graphene_rect_t  *rect)
{
  double width = gtk_widget_get_width (GTK_WIDGET (self->picture));
  double height = gtk_widget_get_height (GTK_WIDGET (self->picture));
  double scale = MIN (width / MANDELBROT_WIDTH, height / MANDELBROT_HEIGHT);

  if (!(scale > 0))
    return FALSE;

  graphene_rect_init (rect,
                      (width - MANDELBROT_WIDTH * scale) / 2,
                      (height - MANDELBROT_HEIGHT * scale) / 2,
                      MANDELBROT_WIDTH * scale,
                      MANDELBROT_HEIGHT * scale);
  return TRUE;
}

/**
 * mandelbrot_window_get_image_bounds:
 * @self: a #MandelbrotWindow
 * @bounds: (out): where the image is, in the window's coordinates
 *
 * Returns: %FALSE if the window has no room for the image yet
 */
gboolean
mandelbrot_window_get_image_bounds (MandelbrotWindow *self,
                                    graphene_rect_t  *bounds)
{
  graphene_point_t origin;

  g_return_val_if_fail (MANDELBROT_IS_WINDOW (self), FALSE);

  if (!get_image_rect (self, bounds) ||
      !gtk_widget_compute_point (GTK_WIDGET (self->picture), GTK_WIDGET (self), &bounds->origin, &origin))
    return FALSE;

  bounds->origin = origin;
  return TRUE;
}

/* }}} */
/* {{{ Controls */

static void
render_activated (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  render (MANDELBROT_WINDOW (widget));
}

static void
cancel_activated (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  cancel_render (MANDELBROT_WINDOW (widget));
}

static void
on_workers_changed (MandelbrotWindow *self,
                    GtkSpinButton    *spin_button)
{
  replace_pool (self, gtk_spin_button_get_value_as_int (spin_button));

  /* A render under way starts again, with the new pool. */
  if (self->strips != NULL)
    render (self);
}

/* Click: zoom in, twice as close, centred on that point; right-click:
 * zoom out as much. */
static void
on_picture_pressed (MandelbrotWindow *self,
                    int               n_press,
                    double            x,
                    double            y,
                    GtkGestureClick  *gesture)
{
  graphene_rect_t image;
  double column, row;

  if (!get_image_rect (self, &image) ||
      !graphene_rect_contains_point (&image, &GRAPHENE_POINT_INIT (x, y)))
    return;

  column = (x - image.origin.x) / image.size.width * MANDELBROT_WIDTH;
  row = (y - image.origin.y) / image.size.height * MANDELBROT_HEIGHT;
  self->view.center_re += (column - MANDELBROT_WIDTH / 2.0) * self->view.pixel_size;
  self->view.center_im -= (row - MANDELBROT_HEIGHT / 2.0) * self->view.pixel_size;

  if (gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture)) == GDK_BUTTON_SECONDARY)
    self->view.pixel_size = MIN (self->view.pixel_size * 2, ((MandelbrotView) MANDELBROT_VIEW_INIT).pixel_size);
  else
    self->view.pixel_size = MAX (self->view.pixel_size / 2, SMALLEST_PIXEL_SIZE);

  render (self);
}

/* }}} */
/* {{{ GObject */

static void
mandelbrot_window_dispose (GObject *object)
{
  MandelbrotWindow *self = MANDELBROT_WINDOW (object);

  /* Strips still running stop in their workers; those on their way back
   * find no render to draw on. */
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->strips);
  g_clear_object (&self->cancellable);
  g_clear_error (&self->strip_error);
  g_clear_object (&self->pool);
  g_clear_error (&self->pool_error);

  gtk_widget_dispose_template (GTK_WIDGET (self), MANDELBROT_TYPE_WINDOW);

  G_OBJECT_CLASS (mandelbrot_window_parent_class)->dispose (object);
}

static void
mandelbrot_window_finalize (GObject *object)
{
  MandelbrotWindow *self = MANDELBROT_WINDOW (object);

  g_free (self->pixels);

  G_OBJECT_CLASS (mandelbrot_window_parent_class)->finalize (object);
}

static void
mandelbrot_window_class_init (MandelbrotWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mandelbrot_window_dispose;
  object_class->finalize = mandelbrot_window_finalize;

  /**
   * MandelbrotWindow::render-finished:
   * @self: the window
   * @error: (nullable): why the render did not complete, or %NULL if
   *   every strip was drawn
   *
   * A render ended: it completed, failed, or was cancelled
   * (%G_IO_ERROR_CANCELLED), by the user or by another render.
   */
  signals[RENDER_FINISHED] =
    g_signal_new ("render-finished",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/processing_glib/Mandelbrot/mandelbrot-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MandelbrotWindow, picture);
  gtk_widget_class_bind_template_child (widget_class, MandelbrotWindow, progress);
  gtk_widget_class_bind_template_child (widget_class, MandelbrotWindow, workers);
  gtk_widget_class_bind_template_callback (widget_class, on_workers_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_picture_pressed);

  gtk_widget_class_install_action (widget_class, "mandelbrot.render", NULL, render_activated);
  gtk_widget_class_install_action (widget_class, "mandelbrot.cancel", NULL, cancel_activated);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r, GDK_CONTROL_MASK, "mandelbrot.render", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "mandelbrot.cancel", NULL);
}

static void
mandelbrot_window_init (MandelbrotWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->view = (MandelbrotView) MANDELBROT_VIEW_INIT;
  self->pixels = g_malloc0 (IMAGE_SIZE);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "mandelbrot.cancel", FALSE);
}

/**
 * mandelbrot_window_new:
 * @application: the application
 * @workers: the most worker processes to render with
 *
 * Returns a new window, with its pool of workers. Its action
 * `mandelbrot.render` renders the image, `mandelbrot.cancel` cancels that.
 */
MandelbrotWindow *
mandelbrot_window_new (GtkApplication *application,
                       guint           workers)
{
  MandelbrotWindow *self = g_object_new (MANDELBROT_TYPE_WINDOW,
                                         "application", application,
                                         NULL);

  gtk_spin_button_set_value (self->workers, workers);
  replace_pool (self, gtk_spin_button_get_value_as_int (self->workers));

  return self;
}

/* }}} */
