/* p-pool-work.c: what a pool is given to do
 *
 * The calls that give a pool work (p_pool_apply() and p_pool_submit(),
 * the maps, the imaps and the lazy imap), and the jobs they make, in the
 * caller's thread, for the pool's thread to take (p-job-private.c). The
 * pool itself, its properties and its end are in p-pool.c.
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"


#include "p-pool.h"
#include "p-pool-private.h"
#include "p-error-private.h"
#include "p-i18n-private.h"
#include "p-job-private.h"
#include "p-map-iter-private.h"
#include "p-message-writer-private.h"
#include "p-result-private.h"

/* {{{ Building jobs, in the caller's thread */

/* No worker serves a name that is not UTF-8 (p_worker_add_function()
 * refuses it, and a TASK could not carry it): such a task fails here. */
static gboolean
check_function_name (const char  *function,
                     GError     **error)
{
  g_autofree char *valid = NULL;

  if (G_LIKELY (g_utf8_validate (function, -1, NULL)))
    return TRUE;

  valid = g_utf8_make_valid (function, -1);
  g_propagate_error (error, p_error_new_unknown_function (valid));
  return FALSE;
}

static PJob *
build_apply_job (PPool         *self,
                 const char    *function,
                 GVariant      *args,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autoptr(GVariant) owned_args = NULL;
  PFrame *frame;
  PJob *job;
  guint64 id;

  owned_args = args ? g_variant_ref_sink (args) : g_variant_ref_sink (g_variant_new_tuple (NULL, 0));
  if (!check_function_name (function, error))
    return NULL;
  id = p_core_next_id (p_pool_get_core (self));
  frame = p_message_encode_task (id, function, owned_args, p_pool_get_core (self)->max_message_size, error);
  if (frame == NULL)
    return NULL;

  job = p_job_new (p_pool_get_core (self), P_JOB_APPLY, function, cancellable);
  job->n_items = 1;
  p_job_add_chunk (job, id, 0, 1, frame)->is_task = TRUE;

  return job;
}

static guint
default_map_chunksize (PPool *self,
                       gsize  n_items)
{
  gsize per_round = 4 * (gsize) p_pool_get_processes (self);

  return MAX (1, (n_items + per_round - 1) / per_round);
}

static PJob *
build_map_job (PPool         *self,
               PJobKind        kind,
               const char    *function,
               GVariant      *items,
               guint          chunksize,
               GCancellable  *cancellable,
               GError       **error)
{
  g_autoptr(GVariant) owned_items = g_variant_ref_sink (items);
  PJob *job;
  gsize n_items;

  if (!check_function_name (function, error))
    return NULL;

  if (!g_variant_is_of_type (owned_items, G_VARIANT_TYPE_ARRAY))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("The items must be an array, not a value of type “%s”"),
                   g_variant_get_type_string (owned_items));
      return NULL;
    }

  n_items = g_variant_n_children (owned_items);
  if (n_items > G_MAXUINT32)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Too many items: %zu"), n_items);
      return NULL;
    }

  if (chunksize == 0)
    chunksize = kind == P_JOB_MAP ? default_map_chunksize (self, n_items) : 1;

  job = p_job_new (p_pool_get_core (self), kind, function, cancellable);
  job->n_items = n_items;

  for (gsize first = 0; first < n_items; first += chunksize)
    {
      gsize n = MIN (chunksize, n_items - first);
      guint64 id = p_core_next_id (p_pool_get_core (self));
      PFrame *frame;

      /* A chunk of one item travels as a task: its reply is lighter. */
      if (n == 1)
        frame = p_message_encode_task_item (id, function, owned_items, first,
                                            p_pool_get_core (self)->max_message_size, error);
      else
        frame = p_message_encode_chunk_items (id, function, owned_items, first, n, kind == P_JOB_MAP,
                                              p_pool_get_core (self)->max_message_size, error);
      if (frame == NULL)
        {
          p_job_discard (p_pool_get_core (self), job, NULL);
          return NULL;
        }

      p_job_add_chunk (job, id, first, n, frame)->is_task = n == 1;
    }

  if (kind == P_JOB_MAP)
    job->chunk_values = g_new0 (GVariant *, MAX (job->n_chunks, 1));

  return job;
}

/* Either a job for the pool thread, or the error completes @result now. */
static PResult *
submit_result (PPool            *self,
               PJob              *job,
               GError           *build_error,
               PResultReadyFunc  ready_func,
               gpointer          ready_data)
{
  PResult *result = p_result_new (G_OBJECT (self), ready_func, ready_data);

  if (job == NULL)
    {
      p_result_return_error (result, build_error);
      return result;
    }

  p_result_set_job (result, p_pool_get_core (self), job->id);
  p_job_set_sink (job, p_result_get_link (result), result, ready_func != NULL);
  p_core_submit (p_pool_get_core (self), job);

  return result;
}

/* }}} */
/* {{{ Tasks, maps and imaps */

/**
 * p_pool_submit:
 * @self: a #PPool
 * @function: the name of a function the workers serve
 * @args: (nullable): its arguments; a floating reference is sunk. %NULL
 *   passes an empty tuple
 * @cancellable: (nullable): a #GCancellable
 *
 * Submits a task and returns at once: the `apply_async` of the original
 * `processing.Pool`, returning a #PResult.
 *
 * Cancelling @cancellable fails the task with %G_IO_ERROR_CANCELLED at
 * once; if it was running, its worker sees its #GCancellable cancelled.
 *
 * Arguments that cannot be sent fail the task at once: with
 * %G_IO_ERROR_MESSAGE_TOO_LARGE over #PPool:max-message-size, with
 * %G_IO_ERROR_INVALID_ARGUMENT when nested more than 126 levels deep
 * (variants' contents included), since GVariant reads 128 levels and the
 * arguments start two levels down in their message. A result that cannot
 * be sent fails the task the same way.
 *
 * Returns: (transfer full): the task's #PResult
 *
 * Since: 0.1
 */
PResult *
p_pool_submit (PPool        *self,
               const char   *function,
               GVariant     *args,
               GCancellable *cancellable)
{
  GError *error = NULL;
  PJob *job;

  g_return_val_if_fail (P_IS_POOL (self), NULL);
  g_return_val_if_fail (p_pool_get_core (self) != NULL, NULL);
  g_return_val_if_fail (function != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  job = build_apply_job (self, function, args, cancellable, &error);

  return submit_result (self, job, error, NULL, NULL);
}

/* For p-data.c: a task whose frame @encode writes (see p-pool-private.h). */
PResult *
p_pool_submit_encoded (PPool           *self,
                       const char      *function,
                       PTaskEncodeFunc  encode,
                       gpointer         user_data,
                       GCancellable    *cancellable)
{
  GError *error = NULL;
  PFrame *frame;
  PJob *job = NULL;
  guint64 id;

  /* For the public function that calls this. */
  g_return_val_if_fail (p_pool_get_core (self) != NULL, NULL);

  if (check_function_name (function, &error))
    {
      id = p_core_next_id (p_pool_get_core (self));
      frame = encode (id, function, p_pool_get_core (self)->max_message_size, user_data, &error);
      if (frame != NULL)
        {
          job = p_job_new (p_pool_get_core (self), P_JOB_APPLY, function, cancellable);
          job->n_items = 1;
          p_job_add_chunk (job, id, 0, 1, frame)->is_task = TRUE;
        }
    }

  return submit_result (self, job, error, NULL, NULL);
}

/**
 * p_pool_apply:
 * @self: a #PPool
 * @function: the name of a function the workers serve
 * @args: (nullable): its arguments; a floating reference is sunk. %NULL
 *   passes an empty tuple
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Runs a task in a worker and waits for its result. This may be called
 * from any thread; no main loop needs to run.
 *
 * A task's own error comes back with its domain, code and message.
 *
 * Returns: (transfer full): the task's result, or %NULL with @error set
 *
 * Since: 0.1
 */
GVariant *
p_pool_apply (PPool         *self,
              const char    *function,
              GVariant      *args,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autoptr(PResult) result = NULL;

  g_return_val_if_fail (P_IS_POOL (self), NULL);
  g_return_val_if_fail (p_pool_get_core (self) != NULL, NULL);
  g_return_val_if_fail (function != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  result = p_pool_submit (self, function, args, cancellable);

  return p_result_get (result, -1, error);
}

/* Completes an asynchronous call's GTask with its finished PResult. */
static void
return_result_on_task (PResult  *result,
                       gpointer  user_data)
{
  GTask *task = user_data;

  g_task_return_pointer (task, g_object_ref (result), g_object_unref);
  g_object_unref (task);
}

/**
 * p_pool_apply_async:
 * @self: a #PPool
 * @function: the name of a function the workers serve
 * @args: (nullable): its arguments; a floating reference is sunk. %NULL
 *   passes an empty tuple
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the task is done
 * @user_data: data for @callback
 *
 * Runs a task in a worker. @callback is called in the thread-default main
 * context of the calling thread; call p_pool_apply_finish() from it.
 *
 * Since: 0.1
 */
void
p_pool_apply_async (PPool               *self,
                    const char          *function,
                    GVariant            *args,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(PResult) result = NULL;
  GError *error = NULL;
  GTask *task;
  PJob *job;

  g_return_if_fail (P_IS_POOL (self));
  g_return_if_fail (p_pool_get_core (self) != NULL);
  g_return_if_fail (function != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, p_pool_apply_async);

  job = build_apply_job (self, function, args, cancellable, &error);
  result = submit_result (self, job, error, return_result_on_task, task);
}

/**
 * p_pool_apply_finish:
 * @self: a #PPool
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes p_pool_apply_async().
 *
 * Returns: (transfer full): the task's result, or %NULL with @error set
 *
 * Since: 0.1
 */
GVariant *
p_pool_apply_finish (PPool         *self,
                     GAsyncResult  *result,
                     GError       **error)
{
  g_autoptr(PResult) presult = NULL;

  g_return_val_if_fail (P_IS_POOL (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == p_pool_apply_async, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  presult = g_task_propagate_pointer (G_TASK (result), error);
  if (presult == NULL)
    return NULL;

  return p_result_get (presult, 0, error);
}

/**
 * p_pool_submit_map:
 * @self: a #PPool
 * @function: the name of a function the workers serve
 * @items: an array of any type; each element is the arguments of one
 *   call. A floating reference is sunk
 * @chunksize: how many items to send to a worker at once; 0 for
 *   ceil(n / (4 × processes)), as multiprocessing does
 * @cancellable: (nullable): a #GCancellable
 *
 * Submits a map and returns at once; see p_pool_map(). The #PResult's
 * value is an `av` of every item's result, in the order of the items.
 *
 * Returns: (transfer full): the map's #PResult
 *
 * Since: 0.1
 */
PResult *
p_pool_submit_map (PPool        *self,
                   const char   *function,
                   GVariant     *items,
                   guint         chunksize,
                   GCancellable *cancellable)
{
  GError *error = NULL;
  PJob *job;

  g_return_val_if_fail (P_IS_POOL (self), NULL);
  g_return_val_if_fail (p_pool_get_core (self) != NULL, NULL);
  g_return_val_if_fail (function != NULL, NULL);
  g_return_val_if_fail (items != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  job = build_map_job (self, P_JOB_MAP, function, items, chunksize, cancellable, &error);

  return submit_result (self, job, error, NULL, NULL);
}

/**
 * p_pool_map:
 * @self: a #PPool
 * @function: the name of a function the workers serve
 * @items: an array of any type; each element is the arguments of one
 *   call. A floating reference is sunk
 * @chunksize: how many items to send to a worker at once; 0 for
 *   ceil(n / (4 × processes)), as multiprocessing does
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Calls @function once for every element of @items, in the workers, and
 * waits for all the results. The first error fails the whole map and
 * cancels the rest. @items that is not an array fails with
 * %G_IO_ERROR_INVALID_ARGUMENT, and so does an item nested too deep to be
 * sent (see p_pool_submit(); in a chunk of several items, an item sits one
 * level further down than a task's arguments, so 125 levels at most).
 *
 * Returns: (transfer full): an `av` of the results, in the order of the
 *   items, or %NULL with @error set
 *
 * Since: 0.1
 */
GVariant *
p_pool_map (PPool         *self,
            const char    *function,
            GVariant      *items,
            guint          chunksize,
            GCancellable  *cancellable,
            GError       **error)
{
  g_autoptr(PResult) result = NULL;

  g_return_val_if_fail (P_IS_POOL (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  result = p_pool_submit_map (self, function, items, chunksize, cancellable);
  if (result == NULL)
    return NULL;

  return p_result_get (result, -1, error);
}

/**
 * p_pool_map_async:
 * @self: a #PPool
 * @function: the name of a function the workers serve
 * @items: an array of any type; each element is the arguments of one
 *   call. A floating reference is sunk
 * @chunksize: how many items to send to a worker at once, or 0
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the map is done
 * @user_data: data for @callback
 *
 * The asynchronous form of p_pool_map(). @callback is called in the
 * thread-default main context of the calling thread; call
 * p_pool_map_finish() from it.
 *
 * Since: 0.1
 */
void
p_pool_map_async (PPool               *self,
                  const char          *function,
                  GVariant            *items,
                  guint                chunksize,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  g_autoptr(PResult) result = NULL;
  GError *error = NULL;
  GTask *task;
  PJob *job;

  g_return_if_fail (P_IS_POOL (self));
  g_return_if_fail (p_pool_get_core (self) != NULL);
  g_return_if_fail (function != NULL);
  g_return_if_fail (items != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, p_pool_map_async);

  job = build_map_job (self, P_JOB_MAP, function, items, chunksize, cancellable, &error);
  result = submit_result (self, job, error, return_result_on_task, task);
}

/**
 * p_pool_map_finish:
 * @self: a #PPool
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes p_pool_map_async().
 *
 * Returns: (transfer full): an `av` of the results, in the order of the
 *   items, or %NULL with @error set
 *
 * Since: 0.1
 */
GVariant *
p_pool_map_finish (PPool         *self,
                   GAsyncResult  *result,
                   GError       **error)
{
  g_autoptr(PResult) presult = NULL;

  g_return_val_if_fail (P_IS_POOL (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == p_pool_map_async, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  presult = g_task_propagate_pointer (G_TASK (result), error);
  if (presult == NULL)
    return NULL;

  /* The "av" is assembled here, in the caller's thread. */
  return p_result_get (presult, 0, error);
}

static PMapIter *
submit_imap (PPool        *self,
             gboolean      ordered,
             const char   *function,
             GVariant     *items,
             guint         chunksize,
             GCancellable *cancellable)
{
  g_autoptr(GError) error = NULL;
  PMapIter *iter;
  PJob *job;

  job = build_map_job (self, P_JOB_IMAP, function, items, chunksize, cancellable, &error);
  if (job == NULL)
    {
      iter = p_map_iter_new (G_OBJECT (self), ordered, 1);
      p_map_iter_fail (iter, error);
      return iter;
    }

  iter = p_map_iter_new (G_OBJECT (self), ordered, job->n_items);
  p_job_set_sink (job, p_map_iter_get_link (iter), iter, FALSE);
  p_core_submit (p_pool_get_core (self), job);

  return iter;
}

/**
 * p_pool_imap:
 * @self: a #PPool
 * @function: the name of a function the workers serve
 * @items: an array of any type; each element is the arguments of one
 *   call. A floating reference is sunk
 * @chunksize: how many items to send to a worker at once; 0 for 1
 * @cancellable: (nullable): a #GCancellable
 *
 * Like p_pool_map(), but returns at once an iterator that yields each
 * result, in the order of the items, as soon as it and those before it are
 * there. An item that fails yields its error in its place. A bad @items
 * makes the iterator's first call fail.
 *
 * Returns: (transfer full): a #PMapIter
 *
 * Since: 0.1
 */
PMapIter *
p_pool_imap (PPool        *self,
             const char   *function,
             GVariant     *items,
             guint         chunksize,
             GCancellable *cancellable)
{
  g_return_val_if_fail (P_IS_POOL (self), NULL);
  g_return_val_if_fail (p_pool_get_core (self) != NULL, NULL);
  g_return_val_if_fail (function != NULL, NULL);
  g_return_val_if_fail (items != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  return submit_imap (self, TRUE, function, items, chunksize, cancellable);
}

/**
 * p_pool_imap_unordered:
 * @self: a #PPool
 * @function: the name of a function the workers serve
 * @items: an array of any type; each element is the arguments of one
 *   call. A floating reference is sunk
 * @chunksize: how many items to send to a worker at once; 0 for 1
 * @cancellable: (nullable): a #GCancellable
 *
 * Like p_pool_imap(), but yields the results in the order they finish.
 * Every item's result (or error) is yielded exactly once.
 *
 * Returns: (transfer full): a #PMapIter
 *
 * Since: 0.1
 */
PMapIter *
p_pool_imap_unordered (PPool        *self,
                       const char   *function,
                       GVariant     *items,
                       guint         chunksize,
                       GCancellable *cancellable)
{
  g_return_val_if_fail (P_IS_POOL (self), NULL);
  g_return_val_if_fail (p_pool_get_core (self) != NULL, NULL);
  g_return_val_if_fail (function != NULL, NULL);
  g_return_val_if_fail (items != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  return submit_imap (self, FALSE, function, items, chunksize, cancellable);
}

/* }}} */
/* {{{ Lazy maps */

/* Where a lazy map's items come from, and how far it went. */
typedef struct
{
  GMutex mutex;            /* one pull at a time, whichever thread takes */
  PPool *pool;
  char *function;
  PItemSource source;
  gpointer user_data;
  GDestroyNotify destroy;
  guint buffersize;
  GCancellable *cancellable;
  guint n_pulled;
  gboolean ended;
} LazyFeed;

static void
lazy_feed_free (LazyFeed *feed)
{
  if (feed->destroy != NULL)
    feed->destroy (feed->user_data);
  g_clear_object (&feed->cancellable);
  g_free (feed->function);
  g_object_unref (feed->pool);
  g_mutex_clear (&feed->mutex);
  g_free (feed);
}

/* A job of one item, whose result is the @index-th of its iterator. */
static PJob *
build_lazy_item_job (PPool         *self,
                     const char    *function,
                     GVariant      *item,
                     guint          index,
                     GCancellable  *cancellable,
                     GError       **error)
{
  guint64 id = p_core_next_id (p_pool_get_core (self));
  PFrame *frame = p_message_encode_task (id, function, item, p_pool_get_core (self)->max_message_size, error);
  PJob *job;

  if (frame == NULL)
    return NULL;

  job = p_job_new (p_pool_get_core (self), P_JOB_IMAP, function, cancellable);
  job->n_items = 1;
  p_job_add_chunk (job, id, index, 1, frame)->is_task = TRUE;

  return job;
}

/* Pulls items while fewer than buffersize are submitted and not taken;
 * in the thread that took the last (see p_map_iter_set_feed()). */
static void
lazy_feed (PMapIter *iter,
           gpointer  user_data)
{
  LazyFeed *feed = user_data;

  g_mutex_lock (&feed->mutex);
  while (!feed->ended && feed->n_pulled - p_map_iter_get_taken (iter) < feed->buffersize)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) item = NULL;
      GVariant *pulled;
      PJob *job;
      guint index;

      /* What was pulled fails by its jobs; nothing more is. */
      if (g_cancellable_is_cancelled (feed->cancellable))
        {
          feed->ended = TRUE;
          p_map_iter_fail (iter, error = p_error_new_cancelled ());
          break;
        }

      pulled = feed->source (feed->user_data, &error);
      if (pulled == NULL)
        {
          feed->ended = TRUE;
          p_map_iter_end_items (iter, g_steal_pointer (&error));
          break;
        }
      item = g_variant_ref_sink (pulled);

      index = p_map_iter_add_items (iter, 1);
      feed->n_pulled++;
      job = build_lazy_item_job (feed->pool, feed->function, item, index, feed->cancellable, &error);
      if (job == NULL)
        {
          p_map_iter_push_error (iter, index, 1, error);
          continue;
        }

      p_job_set_sink (job, p_map_iter_get_link (iter), iter, FALSE);
      p_core_submit (p_pool_get_core (feed->pool), job);
    }
  g_mutex_unlock (&feed->mutex);
}

/**
 * p_pool_imap_lazy:
 * @self: a #PPool
 * @function: the name of a function the workers serve
 * @source: (scope notified) (closure user_data) (destroy destroy): where
 *   the items come from
 * @user_data: data for @source
 * @destroy: (nullable): frees @user_data when the iterator is finalized
 * @buffersize: how many items may be submitted and not yet taken from the
 *   iterator, at least 1
 * @ordered: %TRUE for results in the order of the items, as
 *   p_pool_imap() gives them; %FALSE for the order they finish in, as
 *   p_pool_imap_unordered()
 * @cancellable: (nullable): a #GCancellable
 *
 * Like p_pool_imap(), for items that come from @source as they are needed
 * rather than in an array: at most @buffersize items are submitted and not
 * yet taken from the iterator, so that a huge or endless source runs in
 * bounded memory (the `imap(buffersize=)` of Python 3.14). Each item is one
 * task.
 *
 * @source is called for @buffersize items before this returns, then for
 * one more after each result taken, in the thread that takes it (the one
 * that calls p_map_iter_next(), or, for p_map_iter_next_async(), the
 * thread-default main context of the thread that called this), never in
 * two threads at once. When it fails, the iterator yields its error after
 * the results of the items before it, then ends.
 *
 * Returns: (transfer full): a #PMapIter; its #PMapIter:total counts the
 *   items taken from @source so far
 *
 * Since: 0.1
 */
PMapIter *
p_pool_imap_lazy (PPool          *self,
                  const char     *function,
                  PItemSource     source,
                  gpointer        user_data,
                  GDestroyNotify  destroy,
                  guint           buffersize,
                  gboolean        ordered,
                  GCancellable   *cancellable)
{
  g_autoptr(GError) error = NULL;
  LazyFeed *feed;
  PMapIter *iter;

  g_return_val_if_fail (P_IS_POOL (self), NULL);
  g_return_val_if_fail (p_pool_get_core (self) != NULL, NULL);
  g_return_val_if_fail (function != NULL, NULL);
  g_return_val_if_fail (source != NULL, NULL);
  g_return_val_if_fail (buffersize > 0, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  iter = p_map_iter_new (G_OBJECT (self), ordered, 0);

  feed = g_new0 (LazyFeed, 1);
  g_mutex_init (&feed->mutex);
  feed->pool = g_object_ref (self);
  feed->function = g_strdup (function);
  feed->source = source;
  feed->user_data = user_data;
  feed->destroy = destroy;
  feed->buffersize = buffersize;
  feed->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  p_map_iter_set_feed (iter, lazy_feed, feed, (GDestroyNotify) lazy_feed_free);

  if (!check_function_name (function, &error))
    {
      feed->ended = TRUE;
      p_map_iter_fail (iter, error);
      return iter;
    }

  lazy_feed (iter, feed);

  return iter;
}

/* }}} */
