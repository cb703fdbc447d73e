/* main.c: a Mandelbrot viewer that renders on a pool of worker processes
 *
 *   mandelbrot [--workers=N] [--run-once [--screenshot=FILE]]
 *
 * The program is its own worker: the pool starts it again, and
 * p_worker_is_requested() sends those copies to serve strips before GTK is
 * ever initialised.
 *
 * --run-once renders the image once, prints how long it took and the
 * longest the main loop stalled meanwhile, saves a picture of the window
 * if asked to, and quits: that is how its test drives it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <gtk/gtk.h>
#include <processing-glib/processing-glib.h>

#include "mandelbrot-strip.h"
#include "mandelbrot-window.h"

#define MAX_WORKERS 64

/* Workers run this much nicer than the window (see serve_strips()). */
#define WORKER_NICENESS 10

/* --run-once watches the main loop with a timer this often: how late it
 * fires is how long the loop was kept from running. */
#define STALL_TIMER_MS 10

typedef struct
{
  /* The options. */
  int workers;
  gboolean run_once;
  char *screenshot;

  /* --run-once */
  MandelbrotWindow *window;
  gint64 started_at;
  guint stall_timer;
  gint64 last_tick;
  gint64 longest_stall;
  int exit_status;
} Mandelbrot;

/* {{{ The workers */

static int
serve_strips (void)
{
  g_autoptr(PWorker) worker = p_worker_new ();
  g_autoptr(GError) error = NULL;

  /* Workers give way to the window: with as many busy workers as
   * processors, the window's frames would otherwise wait their turn. */
  errno = 0;
  if (nice (WORKER_NICENESS) == -1 && errno != 0)
    g_debug ("A worker could not lower its priority: %s", g_strerror (errno));

  p_worker_add_function (worker, MANDELBROT_STRIP_FUNCTION, mandelbrot_strip_run, NULL, NULL);
  if (!p_worker_run (worker, &error))
    {
      g_printerr ("mandelbrot worker: %s\n", error->message);
      return EXIT_FAILURE;
    }

  return EXIT_SUCCESS;
}

/* }}} */
/* {{{ --run-once */

/* What --run-once prints is for scripts: it is not translated. */

static gboolean
on_stall_timer (gpointer user_data)
{
  Mandelbrot *app = user_data;
  gint64 now = g_get_monotonic_time ();

  app->longest_stall = MAX (app->longest_stall, now - app->last_tick - STALL_TIMER_MS * 1000);
  app->last_tick = now;

  return G_SOURCE_CONTINUE;
}

/* The render and the timer start once the window is on screen: what the
 * timer measures is the render, not GTK drawing the window for the first
 * time. */
static void
on_first_frame (GdkFrameClock *frame_clock,
                Mandelbrot    *app)
{
  g_signal_handlers_disconnect_by_func (frame_clock, on_first_frame, app);

  app->started_at = app->last_tick = g_get_monotonic_time ();
  app->stall_timer = g_timeout_add (STALL_TIMER_MS, on_stall_timer, app);
  gtk_widget_activate_action (GTK_WIDGET (app->window), "mandelbrot.render", NULL);
}

/* A picture of @widget as it is drawn, as a PNG, in the widget's own
 * coordinates. */
static gboolean
save_screenshot (GtkWidget   *widget,
                 const char  *filename,
                 GError     **error)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  graphene_rect_t bounds;

  /* The paintable shows all the widget draws, which can reach past its
   * allocation (a window's resize border does): drawn at its own size,
   * then cut down to the allocation, it is the widget pixel for pixel. */
  if (!gtk_widget_compute_bounds (widget, widget, &bounds))
    graphene_rect_init (&bounds, 0, 0, gtk_widget_get_width (widget), gtk_widget_get_height (widget));
  gdk_paintable_snapshot (paintable, snapshot, bounds.size.width, bounds.size.height);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "The window drew nothing");
      return FALSE;
    }

  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (widget)), node,
                                         &GRAPHENE_RECT_INIT (-bounds.origin.x, -bounds.origin.y,
                                                              gtk_widget_get_width (widget),
                                                              gtk_widget_get_height (widget)));
  if (!gdk_texture_save_to_png (texture, filename))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not write %s", filename);
      return FALSE;
    }

  return TRUE;
}

/* The last strip is drawn: the picture can be taken. */
static void
on_last_frame (GdkFrameClock *frame_clock,
               Mandelbrot    *app)
{
  g_autoptr(GError) error = NULL;
  graphene_rect_t image;

  g_signal_handlers_disconnect_by_func (frame_clock, on_last_frame, app);

  if (!save_screenshot (GTK_WIDGET (app->window), app->screenshot, &error) ||
      !mandelbrot_window_get_image_bounds (app->window, &image))
    {
      g_printerr ("No screenshot: %s\n", error != NULL ? error->message : "the window has no room for the image");
      app->exit_status = EXIT_FAILURE;
    }
  else
    {
      g_print ("Screenshot: %s (image at %.0f,%.0f size %.0fx%.0f)\n", app->screenshot,
               image.origin.x, image.origin.y, image.size.width, image.size.height);
    }

  gtk_window_destroy (GTK_WINDOW (app->window));
}

static void
on_render_finished (MandelbrotWindow *window,
                    const GError     *error,
                    Mandelbrot       *app)
{
  GdkFrameClock *frame_clock = gtk_widget_get_frame_clock (GTK_WIDGET (window));

  g_clear_handle_id (&app->stall_timer, g_source_remove);

  if (error != NULL)
    {
      g_printerr ("The render failed: %s\n", error->message);
      app->exit_status = EXIT_FAILURE;
      gtk_window_destroy (GTK_WINDOW (window));
      return;
    }

  g_print ("Rendered %u strips of %ux%u pixels in %.2f s\n",
           MANDELBROT_N_STRIPS, MANDELBROT_WIDTH, MANDELBROT_STRIP_ROWS,
           (g_get_monotonic_time () - app->started_at) / (double) G_USEC_PER_SEC);
  g_print ("Longest main-loop stall: %.1f ms (a %u ms timer fired at most that late)\n",
           app->longest_stall / 1000.0, STALL_TIMER_MS);

  if (app->screenshot == NULL)
    {
      gtk_window_destroy (GTK_WINDOW (window));
      return;
    }

  /* After the next frame, the last strip and the progress bar's last
   * words are on screen. */
  g_signal_connect (frame_clock, "after-paint", G_CALLBACK (on_last_frame), app);
  gtk_widget_queue_draw (GTK_WIDGET (window));
}

/* }}} */
/* {{{ The application */

static int
on_handle_local_options (GApplication *application,
                         GVariantDict *options,
                         Mandelbrot   *app)
{
  if (app->workers < 0 || app->workers > MAX_WORKERS)
    {
      g_printerr (_("--workers takes a number from 1 to %d\n"), MAX_WORKERS);
      return EXIT_FAILURE;
    }

  if (app->screenshot != NULL && !app->run_once)
    {
      g_printerr (_("--screenshot goes with --run-once\n"));
      return EXIT_FAILURE;
    }

  /* A run of its own, even if the viewer is open already. */
  if (app->run_once)
    g_application_set_flags (application, g_application_get_flags (application) | G_APPLICATION_NON_UNIQUE);

  return -1;   /* go on */
}

static void
on_activate (GtkApplication *application,
             Mandelbrot     *app)
{
  GtkWindow *window = gtk_application_get_active_window (application);
  guint workers = app->workers;

  if (window == NULL)
    {
      if (workers == 0)
        workers = MIN (g_get_num_processors (), MAX_WORKERS);

      window = GTK_WINDOW (mandelbrot_window_new (application, workers));

      if (app->run_once)
        {
          app->window = MANDELBROT_WINDOW (window);
          g_signal_connect (window, "render-finished", G_CALLBACK (on_render_finished), app);
          gtk_widget_realize (GTK_WIDGET (window));
          g_signal_connect (gtk_widget_get_frame_clock (GTK_WIDGET (window)), "after-paint",
                            G_CALLBACK (on_first_frame), app);
        }
      else
        {
          /* The workers start while the window is being shown. */
          gtk_widget_activate_action (GTK_WIDGET (window), "mandelbrot.render", NULL);
        }
    }

  gtk_window_present (window);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GtkApplication) application = NULL;
  Mandelbrot app = { 0 };
  const GOptionEntry options[] = {
    { "workers", 'w', 0, G_OPTION_ARG_INT, &app.workers,
      N_("The most worker processes to render with (one per processor by default)"), N_("N") },
    { "run-once", 0, 0, G_OPTION_ARG_NONE, &app.run_once,
      N_("Render once, print the longest stall of the main loop meanwhile, and quit"), NULL },
    { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, &app.screenshot,
      N_("With --run-once: save a picture of the window to FILE, as a PNG"), N_("FILE") },
    G_OPTION_ENTRY_NULL
  };
  int status;

  /* First thing: a copy of this program started as a worker serves
   * strips, and never opens a window. */
  if (p_worker_is_requested ())
    return serve_strips ();

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  application = gtk_application_new ("org.processing_glib.Mandelbrot", G_APPLICATION_DEFAULT_FLAGS);
  g_application_add_main_option_entries (G_APPLICATION (application), options);
  g_signal_connect (application, "handle-local-options", G_CALLBACK (on_handle_local_options), &app);
  g_signal_connect (application, "activate", G_CALLBACK (on_activate), &app);

  status = g_application_run (G_APPLICATION (application), argc, argv);

  g_free (app.screenshot);
  return status != EXIT_SUCCESS ? status : app.exit_status;
}

/* }}} */
