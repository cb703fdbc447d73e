/* p-result-queue.c: results in the order they become ready
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "p-result-queue-private.h"
#include "p-result-private.h"

/**
 * SECTION:p-result-queue
 * @title: PResultQueue
 * @short_description: Results in the order they become ready
 *
 * A #PResultQueue hands out the #PResult<!-- -->s added to it in the order
 * they become ready, whichever task finishes first, as
 * `concurrent.futures.as_completed()` does: p_result_queue_pop() blocks
 * until one is ready (or a timeout passes), from any thread and with no
 * main loop running.
 *
 * It is what a binding needs to run its callbacks in a thread of its own,
 * or to wait for the first of many results:
 *
 * |[<!-- language="C" -->
 * g_autoptr(PResultQueue) queue = p_result_queue_new ();
 *
 * for (guint i = 0; i < n; i++)
 *   {
 *     g_autoptr(PResult) result = p_pool_submit (pool, "work", args[i], NULL);
 *     p_result_queue_add (queue, result);
 *   }
 *
 * for (guint i = 0; i < n; i++)
 *   {
 *     g_autoptr(PResult) done = p_result_queue_pop (queue, -1);
 *     // ... p_result_get (done, 0, &error)
 *   }
 * ]|
 *
 * A result is in one queue at most. The queue keeps a reference to each
 * result added until it is popped (and a result, while not ready, keeps
 * its pool alive).
 */

/**
 * PResultQueue:
 *
 * Results in the order they become ready. See the section's description.
 *
 * Since: 0.1
 */

/**
 * P_TYPE_RESULT_QUEUE:
 *
 * The #GType of #PResultQueue.
 *
 * Since: 0.1
 */

struct _PResultQueue
{
  GObject parent_instance;

  GMutex mutex;
  GCond cond;
  GQueue ready;            /* PResult *, a reference each, in the order they became ready */
  guint n_pending;         /* added, not ready yet: each result holds the
                            * queue, and the reference add() took to it */
  guint n_waiters;         /* in p_result_queue_pop(): a broadcast is a system call */
};

G_DEFINE_FINAL_TYPE (PResultQueue, p_result_queue, G_TYPE_OBJECT)

static void
p_result_queue_finalize (GObject *object)
{
  PResultQueue *self = P_RESULT_QUEUE (object);

  g_queue_clear_full (&self->ready, g_object_unref);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (p_result_queue_parent_class)->finalize (object);
}

static void
p_result_queue_class_init (PResultQueueClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = p_result_queue_finalize;
}

static void
p_result_queue_init (PResultQueue *self)
{
  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  g_queue_init (&self->ready);
}

/**
 * p_result_queue_new:
 *
 * Creates an empty queue.
 *
 * Returns: (transfer full): a new #PResultQueue
 *
 * Since: 0.1
 */
PResultQueue *
p_result_queue_new (void)
{
  return g_object_new (P_TYPE_RESULT_QUEUE, NULL);
}

/* Called by the result, in the thread that completes it, with no lock
 * held. Takes the reference p_result_queue_add() took. */
void
p_result_queue_push_ready (PResultQueue *self,
                           PResult      *result)
{
  gboolean waited_for;

  g_mutex_lock (&self->mutex);
  g_queue_push_tail (&self->ready, result);
  self->n_pending--;
  waited_for = self->n_waiters > 0;
  g_mutex_unlock (&self->mutex);

  /* Along with the other wake-ups of the pool thread's batch. */
  if (waited_for)
    p_wake_waiters (G_OBJECT (self), &self->cond);
}

/**
 * p_result_queue_add:
 * @self: a #PResultQueue
 * @result: a #PResult that is in no queue yet
 *
 * Adds @result to the queue: at the tail of the ready ones now if it is
 * ready, else once it becomes ready.
 *
 * Since: 0.1
 */
void
p_result_queue_add (PResultQueue *self,
                    PResult      *result)
{
  PResultQueueing queueing;

  g_return_if_fail (P_IS_RESULT_QUEUE (self));
  g_return_if_fail (P_IS_RESULT (result));

  /* Counted first: the result may become ready, and be pushed, as soon as
   * it knows its queue. */
  g_mutex_lock (&self->mutex);
  self->n_pending++;
  g_mutex_unlock (&self->mutex);

  /* Until it is popped: a result nobody else holds must still come out. */
  g_object_ref (result);

  queueing = p_result_set_queue (result, self);
  if (queueing == P_RESULT_ALREADY_READY)
    {
      p_result_queue_push_ready (self, result);
    }
  else if (queueing == P_RESULT_IN_A_QUEUE)
    {
      g_mutex_lock (&self->mutex);
      self->n_pending--;
      g_mutex_unlock (&self->mutex);
      g_object_unref (result);
      g_critical ("%s: the result was added to a queue already", G_STRFUNC);
    }
}

/**
 * p_result_queue_pop:
 * @self: a #PResultQueue
 * @timeout_usec: how long to wait, in microseconds: -1 to wait for as long
 *   as it takes, 0 not to wait
 *
 * Takes the result that became ready first among those not taken yet,
 * waiting for one if none is ready. No main loop needs to run. Returns
 * %NULL when @timeout_usec passes first, or at once when no result is
 * left to wait for (see p_result_queue_get_pending()).
 *
 * Returns: (transfer full) (nullable): a ready #PResult, or %NULL
 *
 * Since: 0.1
 */
PResult *
p_result_queue_pop (PResultQueue *self,
                    gint64        timeout_usec)
{
  gint64 end_time;
  PResult *result;

  g_return_val_if_fail (P_IS_RESULT_QUEUE (self), NULL);
  g_return_val_if_fail (timeout_usec >= -1, NULL);

  end_time = timeout_usec > 0 ? g_get_monotonic_time () + timeout_usec : -1;

  g_mutex_lock (&self->mutex);
  self->n_waiters++;
  while (g_queue_is_empty (&self->ready) && self->n_pending > 0 && timeout_usec != 0)
    {
      if (end_time < 0)
        g_cond_wait (&self->cond, &self->mutex);
      else if (!g_cond_wait_until (&self->cond, &self->mutex, end_time))
        break;
    }
  self->n_waiters--;
  result = g_queue_pop_head (&self->ready);
  g_mutex_unlock (&self->mutex);

  return result;
}

/**
 * p_result_queue_get_pending:
 * @self: a #PResultQueue
 *
 * Returns how many results were added and are not ready yet (those ready
 * and not popped are not counted).
 *
 * Returns: the number of results not ready yet
 *
 * Since: 0.1
 */
guint
p_result_queue_get_pending (PResultQueue *self)
{
  guint n_pending;

  g_return_val_if_fail (P_IS_RESULT_QUEUE (self), 0);

  g_mutex_lock (&self->mutex);
  n_pending = self->n_pending;
  g_mutex_unlock (&self->mutex);

  return n_pending;
}
