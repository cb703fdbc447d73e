/* p-pool.h: a pool of worker processes
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
#include "p-result.h"
#include "p-sandbox.h"

G_BEGIN_DECLS

#define P_TYPE_POOL (p_pool_get_type ())

P_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PPool, p_pool, P, POOL, GObject)

P_AVAILABLE_IN_0_1
PPool    *p_pool_new              (guint                 processes,
                                   const char * const   *worker_argv,
                                   GError              **error);
P_AVAILABLE_IN_0_1
PPool    *p_pool_new_for_modules  (guint                 processes,
                                   const char * const   *modules,
                                   GError              **error);
P_AVAILABLE_IN_0_1
guint     p_pool_get_processes    (PPool                *self);

P_AVAILABLE_IN_0_1
GVariant *p_pool_apply            (PPool                *self,
                                   const char           *function,
                                   GVariant             *args,
                                   GCancellable         *cancellable,
                                   GError              **error);
P_AVAILABLE_IN_0_1
void      p_pool_apply_async      (PPool                *self,
                                   const char           *function,
                                   GVariant             *args,
                                   GCancellable         *cancellable,
                                   GAsyncReadyCallback   callback,
                                   gpointer              user_data);
P_AVAILABLE_IN_0_1
GVariant *p_pool_apply_finish     (PPool                *self,
                                   GAsyncResult         *result,
                                   GError              **error);
P_AVAILABLE_IN_0_1
PResult  *p_pool_submit           (PPool                *self,
                                   const char           *function,
                                   GVariant             *args,
                                   GCancellable         *cancellable);

P_AVAILABLE_IN_0_1
GVariant *p_pool_map              (PPool                *self,
                                   const char           *function,
                                   GVariant             *items,
                                   guint                 chunksize,
                                   GCancellable         *cancellable,
                                   GError              **error);
P_AVAILABLE_IN_0_1
void      p_pool_map_async        (PPool                *self,
                                   const char           *function,
                                   GVariant             *items,
                                   guint                 chunksize,
                                   GCancellable         *cancellable,
                                   GAsyncReadyCallback   callback,
                                   gpointer              user_data);
P_AVAILABLE_IN_0_1
GVariant *p_pool_map_finish       (PPool                *self,
                                   GAsyncResult         *result,
                                   GError              **error);
P_AVAILABLE_IN_0_1
PResult  *p_pool_submit_map       (PPool                *self,
                                   const char           *function,
                                   GVariant             *items,
                                   guint                 chunksize,
                                   GCancellable         *cancellable);

P_AVAILABLE_IN_0_1
PMapIter *p_pool_imap             (PPool                *self,
                                   const char           *function,
                                   GVariant             *items,
                                   guint                 chunksize,
                                   GCancellable         *cancellable);
P_AVAILABLE_IN_0_1
PMapIter *p_pool_imap_unordered   (PPool                *self,
                                   const char           *function,
                                   GVariant             *items,
                                   guint                 chunksize,
                                   GCancellable         *cancellable);

/**
 * PItemSource:
 * @user_data: the data given to p_pool_imap_lazy()
 * @error: return location for the source's error
 *
 * The source of a lazy map's items (p_pool_imap_lazy()), called for the
 * next item whenever the map has room for it.
 *
 * Returns: (transfer full) (nullable): the next item: the arguments of one
 *   call (a floating reference is sunk); %NULL without an error at the end
 *   of the items; %NULL with @error set if the source failed, which ends
 *   the items too.
 *
 * Since: 0.1
 */
typedef GVariant *(*PItemSource) (gpointer   user_data,
                                  GError   **error);

P_AVAILABLE_IN_0_1
PMapIter *p_pool_imap_lazy        (PPool                *self,
                                   const char           *function,
                                   PItemSource           source,
                                   gpointer              user_data,
                                   GDestroyNotify        destroy,
                                   guint                 buffersize,
                                   gboolean              ordered,
                                   GCancellable         *cancellable);

P_AVAILABLE_IN_0_1
void      p_pool_shutdown         (PPool                *self);
P_AVAILABLE_IN_0_1
void      p_pool_terminate        (PPool                *self);
P_AVAILABLE_IN_0_1
gboolean  p_pool_join             (PPool                *self,
                                   GError              **error);

P_AVAILABLE_IN_0_1
GVariant *p_pool_get_stats        (PPool                *self);

P_AVAILABLE_IN_0_1
PSandboxMechanisms p_pool_get_sandbox_mechanisms (PPool *self);
P_AVAILABLE_IN_0_1
GVariant          *p_pool_get_sandbox_report     (PPool *self);

G_END_DECLS
