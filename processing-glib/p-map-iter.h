/* p-map-iter.h: results of imap and imap_unordered
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (PROCESSING_GLIB_INSIDE) && !defined (PROCESSING_GLIB_COMPILATION)
# error "Only <processing-glib/processing-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "p-version-macros.h"

G_BEGIN_DECLS

#define P_TYPE_MAP_ITER (p_map_iter_get_type ())

P_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PMapIter, p_map_iter, P, MAP_ITER, GObject)

P_AVAILABLE_IN_0_1
GVariant *p_map_iter_next        (PMapIter             *self,
                                  gint64                timeout_usec,
                                  GError              **error);
P_AVAILABLE_IN_0_1
gboolean  p_map_iter_wait        (PMapIter             *self,
                                  gint64                timeout_usec);
P_AVAILABLE_IN_0_1
void      p_map_iter_next_async  (PMapIter             *self,
                                  GCancellable         *cancellable,
                                  GAsyncReadyCallback   callback,
                                  gpointer              user_data);
P_AVAILABLE_IN_0_1
GVariant *p_map_iter_next_finish (PMapIter             *self,
                                  GAsyncResult         *result,
                                  GError              **error);
P_AVAILABLE_IN_0_1
guint     p_map_iter_get_completed (PMapIter           *self);
P_AVAILABLE_IN_0_1
guint     p_map_iter_get_total     (PMapIter           *self);

G_END_DECLS
