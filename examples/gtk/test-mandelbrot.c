/* test-mandelbrot.c: runs the Mandelbrot viewer once and checks the
 * picture of its window
 *
 *   xvfb-run -a test-mandelbrot [--tap] PATH-TO-MANDELBROT
 *
 * The viewer needs a display, which xvfb-run gives it; this program only
 * starts it with --run-once --screenshot, passes on what it prints (the
 * longest stall of its main loop among it: a figure, never a verdict), and
 * reads the PNG, which needs no display.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gtk/gtk.h>

#include "mandelbrot-strip.h"

static const char *mandelbrot_path;
static char *screenshot_path;
static GdkTexture *screenshot;
static guint32 *pixels;            /* the screenshot, GDK_MEMORY_DEFAULT */
static graphene_rect_t image;      /* where the viewer says the image is */

/* Points of the plane far from the set's boundary, whichever side. */
static const double inside_points[][2] = {
  { -0.2,  0.0 },   /* the main cardioid */
  { -1.0,  0.0 },   /* the disc to its left */
  { -0.1,  0.5 },
  {  0.1, -0.3 },
};

static const double outside_points[][2] = {
  {  0.6,  0.6 },
  { -2.2,  1.1 },
  {  0.6, -0.9 },
  { -1.8, -0.9 },
};

/* The red, green and blue of the screenshot where the point re + i·im of
 * the default view is. */
static void
color_at (double  re,
          double  im,
          guint8  rgb[3])
{
  const MandelbrotView view = MANDELBROT_VIEW_INIT;
  double left = view.center_re - view.pixel_size * MANDELBROT_WIDTH / 2;
  double top = view.center_im + view.pixel_size * MANDELBROT_HEIGHT / 2;
  double x = image.origin.x + (re - left) / view.pixel_size * image.size.width / MANDELBROT_WIDTH;
  double y = image.origin.y + (top - im) / view.pixel_size * image.size.height / MANDELBROT_HEIGHT;
  int width = gdk_texture_get_width (screenshot);
  guint32 pixel;

  g_assert_cmpfloat (x, >=, 0);
  g_assert_cmpfloat (y, >=, 0);
  g_assert_cmpfloat (x, <, width);
  g_assert_cmpfloat (y, <, gdk_texture_get_height (screenshot));

  /* Native-endian ARGB, premultiplied: the window is opaque there. */
  pixel = pixels[(gsize) y * width + (gsize) x];
  rgb[0] = (pixel >> 16) & 0xff;
  rgb[1] = (pixel >> 8) & 0xff;
  rgb[2] = pixel & 0xff;
}

static void
test_run_once (void)
{
  g_autoptr(GSubprocess) viewer = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  const char *geometry;

  viewer = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error,
                             mandelbrot_path, "--run-once", "--screenshot", screenshot_path, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (viewer, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);

  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (*lines[i] != '\0')
      g_test_message ("%s", lines[i]);
  if (*err != '\0')
    g_test_message ("stderr: %s", err);

  g_assert_true (g_subprocess_get_if_exited (viewer));
  g_assert_cmpint (g_subprocess_get_exit_status (viewer), ==, 0);
  g_assert_nonnull (strstr (out, "Longest main-loop stall: "));

  geometry = strstr (out, "(image at ");
  g_assert_nonnull (geometry);
  g_assert_cmpint (sscanf (geometry, "(image at %f,%f size %fx%f)",
                           &image.origin.x, &image.origin.y, &image.size.width, &image.size.height), ==, 4);
  g_assert_cmpfloat (image.size.width, >, MANDELBROT_WIDTH / 8);
}

static void
test_screenshot (void)
{
  g_autoptr(GFile) file = g_file_new_for_path (screenshot_path);
  g_autoptr(GError) error = NULL;
  int width, height;

  screenshot = gdk_texture_new_from_file (file, &error);
  g_assert_no_error (error);

  width = gdk_texture_get_width (screenshot);
  height = gdk_texture_get_height (screenshot);
  g_test_message ("the window: %dx%d", width, height);
  g_assert_cmpfloat (image.origin.x + image.size.width, <=, width + 1);
  g_assert_cmpfloat (image.origin.y + image.size.height, <=, height + 1);

  pixels = g_new (guint32, (gsize) width * height);
  gdk_texture_download (screenshot, (guchar *) pixels, (gsize) width * 4);
}

/* The image is drawn at its own size: each pixel on screen is the one a
 * worker computed, which this program computes again. */
static void
test_pixels_exact (void)
{
  const MandelbrotView view = MANDELBROT_VIEW_INIT;
  int width = gdk_texture_get_width (screenshot);

  g_assert_cmpfloat (image.size.width, ==, MANDELBROT_WIDTH);
  g_assert_cmpfloat (image.size.height, ==, MANDELBROT_HEIGHT);

  for (guint k = 0; k < 16; k++)
    {
      guint column = 25 + k * (MANDELBROT_WIDTH - 50) / 16;
      guint row = 20 + k * (MANDELBROT_HEIGHT - 40) / 16;
      g_autoptr(GVariant) args = g_variant_ref_sink (mandelbrot_strip_args (&view, row, 1));
      g_autoptr(GVariant) strip = NULL;
      g_autoptr(GVariant) strip_pixels = NULL;
      g_autoptr(GError) error = NULL;
      const guint8 *expected;
      guint32 seen;
      gsize size;

      strip = mandelbrot_strip_run (args, NULL, NULL, &error);
      g_assert_no_error (error);
      g_variant_get (strip, "(u@ay)", NULL, &strip_pixels);
      expected = g_variant_get_fixed_array (strip_pixels, &size, 1);
      g_assert_cmpuint (size, ==, MANDELBROT_WIDTH * MANDELBROT_BYTES_PER_PIXEL);
      expected += column * MANDELBROT_BYTES_PER_PIXEL;

      seen = pixels[((gsize) image.origin.y + row) * width + (gsize) image.origin.x + column];
      g_assert_cmphex (seen & 0xffffff, ==, expected[2] << 16 | expected[1] << 8 | expected[0]);
    }
}

static void
test_inside_black (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (inside_points); i++)
    {
      guint8 rgb[3];

      color_at (inside_points[i][0], inside_points[i][1], rgb);
      g_test_message ("%g%+gi: %u %u %u", inside_points[i][0], inside_points[i][1], rgb[0], rgb[1], rgb[2]);
      g_assert_cmpuint (MAX (rgb[0], MAX (rgb[1], rgb[2])), <=, 8);
    }
}

static void
test_outside_colored (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (outside_points); i++)
    {
      guint8 rgb[3];

      color_at (outside_points[i][0], outside_points[i][1], rgb);
      g_test_message ("%g%+gi: %u %u %u", outside_points[i][0], outside_points[i][1], rgb[0], rgb[1], rgb[2]);
      g_assert_cmpuint (MAX (rgb[0], MAX (rgb[1], rgb[2])), >=, 64);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *directory = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  if (argc != 2)
    {
      g_printerr ("Usage: %s [--tap] PATH-TO-MANDELBROT\n", argv[0]);
      return 2;
    }
  mandelbrot_path = argv[1];

  directory = g_dir_make_tmp ("test-mandelbrot-XXXXXX", &error);
  g_assert_no_error (error);
  screenshot_path = g_build_filename (directory, "mandelbrot.png", NULL);

  /* In this order: each case uses what the one before found. */
  g_test_add_func ("/mandelbrot/run-once", test_run_once);
  g_test_add_func ("/mandelbrot/screenshot", test_screenshot);
  g_test_add_func ("/mandelbrot/pixels-exact", test_pixels_exact);
  g_test_add_func ("/mandelbrot/inside-black", test_inside_black);
  g_test_add_func ("/mandelbrot/outside-colored", test_outside_colored);

  status = g_test_run ();

  g_unlink (screenshot_path);
  g_rmdir (directory);
  g_free (screenshot_path);
  g_free (pixels);
  g_clear_object (&screenshot);

  return status;
}
