/* p-worker.h: the worker side of a pool
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

#define P_TYPE_WORKER (p_worker_get_type ())

P_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PWorker, p_worker, P, WORKER, GObject)

/**
 * PTaskFunc:
 * @args: the task's arguments, as given to the pool
 * @cancellable: cancelled when the caller gives up on the task
 * @user_data: the data given to p_worker_add_function()
 * @error: return location for the task's error
 *
 * A function that a worker serves. It runs in the thread that called
 * p_worker_run(), one task at a time.
 *
 * Returns: (transfer full) (nullable): the task's result, or %NULL with
 *   @error set. A floating reference is sunk.
 *
 * Since: 0.1
 */
typedef GVariant *(*PTaskFunc) (GVariant      *args,
                                GCancellable  *cancellable,
                                gpointer       user_data,
                                GError       **error);

/**
 * PChunkFunc:
 * @items: an array (of any type) of the arguments of several calls: a map
 *   chunk's items
 * @cancellable: cancelled when the caller gives up on them
 * @user_data: the data given to p_worker_add_chunk_function()
 * @error: return location for the chunk's error
 *
 * A function that a worker serves for a whole map chunk at once: it returns
 * an array of as many results as @items has, the k-th the result of the
 * k-th item. An array of one fixed-size type (`ax` for the squares of an
 * `ax`) costs no #GVariant per item anywhere; to return results of
 * different types, return an `av` whose elements hold them.
 *
 * Returns: (transfer full) (nullable): the array of results, or %NULL with
 *   @error set, which then fails every item of the chunk. A floating
 *   reference is sunk.
 *
 * Since: 0.1
 */
typedef GVariant *(*PChunkFunc) (GVariant      *items,
                                 GCancellable  *cancellable,
                                 gpointer       user_data,
                                 GError       **error);

P_AVAILABLE_IN_0_1
gboolean  p_worker_is_requested (void);
P_AVAILABLE_IN_0_1
PWorker  *p_worker_new          (void);
P_AVAILABLE_IN_0_1
void      p_worker_add_function (PWorker        *self,
                                 const char     *name,
                                 PTaskFunc       func,
                                 gpointer        user_data,
                                 GDestroyNotify  destroy);
P_AVAILABLE_IN_0_1
void      p_worker_add_chunk_function (PWorker        *self,
                                       const char     *name,
                                       PChunkFunc      func,
                                       gpointer        user_data,
                                       GDestroyNotify  destroy);
P_AVAILABLE_IN_0_1
gboolean  p_worker_run          (PWorker        *self,
                                 GError        **error);

P_AVAILABLE_IN_0_1
void      p_worker_report_progress (double      fraction,
                                    const char *message);

G_END_DECLS
