/* p-sink-private.h: how the pool's thread reaches a PResult or PMapIter,
 * wakes those that wait for it, and whether anybody listens to it
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* The pool thread's weak reference to the result or iterator a job fills. */
typedef struct _PSinkLink PSinkLink;

PSinkLink *p_sink_link_new    (GObject    *sink);
PSinkLink *p_sink_link_ref    (PSinkLink  *link);
void       p_sink_link_unref  (PSinkLink  *link);
gpointer   p_sink_link_dup    (PSinkLink  *link);
void       p_sink_link_clear  (PSinkLink **link);

/* Wake-ups of blocked callers, held back in the calling thread between
 * begin and end so that a batch of replies wakes each waiter once. */
void       p_wake_batch_begin (void);
void       p_wake_batch_end   (void);
void       p_wake_waiters     (GObject    *owner,
                               GCond      *cond);
guint      p_wake_batch_serial (void);

gboolean   p_sink_has_notify_handlers (gpointer sink);

G_END_DECLS
