/* p-data.h: tasks whose arguments and results are bytes, for bindings
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
#include "p-map-iter.h"
#include "p-pool.h"
#include "p-result.h"
#include "p-worker.h"

G_BEGIN_DECLS

/**
 * PBytesFunc:
 * @data: the task's argument: the bytes it was submitted with
 * @cancellable: cancelled when the caller gives up on the task
 * @user_data: the data given to p_worker_add_bytes_function()
 * @error: return location for the task's error
 *
 * A function that a worker serves, taking and returning bytes (see
 * p_worker_add_bytes_function()).
 *
 * Returns: (transfer full) (nullable): the task's result, or %NULL with
 *   @error set
 *
 * Since: 0.1
 */
typedef GBytes *(*PBytesFunc) (GBytes        *data,
                               GCancellable  *cancellable,
                               gpointer       user_data,
                               GError       **error);

/**
 * PDataFunc:
 * @data: (array length=size) (element-type guint8): the task's argument:
 *   the bytes it was submitted with
 * @size: the length of @data
 * @cancellable: cancelled when the caller gives up on the task
 * @user_data: the data given to p_worker_add_data_function()
 * @error: return location for the task's error
 *
 * A function that a worker serves, taking bytes and returning them (see
 * p_worker_add_data_function()).
 *
 * Returns: (transfer full) (nullable): the task's result, or %NULL with
 *   @error set
 *
 * Since: 0.1
 */
typedef GByteArray *(*PDataFunc) (const guint8  *data,
                                  gsize          size,
                                  GCancellable  *cancellable,
                                  gpointer       user_data,
                                  GError       **error);

P_AVAILABLE_IN_0_1
PResult  *p_pool_submit_data          (PPool          *self,
                                       const char     *function,
                                       const guint8   *data,
                                       gsize           size,
                                       GCancellable   *cancellable);
P_AVAILABLE_IN_0_1
GBytes   *p_result_get_bytes          (PResult        *self,
                                       gint64          timeout_usec,
                                       GError        **error);
P_AVAILABLE_IN_0_1
const guint8 *p_result_get_data       (PResult        *self,
                                       gint64          timeout_usec,
                                       gsize          *size,
                                       GError        **error);
P_AVAILABLE_IN_0_1
GBytes   *p_map_iter_next_bytes       (PMapIter       *self,
                                       gint64          timeout_usec,
                                       GError        **error);
P_AVAILABLE_IN_0_1
gboolean  p_map_iter_next_data        (PMapIter       *self,
                                       gint64          timeout_usec,
                                       guint8        **data,
                                       gsize          *size,
                                       GError        **error);
P_AVAILABLE_IN_0_1
gboolean  p_map_iter_next_data_many   (PMapIter       *self,
                                       gint64          timeout_usec,
                                       guint           max_results,
                                       guint8        **data,
                                       gsize          *size,
                                       gsize         **ends,
                                       guint          *n_results,
                                       GError        **error);
P_AVAILABLE_IN_0_1
void      p_worker_add_bytes_function (PWorker        *self,
                                       const char     *name,
                                       PBytesFunc      func,
                                       gpointer        user_data,
                                       GDestroyNotify  destroy);
P_AVAILABLE_IN_0_1
void      p_worker_add_data_function  (PWorker        *self,
                                       const char     *name,
                                       PDataFunc       func,
                                       gpointer        user_data,
                                       GDestroyNotify  destroy);

G_END_DECLS
