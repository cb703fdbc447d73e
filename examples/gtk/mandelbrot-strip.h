/* mandelbrot-strip.h: one strip of the Mandelbrot image, the task a
 * worker runs
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The image's size in pixels, whatever part of the plane it shows. */
#define MANDELBROT_WIDTH          800
#define MANDELBROT_HEIGHT         600

/* A point still near 0 after this many iterations is taken to be in the
 * set, and painted black. */
#define MANDELBROT_MAX_ITERATIONS 2000

/* The part of the complex plane the image shows: its centre, and the
 * distance between two pixels. */
typedef struct
{
  double center_re;
  double center_im;
  double pixel_size;
} MandelbrotView;

/* The whole set, with some room around it. */
#define MANDELBROT_VIEW_INIT { -0.75, 0.0, 3.5 / MANDELBROT_WIDTH }

/* Each strip is a task: enough of them that several workers share the
 * work evenly and the image fills in visibly, few enough that each is
 * worth a round trip. */
#define MANDELBROT_STRIP_ROWS     12
#define MANDELBROT_N_STRIPS       ((MANDELBROT_HEIGHT + MANDELBROT_STRIP_ROWS - 1) / MANDELBROT_STRIP_ROWS)

/* Pixels are blue, green, red and alpha, a byte each
 * (GDK_MEMORY_B8G8R8A8_PREMULTIPLIED): what cairo and OpenGL draw from as
 * they are, so that GTK converts nothing. They are opaque, which makes
 * premultiplied alpha the same as straight. */
#define MANDELBROT_BYTES_PER_PIXEL 4

/* The name workers serve the task by. */
#define MANDELBROT_STRIP_FUNCTION "mandelbrot-strip"

/* A strip's arguments are a "(ddduuuu)": the left edge, the top edge and
 * the pixel size in the complex plane, then the most iterations, the image
 * width, the strip's first row and its number of rows. Its result is a
 * "(uay)": the first row again (strips come back in any order) and the
 * strip's pixels, row after row. */
#define MANDELBROT_STRIP_ARGS_TYPE   "(ddduuuu)"
#define MANDELBROT_STRIP_RESULT_TYPE "(uay)"

GVariant *mandelbrot_strip_args (const MandelbrotView  *view,
                                 guint                  first_row,
                                 guint                  n_rows);

GVariant *mandelbrot_strip_run  (GVariant              *args,
                                 GCancellable          *cancellable,
                                 gpointer               user_data,
                                 GError               **error);

G_END_DECLS
