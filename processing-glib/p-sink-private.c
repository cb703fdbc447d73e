/* p-sink-private.c: how the pool's thread reaches a PResult or PMapIter,
 * wakes those that wait for it, and whether anybody listens to it
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <gio/gio.h>

#include "p-sink-private.h"

/* {{{ Sink links
 *
 * The pool thread's weak reference to the result or iterator a job fills
 * (not a GWeakRef: see p-glib-workarounds-private.h). The sink clears its
 * link when disposed; a reference taken just before that resurrects it,
 * as GObject allows. */

struct _PSinkLink
{
  gatomicrefcount ref_count;
  GMutex mutex;
  GObject *sink;               /* NULL once it is disposed */
};

PSinkLink *
p_sink_link_new (GObject *sink)
{
  PSinkLink *link = g_slice_new0 (PSinkLink);

  g_atomic_ref_count_init (&link->ref_count);
  g_mutex_init (&link->mutex);
  link->sink = sink;

  return link;
}

PSinkLink *
p_sink_link_ref (PSinkLink *link)
{
  g_atomic_ref_count_inc (&link->ref_count);
  return link;
}

void
p_sink_link_unref (PSinkLink *link)
{
  if (!g_atomic_ref_count_dec (&link->ref_count))
    return;

  g_mutex_clear (&link->mutex);
  g_slice_free (PSinkLink, link);
}

/* A new reference to the sink, or NULL if it was disposed. */
gpointer
p_sink_link_dup (PSinkLink *link)
{
  GObject *sink;

  g_mutex_lock (&link->mutex);
  sink = link->sink ? g_object_ref (link->sink) : NULL;
  g_mutex_unlock (&link->mutex);

  return sink;
}

/* For the sink's dispose, which runs again if the pool thread resurrected
 * it meanwhile: the pool thread can no longer reach it. */
void
p_sink_link_clear (PSinkLink **link)
{
  if (*link == NULL)
    return;

  g_mutex_lock (&(*link)->mutex);
  (*link)->sink = NULL;
  g_mutex_unlock (&(*link)->mutex);
  g_clear_pointer (link, p_sink_link_unref);
}

/* }}} */
/* {{{ Wake-up batches
 *
 * A waiter woken for the first of thirty replies the pool thread reads at
 * once would wake, take it, and block again for the second: a system call
 * and a thread switch per reply. Within a batch, the pool thread wakes each
 * waiter once, after the last of them. */

typedef struct
{
  GObject *owner;          /* keeps @cond alive */
  GCond *cond;
} HeldWakeup;

static void
held_wakeup_clear (HeldWakeup *held)
{
  g_object_unref (held->owner);
}

static GPrivate wake_batch = G_PRIVATE_INIT ((GDestroyNotify) g_array_unref);
static GPrivate wake_batch_serial = G_PRIVATE_INIT (NULL);
static guint last_wake_batch_serial;

void
p_wake_batch_begin (void)
{
  GArray *held = g_array_new (FALSE, FALSE, sizeof (HeldWakeup));
  guint serial;

  g_assert (g_private_get (&wake_batch) == NULL);
  g_array_set_clear_func (held, (GDestroyNotify) held_wakeup_clear);
  g_private_set (&wake_batch, held);

  /* Never 0, which says "no batch". */
  do
    serial = (guint) g_atomic_int_add (&last_wake_batch_serial, 1) + 1;
  while (serial == 0);
  g_private_set (&wake_batch_serial, GUINT_TO_POINTER (serial));
}

void
p_wake_batch_end (void)
{
  GArray *held = g_private_get (&wake_batch);

  g_assert (held != NULL);
  g_private_set (&wake_batch, NULL);
  g_private_set (&wake_batch_serial, NULL);

  for (guint i = 0; i < held->len; i++)
    g_cond_broadcast (g_array_index (held, HeldWakeup, i).cond);
  g_array_unref (held);
}

/* Wakes what waits on @cond, owned by @owner, now or at the end of the
 * batch. The state change it announces is made already, under the lock. */
void
p_wake_waiters (GObject *owner,
                GCond   *cond)
{
  GArray *held = g_private_get (&wake_batch);
  HeldWakeup wakeup = { NULL, cond };

  if (held == NULL)
    {
      g_cond_broadcast (cond);
      return;
    }

  /* Replies for one handle come together: the last one is enough to look at. */
  if (held->len > 0 && g_array_index (held, HeldWakeup, held->len - 1).cond == cond)
    return;

  wakeup.owner = g_object_ref (owner);
  g_array_append_val (held, wakeup);
}

/* The batch the calling thread is in, different from every other batch
 * for a long while; 0 outside one. What the batch delivers counts as one
 * change: a sink may ask once per batch what it would ask per reply. */
guint
p_wake_batch_serial (void)
{
  return GPOINTER_TO_UINT (g_private_get (&wake_batch_serial));
}

/* }}} */
/* {{{ Notifications */

/* Whether any handler of GObject::notify, of any property or of all, is
 * connected to @sink. A sink notifies in its caller's context only then:
 * a notification nobody dispatches would keep it alive in a context that
 * may never run. One look, under GObject's global signal lock, where
 * g_signal_has_handler_pending() would need one per detail and one more
 * for handlers of every property. */
gboolean
p_sink_has_notify_handlers (gpointer sink)
{
  static gsize notify_signal_id;

  if (g_once_init_enter (&notify_signal_id))
    g_once_init_leave (&notify_signal_id, g_signal_lookup ("notify", G_TYPE_OBJECT));

  return g_signal_handler_find (sink, G_SIGNAL_MATCH_ID, (guint) notify_signal_id, 0, NULL, NULL, NULL) != 0;
}

/* }}} */
