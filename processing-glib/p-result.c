/* p-result.c: the result of a task submitted to a pool
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <gio/gio.h>

#include "p-result-private.h"
#include "p-result-queue-private.h"
#include "p-job-private.h"
#include "p-pool-private.h"
#include "p-chunk-results-private.h"
#include "p-i18n-private.h"

/**
 * SECTION:p-result
 * @title: PResult
 * @short_description: The result of a task submitted to a pool
 *
 * The result of a task submitted with p_pool_submit() or
 * p_pool_submit_map(): the "asynchronous result object" of the original
 * `processing.Pool`.
 *
 * A #PResult can be polled with p_result_ready(), waited for with
 * p_result_wait() and read with p_result_get(), from any thread and with
 * no main loop running. Waiting with a timeout never cancels the task.
 *
 * The #PResult:is-ready property changes once, from %FALSE to %TRUE; its
 * #GObject::notify signal is emitted in the thread-default main context of
 * the thread that submitted the task. (It is not named `ready`: in gjs, a
 * property hides the method of the same name, and p_result_ready() must
 * stay callable there.)
 *
 * While it is not ready, a #PResult keeps its pool alive.
 */

/**
 * PResult:
 *
 * The result of a task submitted to a pool. See the section's description.
 *
 * Since: 0.1
 */

/**
 * P_TYPE_RESULT:
 *
 * The #GType of #PResult.
 *
 * Since: 0.1
 */

struct _PResult
{
  GObject parent_instance;

  GMutex mutex;
  GCond cond;
  guint n_waiters;             /* under the mutex: a broadcast is a system call */

  /* Written once under the mutex, then read-only. */
  int ready;                   /* atomic */
  GVariant *value;
  PDeferredValue *deferred_value;  /* made into @value by the first reader */
  GError *error;
  GVariant **chunk_values;     /* a map's per-chunk "av", assembled on demand */
  guint n_chunks;
  guint n_items;

  /* Under the mutex. */
  double progress;
  char *progress_message;
  gboolean progress_message_changed;
  gboolean progress_notify_pending;

  GMainContext *context;
  GObject *pool;               /* while not ready */
  PSinkLink *link;             /* the pool thread's way here */
  PResultReadyFunc ready_func;
  gpointer ready_data;
  PResultQueue *queue;         /* under the mutex: where it goes when ready */
  gboolean queued;             /* under the mutex: added to a queue once */
  PCore *core;                 /* under the mutex, while not ready: p_result_cancel() */
  guint64 job_id;
};

enum {
  PROP_0,
  PROP_IS_READY,
  PROP_PROGRESS,
  PROP_PROGRESS_MESSAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (PResult, p_result, G_TYPE_OBJECT)

static void
free_chunk_values (PResult *self)
{
  for (guint i = 0; i < self->n_chunks; i++)
    g_clear_pointer (&self->chunk_values[i], g_variant_unref);
  g_clear_pointer (&self->chunk_values, g_free);
  self->n_chunks = 0;
}

static void
p_result_dispose (GObject *object)
{
  PResult *self = P_RESULT (object);

  p_sink_link_clear (&self->link);

  G_OBJECT_CLASS (p_result_parent_class)->dispose (object);
}

static void
p_result_finalize (GObject *object)
{
  PResult *self = P_RESULT (object);

  g_clear_pointer (&self->value, g_variant_unref);
  g_clear_pointer (&self->deferred_value, p_deferred_value_free);
  g_clear_error (&self->error);
  g_free (self->progress_message);
  free_chunk_values (self);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_object (&self->pool);
  g_clear_object (&self->queue);
  g_clear_pointer (&self->core, p_core_unref);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (p_result_parent_class)->finalize (object);
}

static void
p_result_get_property (GObject    *object,
                       guint       prop_id,
                       GValue     *value,
                       GParamSpec *pspec)
{
  PResult *self = P_RESULT (object);

  switch (prop_id)
    {
    case PROP_IS_READY:
      g_value_set_boolean (value, p_result_ready (self));
      break;

    case PROP_PROGRESS:
      g_value_set_double (value, p_result_get_progress (self));
      break;

    case PROP_PROGRESS_MESSAGE:
      g_value_take_string (value, p_result_dup_progress_message (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
p_result_class_init (PResultClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = p_result_dispose;
  object_class->finalize = p_result_finalize;
  object_class->get_property = p_result_get_property;

  /**
   * PResult:is-ready:
   *
   * Whether the task has finished, successfully or not, as
   * p_result_ready() returns. Notified once, in the thread-default main
   * context of the thread that submitted the task.
   *
   * Since: 0.1
   */
  properties[PROP_IS_READY] =
    g_param_spec_boolean ("is-ready", NULL, NULL,
                          FALSE,
                          (G_PARAM_READABLE |
                           G_PARAM_EXPLICIT_NOTIFY |
                           G_PARAM_STATIC_STRINGS));

  /**
   * PResult:progress:
   *
   * How much of the task is done, from 0 to 1, as its function reported
   * with p_worker_report_progress(); for a map, the share of its items
   * done. 1 once the task succeeded. Notified in the thread-default main
   * context of the thread that submitted the task, at most once per
   * iteration of that context however many reports came.
   *
   * Since: 0.1
   */
  properties[PROP_PROGRESS] =
    g_param_spec_double ("progress", NULL, NULL,
                         0.0, 1.0, 0.0,
                         (G_PARAM_READABLE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * PResult:progress-message:
   *
   * What the task said it was doing with its last progress report
   * (p_worker_report_progress()), or %NULL. Notified with
   * #PResult:progress.
   *
   * Since: 0.1
   */
  properties[PROP_PROGRESS_MESSAGE] =
    g_param_spec_string ("progress-message", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  p_i18n_init ();
}

static void
p_result_init (PResult *self)
{
  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
}

PResult *
p_result_new (GObject          *pool,
              PResultReadyFunc  ready_func,
              gpointer          ready_data)
{
  PResult *self = g_object_new (P_TYPE_RESULT, NULL);

  self->pool = pool ? g_object_ref (pool) : NULL;
  self->context = g_main_context_ref_thread_default ();
  self->ready_func = ready_func;
  self->ready_data = ready_data;
  self->link = p_sink_link_new (G_OBJECT (self));

  return self;
}

PSinkLink *
p_result_get_link (PResult *self)
{
  return self->link;
}

static gboolean
notify_ready_in_context (gpointer user_data)
{
  g_object_notify_by_pspec (user_data, properties[PROP_IS_READY]);
  return G_SOURCE_REMOVE;
}

/* {{{ Progress */

static gboolean
notify_progress_in_context (gpointer user_data)
{
  PResult *self = user_data;
  gboolean message_changed;

  g_mutex_lock (&self->mutex);
  self->progress_notify_pending = FALSE;
  message_changed = self->progress_message_changed;
  self->progress_message_changed = FALSE;
  g_mutex_unlock (&self->mutex);

  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
  if (message_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS_MESSAGE]);
  g_object_thaw_notify (G_OBJECT (self));

  return G_SOURCE_REMOVE;
}

/* With the mutex held: notifies the change, once for however many come
 * before the submitter's context runs, and only when somebody listens
 * (@listened: p_sink_has_notify_handlers()). */
static void
progress_changed_locked (PResult  *self,
                         gboolean  listened)
{
  if (self->progress_notify_pending || !listened)
    return;

  self->progress_notify_pending = TRUE;
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT,
                              notify_progress_in_context,
                              g_object_ref (self), g_object_unref);
}

/* From the pool's thread: what the task reported, or how much of a map
 * is done. */
void
p_result_report_progress (PResult    *self,
                          double      fraction,
                          const char *message)
{
  g_mutex_lock (&self->mutex);
  self->progress = fraction;
  if (g_strcmp0 (self->progress_message, message) != 0)
    {
      g_free (self->progress_message);
      self->progress_message = g_strdup (message);
      self->progress_message_changed = TRUE;
    }
  progress_changed_locked (self, p_sink_has_notify_handlers (self));
  g_mutex_unlock (&self->mutex);
}

/**
 * p_result_get_progress:
 * @self: a #PResult
 *
 * Returns #PResult:progress: how much of the task is done, from 0 to 1.
 *
 * Returns: the fraction done
 *
 * Since: 0.1
 */
double
p_result_get_progress (PResult *self)
{
  double progress;

  g_return_val_if_fail (P_IS_RESULT (self), 0.0);

  g_mutex_lock (&self->mutex);
  progress = self->progress;
  g_mutex_unlock (&self->mutex);

  return progress;
}

/**
 * p_result_dup_progress_message:
 * @self: a #PResult
 *
 * Returns #PResult:progress-message: what the task said it was doing.
 *
 * Returns: (transfer full) (nullable): the message, or %NULL
 *
 * Since: 0.1
 */
char *
p_result_dup_progress_message (PResult *self)
{
  char *message;

  g_return_val_if_fail (P_IS_RESULT (self), NULL);

  g_mutex_lock (&self->mutex);
  message = g_strdup (self->progress_message);
  g_mutex_unlock (&self->mutex);

  return message;
}

/* }}} */

/* Everything after the state change, outside the lock. */
static void
complete (PResult *self)
{
  PResultReadyFunc ready_func;
  PResultQueue *queue;
  PCore *core;
  gboolean waited_for;
  gboolean listened = p_sink_has_notify_handlers (self);

  /* Let go of the pool before anybody can see the result: a waiter that
   * then drops the pool must be the one whose unref reaps the workers. */
  g_clear_object (&self->pool);

  g_mutex_lock (&self->mutex);
  g_atomic_int_set (&self->ready, TRUE);
  waited_for = self->n_waiters > 0;
  ready_func = g_steal_pointer (&self->ready_func);
  queue = g_steal_pointer (&self->queue);
  core = g_steal_pointer (&self->core);
  if (self->error == NULL && self->progress < 1.0)
    {
      self->progress = 1.0;
      progress_changed_locked (self, listened);
    }
  g_mutex_unlock (&self->mutex);

  g_clear_pointer (&core, p_core_unref);

  /* After the unlock, so that the waiter does not wake to a held mutex;
   * the caller holds a reference meanwhile. */
  if (waited_for)
    p_wake_waiters (G_OBJECT (self), &self->cond);

  if (queue != NULL)
    {
      p_result_queue_push_ready (queue, self);
      g_object_unref (queue);
    }

  if (listened)
    g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT,
                                notify_ready_in_context,
                                g_object_ref (self), g_object_unref);

  if (ready_func != NULL)
    ready_func (self, self->ready_data);
}

/* The job p_result_cancel() cancels. */
void
p_result_set_job (PResult *self,
                  PCore   *core,
                  guint64  job_id)
{
  g_mutex_lock (&self->mutex);
  g_assert (self->core == NULL);
  if (!p_result_ready (self))
    self->core = p_core_ref (core);
  self->job_id = job_id;
  g_mutex_unlock (&self->mutex);
}

PResultQueueing
p_result_set_queue (PResult      *self,
                    PResultQueue *queue)
{
  PResultQueueing queueing;

  g_mutex_lock (&self->mutex);
  if (self->queued)
    queueing = P_RESULT_IN_A_QUEUE;
  else if (g_atomic_int_get (&self->ready))
    queueing = P_RESULT_ALREADY_READY;
  else
    {
      queueing = P_RESULT_QUEUED;
      self->queue = g_object_ref (queue);
    }
  self->queued = TRUE;
  g_mutex_unlock (&self->mutex);

  return queueing;
}

void
p_result_return_value (PResult  *self,
                       GVariant *value)
{
  g_assert (!p_result_ready (self));

  /* Owns @value, floating or not. */
  self->value = g_variant_take_ref (value);
  complete (self);
}

/* The value, to be made in the thread that reads it, which frees it
 * (see p_message_dup_value()). */
void
p_result_return_deferred_value (PResult        *self,
                                PDeferredValue *deferred)
{
  g_assert (!p_result_ready (self));

  self->deferred_value = deferred;
  complete (self);
}

void
p_result_return_error (PResult *self,
                       GError  *error)
{
  g_assert (!p_result_ready (self));

  self->error = error;
  complete (self);
}

/* A map's result: the results of every chunk ("av" or "aT"), in order;
 * the single "av" of the whole map is assembled by whoever reads it, not
 * by the pool thread. */
void
p_result_return_chunks (PResult   *self,
                        GVariant **chunk_values,
                        guint      n_chunks,
                        guint      n_items)
{
  g_assert (!p_result_ready (self));

  self->chunk_values = chunk_values;
  self->n_chunks = n_chunks;
  self->n_items = n_items;
  complete (self);
}

/**
 * p_result_ready:
 * @self: a #PResult
 *
 * Returns whether the task has finished, successfully or not. Never blocks.
 *
 * Returns: %TRUE if the result is ready
 *
 * Since: 0.1
 */
gboolean
p_result_ready (PResult *self)
{
  g_return_val_if_fail (P_IS_RESULT (self), FALSE);

  return g_atomic_int_get (&self->ready);
}

/**
 * p_result_successful:
 * @self: a #PResult
 *
 * Returns whether the task finished without an error. It is a programming
 * error to call this before the result is ready.
 *
 * Returns: %TRUE if the task succeeded
 *
 * Since: 0.1
 */
gboolean
p_result_successful (PResult *self)
{
  g_return_val_if_fail (P_IS_RESULT (self), FALSE);
  g_return_val_if_fail (p_result_ready (self), FALSE);

  return self->error == NULL;
}

/**
 * p_result_wait:
 * @self: a #PResult
 * @timeout_usec: how long to wait, in microseconds: -1 to wait for as long
 *   as it takes, 0 not to wait
 *
 * Waits until the result is ready or @timeout_usec has passed. A timeout
 * does not cancel the task. No main loop needs to run.
 *
 * Returns: %TRUE if the result is ready
 *
 * Since: 0.1
 */
gboolean
p_result_wait (PResult *self,
               gint64   timeout_usec)
{
  gint64 end_time;

  g_return_val_if_fail (P_IS_RESULT (self), FALSE);
  g_return_val_if_fail (timeout_usec >= -1, FALSE);

  if (p_result_ready (self) || timeout_usec == 0)
    return p_result_ready (self);

  end_time = timeout_usec > 0 ? g_get_monotonic_time () + timeout_usec : -1;

  g_mutex_lock (&self->mutex);
  self->n_waiters++;
  while (!g_atomic_int_get (&self->ready))
    {
      if (end_time < 0)
        g_cond_wait (&self->cond, &self->mutex);
      else if (!g_cond_wait_until (&self->cond, &self->mutex, end_time))
        break;
    }
  self->n_waiters--;
  g_mutex_unlock (&self->mutex);

  return p_result_ready (self);
}

/**
 * p_result_get:
 * @self: a #PResult
 * @timeout_usec: how long to wait, in microseconds: -1 to wait for as long
 *   as it takes, 0 not to wait
 * @error: return location for a #GError
 *
 * Waits for the result as p_result_wait() does and returns it.
 *
 * If the task failed, its error is returned: a task's own #GError keeps its
 * domain, code and message. If the result is not ready when @timeout_usec
 * has passed, fails with %G_IO_ERROR_TIMED_OUT; the task goes on and the
 * result can be asked for again.
 *
 * For a result of p_pool_submit_map(), the value is an array of type `av`
 * holding every item's result in the order of the items.
 *
 * Returns: (transfer full): the value the task returned, or %NULL with
 *   @error set
 *
 * Since: 0.1
 */
GVariant *
p_result_get (PResult  *self,
              gint64    timeout_usec,
              GError  **error)
{
  GVariant *value = NULL;

  g_return_val_if_fail (P_IS_RESULT (self), NULL);
  g_return_val_if_fail (timeout_usec >= -1, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!p_result_wait (self, timeout_usec))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           _("Timed out waiting for the result"));
      return NULL;
    }

  if (self->error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return NULL;
    }

  g_mutex_lock (&self->mutex);
  if (self->value == NULL && self->deferred_value != NULL)
    {
      self->value = p_deferred_value_take (g_steal_pointer (&self->deferred_value));
    }
  else if (self->value == NULL && self->chunk_values != NULL)
    {
      self->value = p_variant_join_boxed (self->chunk_values, self->n_chunks);
      free_chunk_values (self);
    }
  else if (self->value == NULL)
    {
      /* An empty map. */
      self->value = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARIANT, NULL, 0));
    }
  value = g_variant_ref (self->value);
  g_mutex_unlock (&self->mutex);

  return value;
}

/**
 * p_result_cancel:
 * @self: a #PResult
 *
 * Cancels the task, or the map, queued or running: unless it is ready, the
 * result is soon ready with %G_IO_ERROR_CANCELLED, as when the
 * #GCancellable it was submitted with is cancelled. Only this result's
 * work is cancelled, not other work submitted with the same #GCancellable.
 * A running task is cancelled as p_pool_submit() describes.
 *
 * Returns: %TRUE if the work was cancelled (it was not ready yet), %FALSE
 *   if it was ready
 *
 * Since: 0.1
 */
gboolean
p_result_cancel (PResult *self)
{
  g_autoptr(PCore) core = NULL;

  g_return_val_if_fail (P_IS_RESULT (self), FALSE);

  g_mutex_lock (&self->mutex);
  if (!p_result_ready (self) && self->core != NULL)
    core = p_core_ref (self->core);
  g_mutex_unlock (&self->mutex);

  if (core == NULL)
    return FALSE;

  p_core_cancel_job (core, self->job_id);
  return TRUE;
}
