/* mandelbrot-window.h: the window, which renders with a pool of workers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define MANDELBROT_TYPE_WINDOW (mandelbrot_window_get_type ())

G_DECLARE_FINAL_TYPE (MandelbrotWindow, mandelbrot_window, MANDELBROT, WINDOW, GtkApplicationWindow)

MandelbrotWindow *mandelbrot_window_new              (GtkApplication   *application,
                                                      guint             workers);

gboolean          mandelbrot_window_get_image_bounds (MandelbrotWindow *self,
                                                      graphene_rect_t  *bounds);

G_END_DECLS
