/* mandelbrot-strip.c: one strip of the Mandelbrot image, the task a
 * worker runs
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <math.h>

#include "mandelbrot-strip.h"

/* Smooth colouring reads how far past the escape radius a point went:
 * a radius well above 2 makes the bands between iterations vanish. */
#define ESCAPE_RADIUS_SQUARED (16.0 * 16.0)

/* Iterations per turn of the palette, which repeats. */
#define PALETTE_PERIOD 48.0

/* A strip larger than this is a mistake in the arguments. */
#define MAX_STRIP_BYTES (64 * 1024 * 1024)

/* Red, green, blue: deep blue, sky, white, gold, rust, and back to deep
 * blue; never black, which is for the points in the set. */
static const guint8 palette[][3] = {
  {   0,   7, 100 },
  {  32, 107, 203 },
  { 237, 255, 255 },
  { 255, 170,   0 },
  { 140,  40,  20 },
};

GVariant *
mandelbrot_strip_args (const MandelbrotView *view,
                       guint                 first_row,
                       guint                 n_rows)
{
  return g_variant_new (MANDELBROT_STRIP_ARGS_TYPE,
                        view->center_re - view->pixel_size * MANDELBROT_WIDTH / 2,
                        view->center_im + view->pixel_size * MANDELBROT_HEIGHT / 2,
                        view->pixel_size,
                        (guint32) MANDELBROT_MAX_ITERATIONS,
                        (guint32) MANDELBROT_WIDTH,
                        (guint32) first_row,
                        (guint32) n_rows);
}

/* The colour of the point c = re + i·im, into pixel[0..3] (BGRA). */
static void
paint_point (double  re,
             double  im,
             guint   max_iterations,
             guint8 *pixel)
{
  double zr = 0, zi = 0, zr2 = 0, zi2 = 0;
  double smooth, position, fraction;
  guint n, stop, next;

  for (n = 0; n < max_iterations && zr2 + zi2 <= ESCAPE_RADIUS_SQUARED; n++)
    {
      zi = 2 * zr * zi + im;
      zr = zr2 - zi2 + re;
      zr2 = zr * zr;
      zi2 = zi * zi;
    }

  pixel[3] = 255;
  if (n == max_iterations)
    {
      pixel[0] = pixel[1] = pixel[2] = 0;
      return;
    }

  /* The iteration count, made continuous by how far past the radius z
   * went: n + 1 - log2 (log |z|). */
  smooth = MAX (0.0, n + 1 - log2 (0.5 * log (zr2 + zi2)));
  position = fmod (smooth / PALETTE_PERIOD, 1.0) * G_N_ELEMENTS (palette);
  stop = (guint) position % G_N_ELEMENTS (palette);
  next = (stop + 1) % G_N_ELEMENTS (palette);
  fraction = position - floor (position);

  for (guint k = 0; k < 3; k++)
    pixel[2 - k] = (guint8) round (palette[stop][k] + fraction * (palette[next][k] - palette[stop][k]));
}

/* The task: see MANDELBROT_STRIP_ARGS_TYPE for what comes and goes. */
GVariant *
mandelbrot_strip_run (GVariant      *args,
                      GCancellable  *cancellable,
                      gpointer       user_data,
                      GError       **error)
{
  double left, top, pixel_size;
  guint32 max_iterations, width, first_row, n_rows;
  gsize stride, size;
  guint8 *pixels;

  /* A worker trusts nothing it is sent: g_variant_get() of the wrong type
   * would abort it. */
  if (!g_variant_is_of_type (args, G_VARIANT_TYPE (MANDELBROT_STRIP_ARGS_TYPE)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "A strip takes a %s, not a %s",
                   MANDELBROT_STRIP_ARGS_TYPE, g_variant_get_type_string (args));
      return NULL;
    }

  g_variant_get (args, MANDELBROT_STRIP_ARGS_TYPE,
                 &left, &top, &pixel_size, &max_iterations, &width, &first_row, &n_rows);

  if (width == 0 || width > MAX_STRIP_BYTES / MANDELBROT_BYTES_PER_PIXEL ||
      n_rows == 0 || n_rows > MAX_STRIP_BYTES / MANDELBROT_BYTES_PER_PIXEL / width ||
      !(pixel_size > 0))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "A strip of %u × %u pixels of size %g is not one to render",
                   width, n_rows, pixel_size);
      return NULL;
    }

  stride = (gsize) width * MANDELBROT_BYTES_PER_PIXEL;
  size = stride * n_rows;
  pixels = g_malloc (size);

  for (guint32 row = 0; row < n_rows; row++)
    {
      double im = top - (first_row + row) * pixel_size;

      /* A row takes a few milliseconds at most: checking here stops a
       * cancelled strip in its worker at once, rather than letting it
       * finish for nobody. */
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          g_free (pixels);
          return NULL;
        }

      for (guint32 x = 0; x < width; x++)
        paint_point (left + x * pixel_size, im, max_iterations,
                     pixels + row * stride + x * MANDELBROT_BYTES_PER_PIXEL);
    }

  /* The pixels go back as they are: the GVariant takes the buffer. */
  return g_variant_new ("(u@ay)", first_row,
                        g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, pixels, size,
                                                 TRUE, g_free, pixels));
}
