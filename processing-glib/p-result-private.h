/* p-result-private.h: completing a PResult
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "p-channel-private.h"
#include "p-result.h"

G_BEGIN_DECLS

/* Called once, in the thread that completes the result, with no lock
 * held. */
typedef void (*PResultReadyFunc) (PResult  *result,
                                  gpointer  user_data);

PResult *p_result_new           (GObject          *pool,
                                 PResultReadyFunc  ready_func,
                                 gpointer          ready_data);
void     p_result_return_value  (PResult          *self,
                                 GVariant         *value);
void     p_result_return_deferred_value (PResult        *self,
                                         PDeferredValue *deferred);
void     p_result_return_error  (PResult          *self,
                                 GError           *error);
void     p_result_return_chunks (PResult          *self,
                                 GVariant        **chunk_values,
                                 guint             n_chunks,
                                 guint             n_items);

/* The pool thread's weak reference to the result or iterator a job fills.
 * GWeakRef would do, but in GLib 2.74 it takes a process-wide lock and
 * allocates at each set, get and clear: an eighth of the pool's work per
 * task. The sink clears its link when disposed; a reference taken just
 * before that resurrects it, as GObject allows. */
typedef struct _PSinkLink PSinkLink;

PSinkLink *p_sink_link_new      (GObject          *sink);
PSinkLink *p_sink_link_ref      (PSinkLink        *link);
void       p_sink_link_unref    (PSinkLink        *link);
gpointer   p_sink_link_dup      (PSinkLink        *link);
void       p_sink_link_clear    (PSinkLink       **link);

PSinkLink *p_result_get_link    (PResult          *self);

/* What p_result_cancel() cancels. Set once, by whoever submitted the task. */
void       p_result_set_cancellable (PResult      *self,
                                     GCancellable *cancellable);

/* Wake-ups of blocked callers, held back in the calling thread between
 * begin and end so that a batch of replies wakes each waiter once. */
void     p_wake_batch_begin     (void);
void     p_wake_batch_end       (void);
void     p_wake_waiters         (GObject          *owner,
                                 GCond            *cond);

G_END_DECLS
