/* p-worker.c: the worker side of a pool
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>


#include "p-worker-private.h"
#include "p-chunk-results-private.h"
#include "p-error.h"
#include "p-error-private.h"
#include "p-i18n-private.h"
#include "p-message-writer-private.h"
#include "p-sandbox-enforce-private.h"
#include "p-sealed-private.h"

/**
 * SECTION:p-worker
 * @title: PWorker
 * @short_description: The worker side of a pool
 *
 * The worker side of a #PPool: serves named task functions to the pool that
 * started the process.
 *
 * A program that is its own worker (a pool created with a %NULL
 * #PPool:worker-argv) starts like this:
 *
 * |[<!-- language="C" -->
 * int
 * main (int argc, char **argv)
 * {
 *   if (p_worker_is_requested ())
 *     {
 *       g_autoptr(PWorker) worker = p_worker_new ();
 *       g_autoptr(GError) error = NULL;
 *
 *       p_worker_add_function (worker, "square", square, NULL, NULL);
 *       if (!p_worker_run (worker, &error))
 *         g_error ("%s", error->message);
 *       return 0;
 *     }
 *
 *   // ... the program itself, which creates the pool
 * }
 * ]|
 *
 * Tasks run one at a time in the thread that calls p_worker_run(). The
 * channel is read on a thread of its own meanwhile, so that a task whose
 * caller gives up sees its #GCancellable cancelled while it runs.
 */

/**
 * PWorker:
 *
 * The worker side of a pool. See the section's description.
 *
 * Since: 0.1
 */

/**
 * P_TYPE_WORKER:
 *
 * The #GType of #PWorker.
 *
 * Since: 0.1
 */

G_DEFINE_FINAL_TYPE (PWorker, p_worker, G_TYPE_OBJECT)

static guint cancelled_signal_id;

/* {{{ The cancellable a task gets
 *
 * A task's GCancellable serves the next task too while it is as good as
 * new: nobody cancelled it, nothing is connected to it (a handler a
 * function forgot would fire for a later task's cancel), and nobody else
 * holds it (a function may keep it past its task). The worker holds it by
 * a toggle reference, which tells when another reference comes and goes:
 * a GObject less per task. */

static void
on_task_cancellable_toggled (gpointer  data,
                             GObject  *object,
                             gboolean  is_last_ref)
{
  PWorker *self = data;

  g_atomic_int_set (&self->task_cancellable_shared, !is_last_ref);
}

/* The task thread's cancellable for the next task (borrowed). */
static GCancellable *
task_cancellable_take (PWorker *self)
{
  if (self->task_cancellable == NULL)
    {
      GCancellable *cancellable = g_cancellable_new ();

      /* Ours is then the toggle reference alone. */
      g_object_add_toggle_ref (G_OBJECT (cancellable), on_task_cancellable_toggled, self);
      g_object_unref (cancellable);
      self->task_cancellable = cancellable;
    }

  return self->task_cancellable;
}

static void
task_cancellable_drop (PWorker *self)
{
  GCancellable *cancellable = g_steal_pointer (&self->task_cancellable);

  if (cancellable != NULL)
    g_object_remove_toggle_ref (G_OBJECT (cancellable), on_task_cancellable_toggled, self);
}

/* After a task: the cancellable is kept for the next one, or dropped. */
static void
task_cancellable_release (PWorker *self)
{
  GCancellable *cancellable = self->task_cancellable;

  if (cancellable != NULL &&
      (g_atomic_int_get (&self->task_cancellable_shared) ||
       g_cancellable_is_cancelled (cancellable) ||
       g_signal_has_handler_pending (cancellable, cancelled_signal_id, 0, TRUE)))
    task_cancellable_drop (self);
  g_clear_pointer (&self->progress_waiting, p_frame_unref);
}

/* }}} */

static void
function_free (gpointer data)
{
  Function *function = data;

  if (function->destroy != NULL)
    function->destroy (function->user_data);
  g_free (function);
}

static void
p_worker_finalize (GObject *object)
{
  PWorker *self = P_WORKER (object);
  GList *link;

  g_clear_pointer (&self->functions, g_hash_table_unref);
  g_clear_pointer (&self->cancelled_queued, g_hash_table_unref);
  while ((link = g_queue_pop_head_link (&self->queue)))
    p_message_free (link->data);
  g_clear_pointer (&self->reader, p_frame_reader_free);
  p_frame_queue_clear (&self->output);
  p_worker_link_clear (&self->link);
  task_cancellable_drop (self);
  g_clear_error (&self->input_error);
  g_clear_error (&self->output_error);
  g_clear_pointer (&self->sandbox_report, g_variant_unref);
  if (self->reader_wakeup_fd >= 0)
    close (self->reader_wakeup_fd);
  if (self->task_wakeup_fd >= 0)
    close (self->task_wakeup_fd);
  p_reply_area_unmap (self->reply_area, self->reply_area_capacity);
  g_mutex_clear (&self->mutex);
  g_mutex_clear (&self->write_mutex);

  G_OBJECT_CLASS (p_worker_parent_class)->finalize (object);
}

static void
p_worker_class_init (PWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = p_worker_finalize;

  /* Its class makes the signal. */
  g_type_class_unref (g_type_class_ref (G_TYPE_CANCELLABLE));
  cancelled_signal_id = g_signal_lookup ("cancelled", G_TYPE_CANCELLABLE);

  p_i18n_init ();
}

static void
p_worker_init (PWorker *self)
{
  self->functions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, function_free);
  self->cancelled_queued = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  p_frame_queue_init (&self->output);
  self->link.in_fd = self->link.out_fd = -1;
  self->reader_wakeup_fd = -1;
  self->task_wakeup_fd = -1;
  g_queue_init (&self->queue);
  g_mutex_init (&self->mutex);
  g_mutex_init (&self->write_mutex);
}

/**
 * p_worker_is_requested:
 *
 * Returns whether this process was started by a #PPool to be its worker.
 * A program that is its own worker calls this early in main() and, if it
 * returns %TRUE, serves its functions with p_worker_run() and exits.
 *
 * Returns: %TRUE if the process should run as a worker
 *
 * Since: 0.1
 */
gboolean
p_worker_is_requested (void)
{
  gsize max_message_size;
  GPid parent;
  int fd;

  /* The parent's pid in the environment keeps a worker's own children
   * from taking themselves for workers. */
  return (p_channel_parse_env (g_getenv (P_CHANNEL_ENV), &fd, &parent, &max_message_size) &&
          parent == getppid ()) ||
         /* Started on another host: its parent is not the pool. */
         p_worker_link_is_requested ();
}

/**
 * p_worker_new:
 *
 * Creates a worker with no functions.
 *
 * Returns: (transfer full): a new #PWorker
 *
 * Since: 0.1
 */
PWorker *
p_worker_new (void)
{
  return g_object_new (P_TYPE_WORKER, NULL);
}

/* Serves @func, or @chunk_func, under @name, in place of any before. */
static void
add_function (PWorker        *self,
              const char     *name,
              PTaskFunc       func,
              PChunkFunc      chunk_func,
              gpointer        user_data,
              GDestroyNotify  destroy)
{
  Function *function = g_new0 (Function, 1);

  function->func = func;
  function->chunk_func = chunk_func;
  function->user_data = user_data;
  function->destroy = destroy;

  g_hash_table_replace (self->functions, g_strdup (name), function);
}

/**
 * p_worker_add_function:
 * @self: a #PWorker
 * @name: the name the pool calls the function by: a non-empty UTF-8 string
 * @func: (scope notified) (closure user_data) (destroy destroy): the function
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the worker is finalized
 *
 * Serves @func under @name. A function added under a name already taken
 * replaces the earlier one. Functions must be added before p_worker_run().
 *
 * Since: 0.1
 */
void
p_worker_add_function (PWorker        *self,
                       const char     *name,
                       PTaskFunc       func,
                       gpointer        user_data,
                       GDestroyNotify  destroy)
{
  g_return_if_fail (P_IS_WORKER (self));
  g_return_if_fail (name != NULL && name[0] != '\0');
  /* The HELLO carries it as a GVariant string. */
  g_return_if_fail (g_utf8_validate (name, -1, NULL));
  g_return_if_fail (func != NULL);

  add_function (self, name, func, NULL, user_data, destroy);
}

/**
 * p_worker_add_chunk_function:
 * @self: a #PWorker
 * @name: the name the pool calls the function by: a non-empty UTF-8 string
 * @func: (scope notified) (closure user_data) (destroy destroy): the function
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the worker is finalized
 *
 * Serves @func under @name, called once per map chunk with the chunk's
 * items as one array (see #PChunkFunc), rather than once per item: a map
 * of small items then costs no #GVariant per item. It serves p_pool_map(),
 * p_pool_imap() and the others as a function of p_worker_add_function()
 * would, with their guarantees (results in order, a map fails with its
 * first error, cancelling stops it), except that an error fails the whole
 * chunk: every item of it, in p_pool_imap(). p_pool_apply() of it calls it
 * with an array of the one argument.
 *
 * A function added under a name already taken replaces the earlier one.
 * Functions must be added before p_worker_run().
 *
 * Since: 0.1
 */
void
p_worker_add_chunk_function (PWorker        *self,
                             const char     *name,
                             PChunkFunc      func,
                             gpointer        user_data,
                             GDestroyNotify  destroy)
{
  g_return_if_fail (P_IS_WORKER (self));
  g_return_if_fail (name != NULL && name[0] != '\0');
  g_return_if_fail (g_utf8_validate (name, -1, NULL));
  g_return_if_fail (func != NULL);

  add_function (self, name, NULL, func, user_data, destroy);
}

static void
drain_fd (int fd)
{
  guint64 count;

  /* Non-blocking: nothing there is fine. */
  if (read (fd, &count, sizeof count) < 0 && errno != EAGAIN)
    g_warning ("Could not read descriptor %d: %s", fd, g_strerror (errno));
}

static void
wake_fd (int fd)
{
  guint64 one = 1;

  if (write (fd, &one, sizeof one) < 0)
    g_warning ("Could not write to descriptor %d: %s", fd, g_strerror (errno));
}

/* Once per wait, however many messages the reader queues meanwhile. */
static void
wake_task_thread_locked (PWorker *self)
{
  if (self->task_thread_polling)
    {
      self->task_thread_polling = FALSE;
      wake_fd (self->task_wakeup_fd);
    }
}

/* {{{ Reading, by whichever thread holds the mutex */

static int
message_has_id (gconstpointer message,
                gconstpointer id)
{
  return ((const PMessage *) message)->id == *(const guint64 *) id ? 0 : 1;
}

/* A cancel reaches a running task at once, and keeps a queued one from
 * starting. One already answered is let be: cancels and replies cross. */
static void
handle_cancel_locked (PWorker *self,
                      guint64  id)
{
  if (self->task_running && self->running_id == id)
    g_cancellable_cancel (self->running_cancellable);
  else if (self->starting_id == id || g_queue_find_custom (&self->queue, &id, message_has_id) != NULL)
    /* Cancels are rare: the queue is searched, not indexed. */
    g_hash_table_add (self->cancelled_queued, g_memdup2 (&id, sizeof id));
}

/* A task that has not started goes back to the pool, which runs it
 * elsewhere: its only reply is RECALLED. One that started (or is done)
 * is let be, and answered as usual. */
static void
handle_recall_locked (PWorker *self,
                      guint64  id)
{
  GList *link = g_queue_find_custom (&self->queue, &id, message_has_id);
  g_autoptr(PFrame) frame = NULL;

  if (link == NULL)
    return;

  g_queue_unlink (&self->queue, link);
  p_message_free (link->data);
  g_hash_table_remove (self->cancelled_queued, &id);
  self->unanswered--;

  frame = p_message_encode_id (P_MESSAGE_RECALLED, id);
  p_worker_send_reply_locked (self, frame);
}

static void
handle_message_locked (PWorker  *self,
                       PMessage *message)
{
  if (message->kind == P_MESSAGE_CANCEL || message->kind == P_MESSAGE_RECALL)
    {
      if (message->kind == P_MESSAGE_CANCEL)
        handle_cancel_locked (self, message->id);
      else
        handle_recall_locked (self, message->id);
      p_message_free (message);
      return;
    }

  if (message->kind == P_MESSAGE_CHUNK && !p_chunk_message_holds_array (message->body))
    {
      p_message_free (message);
      g_set_error_literal (&self->input_error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                           _("A chunk message holds no array of items"));
      return;
    }

  g_queue_push_tail_link (&self->queue, &message->link);
  self->unanswered++;
  wake_task_thread_locked (self);
}


/* A remote worker's link ended (docs/protocol.md, section 15). With
 * nothing unanswered, the pool is done with the worker: an end as on a
 * local channel. With work in hand, the pool is gone or killed the
 * worker, which is the same (a pool ends a link only when nothing is
 * unanswered): nothing more is sent, what waits never runs, the running
 * task is cancelled, and the worker ends its process group, itself
 * included, once the task returns or LINK_LOST_GRACE_USEC later (see
 * reader_main()), as a local worker's group dies with it. */
static void
remote_link_ended_locked (PWorker *self)
{
  GList *link;

  if (g_atomic_int_get (&self->link_lost) || self->unanswered == 0)
    return;

  self->link_lost_at = g_get_monotonic_time ();
  g_atomic_int_set (&self->link_lost, TRUE);

  while ((link = g_queue_pop_head_link (&self->queue)))
    p_message_free (link->data);
  if (self->starting_id != 0)
    g_hash_table_add (self->cancelled_queued, g_memdup2 (&self->starting_id, sizeof self->starting_id));
  if (self->task_running)
    g_cancellable_cancel (self->running_cancellable);

  p_worker_wake_reader (self);
}

/* Reads what the socket has (it never blocks) and queues the messages. */
static void
read_available_locked (PWorker *self)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      PMessage *message;
      gsize space;
      gssize n_read;

      if (self->input_ended || self->input_error != NULL)
        return;

      n_read = p_worker_link_receive (&self->link, self->reader, &space, &error);

      if (n_read < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return;

      if (n_read <= 0 && self->link.remote)
        remote_link_ended_locked (self);

      /* A remote link may end anywhere: the pool is gone. */
      if (n_read == 0 && (p_frame_reader_is_idle (self->reader) || self->link.remote))
        {
          self->input_ended = TRUE;
          return;
        }

      if (n_read <= 0)
        {
          /* A reset: the pool is gone. */
          if (error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
            self->input_ended = TRUE;
          else
            self->input_error = error ? g_steal_pointer (&error)
                                      : g_error_new_literal (P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                                                             _("The channel ended in the middle of a message"));
          return;
        }

      while (self->input_error == NULL && p_frame_reader_pop (self->reader, &message, &error))
        handle_message_locked (self, message);

      if (error != NULL)
        {
          g_clear_error (&self->input_error);
          self->input_error = g_steal_pointer (&error);
          return;
        }

      if ((gsize) n_read < space)
        return;
    }
}

/* }}} */
/* {{{ The reader thread */

void
p_worker_wake_reader (PWorker *self)
{
  wake_fd (self->reader_wakeup_fd);
}

/* Reads the channel: queues tasks and passes cancels on at once, and
 * sends the replies held for too long.
 *
 * While tasks come one at a time, the idle task thread reads each itself,
 * and a reader polling the channel too would be woken by every message,
 * taking a processor from the threads the caller waits for. The reader
 * then reads only for a task that has run for a while, and otherwise looks
 * every READER_WATCH_AFTER_USEC, or sleeps until a task starts. */
static gpointer
reader_main (gpointer user_data)
{
  PWorker *self = user_data;

  g_mutex_lock (&self->mutex);
  while (!self->stopping)
    {
      gboolean reading = !self->input_ended && self->input_error == NULL;
      gboolean watching = FALSE;
      GPollFD fds[2] = {
        { self->reader_wakeup_fd, G_IO_IN, 0 },
        { self->link.in_fd, G_IO_IN, 0 },
      };
      gint64 deadline = MIN (p_worker_send_late_held_locked (self), p_worker_send_waiting_progress_locked (self));
      gint64 now = g_get_monotonic_time ();
      gint timeout = -1;

      /* See remote_link_ended_locked(). */
      if (g_atomic_int_get (&self->link_lost))
        {
          if (now >= self->link_lost_at + LINK_LOST_GRACE_USEC)
            kill (0, SIGKILL);
          deadline = MIN (deadline, self->link_lost_at + LINK_LOST_GRACE_USEC);
        }

      if (reading)
        {
          if (!self->tasks_come_singly ||
              (self->task_running && now - self->task_started_at >= READER_WATCH_AFTER_USEC))
            watching = TRUE;
          else if (self->task_running)
            deadline = MIN (deadline, self->task_started_at + READER_WATCH_AFTER_USEC);
          else if (now - self->task_ended_at < READER_LINGER_USEC)
            deadline = MIN (deadline, now + READER_WATCH_AFTER_USEC);
          else
            self->reader_resting = TRUE;
        }

      if (deadline != G_MAXINT64)
        timeout = MAX (0, (deadline - now + 999) / 1000);

      g_mutex_unlock (&self->mutex);
      g_poll (fds, watching ? 2 : 1, timeout);
      if (fds[0].revents != 0)
        drain_fd (self->reader_wakeup_fd);
      g_mutex_lock (&self->mutex);
      self->reader_resting = FALSE;

      if (watching && fds[1].revents != 0)
        {
          read_available_locked (self);
          /* The task thread must see the end, too. */
          if (self->input_ended || self->input_error != NULL)
            wake_task_thread_locked (self);
        }
    }
  g_mutex_unlock (&self->mutex);

  return NULL;
}

/* }}} */
/* {{{ Running tasks */

static GVariant *call_chunk_function (Function *function, const char *name, GVariant *items,
                                      GCancellable *cancellable, GError **error);

/* Calls @function; a NULL without an error is a failure of its own. */
static GVariant *
call_function (Function      *function,
               const char    *name,
               GVariant      *args,
               GCancellable  *cancellable,
               GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  GVariant *result;

  /* A chunk function, for one item. */
  if (function->chunk_func != NULL)
    {
      g_autoptr(GVariant) items = g_variant_ref_sink (g_variant_new_array (NULL, &args, 1));
      g_autoptr(GVariant) results = call_chunk_function (function, name, items, cancellable, error);

      return results != NULL ? p_chunk_values_get (results, 0) : NULL;
    }

  result = function->func (args, cancellable, function->user_data, &local_error);

  if (result != NULL)
    {
      if (local_error != NULL)
        g_warning ("Function “%s” returned a value and set an error: %s",
                   name, local_error->message);
      return g_variant_take_ref (result);
    }

  if (local_error == NULL)
    local_error = g_error_new (P_POOL_ERROR, P_POOL_ERROR_FAILED,
                               _("Function “%s” returned no value and no error"), name);

  g_propagate_error (error, g_steal_pointer (&local_error));
  return NULL;
}

/* Calls a chunk function: an array of as many results as @items has. */
static GVariant *
call_chunk_function (Function      *function,
                     const char    *name,
                     GVariant      *items,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GVariant) results = NULL;

  results = function->chunk_func (items, cancellable, function->user_data, &local_error);
  if (results == NULL)
    {
      if (local_error == NULL)
        local_error = g_error_new (P_POOL_ERROR, P_POOL_ERROR_FAILED,
                                   _("Function “%s” returned no value and no error"), name);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  g_variant_take_ref (results);
  if (local_error != NULL)
    g_warning ("Function “%s” returned a value and set an error: %s", name, local_error->message);

  if (!g_variant_is_of_type (results, G_VARIANT_TYPE_ARRAY))
    {
      g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_FAILED,
                   _("Chunk function “%s” returned a value of type “%s”, not an array"),
                   name, g_variant_get_type_string (results));
      return NULL;
    }

  if (g_variant_n_children (results) != g_variant_n_children (items))
    {
      g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_FAILED,
                   _("Chunk function “%s” returned %zu results for %zu items"),
                   name, g_variant_n_children (results), g_variant_n_children (items));
      return NULL;
    }

  return g_steal_pointer (&results);
}

static PFrame *
run_task (PWorker      *self,
          Function     *function,
          const char   *name,
          guint64       id,
          GVariant     *args,
          GCancellable *cancellable)
{
  g_autoptr(GVariant) result = NULL;
  g_autoptr(GError) error = NULL;
  GError *too_large = NULL;
  PFrame *frame;

  result = call_function (function, name, args, cancellable, &error);
  if (result == NULL)
    return p_worker_encode_error (self, id, error);

  /* A large value goes sealed, in shared memory; in the task's own when
   * it lies there (a function that returns what it was given). */
  if (self->pool_takes_sealed &&
      g_variant_get_size (result) >= P_SEALED_MIN_SIZE &&
      g_variant_get_size (result) <= self->max_message_size)
    {
      g_autoptr(GError) sealed_error = NULL;

      frame = p_message_encode_sealed_result (id, result, &sealed_error);
      if (frame != NULL)
        return frame;
      g_debug ("A large result goes in the stream: %s", sealed_error->message);
    }

  frame = p_message_encode_result (id, result, self->max_message_size, &too_large);
  return p_worker_check_reply (self, id, frame, too_large);
}

static PFrame *
run_chunk (PWorker      *self,
           Function     *function,
           const char   *name,
           guint64       id,
           GVariant     *body,
           GCancellable *cancellable)
{
  g_auto(GVariantBuilder) errors = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(usis)"));
  g_autoptr(PChunkResults) results = p_chunk_results_new ();
  g_autoptr(GVariant) boxed = g_variant_get_child_value (body, 2);
  g_autoptr(GVariant) items = g_variant_get_variant (boxed);
  gboolean stop_at_first_error;
  gsize n_items;
  GError *too_large = NULL;
  PFrame *frame;

  g_variant_get_child (body, 3, "b", &stop_at_first_error);

  n_items = g_variant_n_children (items);

  /* The whole chunk at once: its one error fails every item. */
  if (function->chunk_func != NULL)
    {
      g_autoptr(GVariant) values = NULL;
      g_autoptr(GError) error = NULL;

      if (g_cancellable_set_error_if_cancelled (cancellable, &error))
        return p_worker_encode_error (self, id, error);

      values = call_chunk_function (function, name, items, cancellable, &error);
      if (values == NULL)
        return p_worker_encode_error (self, id, error);

      frame = p_message_encode_chunk_result_array (id, values, g_variant_builder_end (&errors),
                                                   self->max_message_size, &too_large);
      if (frame != NULL && self->pool_takes_sealed)
        {
          g_autoptr(PFrame) unsealed = frame;

          frame = p_frame_seal_if_large (unsealed);
        }

      return p_worker_check_reply (self, id, frame, too_large);
    }

  for (gsize i = 0; i < n_items; i++)
    {
      g_autoptr(GVariant) item = g_variant_get_child_value (items, i);
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) sendable = NULL;
      GVariant *result;

      if (g_cancellable_set_error_if_cancelled (cancellable, &error))
        return p_worker_encode_error (self, id, error);

      result = call_function (function, name, item, cancellable, &error);
      if (result != NULL && p_chunk_results_add (results, result, &error))
        continue;

      sendable = p_worker_sendable_error (self, error);
      g_variant_builder_add (&errors, "(usis)", (guint32) i,
                             g_quark_to_string (sendable->domain), sendable->code, sendable->message);
      if (stop_at_first_error)
        break;
    }

  frame = p_message_encode_chunk_result (id, results, g_variant_builder_end (&errors),
                                         self->max_message_size, &too_large);

  /* A large one goes sealed, in shared memory: copied once, not twice. */
  if (frame != NULL && self->pool_takes_sealed)
    {
      g_autoptr(PFrame) unsealed = frame;

      frame = p_frame_seal_if_large (unsealed);
    }

  return p_worker_check_reply (self, id, frame, too_large);
}

/* Runs one task or chunk and queues its reply. */
static void
serve_message (PWorker  *self,
               PMessage *message)
{
  GCancellable *cancellable = NULL;
  g_autoptr(PFrame) frame = NULL;
  const char *name;
  Function *function;
  gboolean was_cancelled;
  gboolean may_hold;
  guint64 id;

  id = message->id;
  name = message->name;
  function = g_hash_table_lookup (self->functions, name);

  g_mutex_lock (&self->mutex);
  was_cancelled = g_hash_table_size (self->cancelled_queued) > 0 &&
                  g_hash_table_remove (self->cancelled_queued, &id);
  self->starting_id = 0;
  if (!was_cancelled)
    {
      cancellable = task_cancellable_take (self);
      self->running_id = id;
      self->running_cancellable = cancellable;
      self->task_running = TRUE;
      /* Only the reader's single-task mode reads the clocks: a stale time
       * there makes it read the channel sooner, or rest sooner, no worse. */
      if (self->tasks_come_singly)
        self->task_started_at = g_get_monotonic_time ();
      if (self->reader_resting)
        {
          self->reader_resting = FALSE;
          p_worker_wake_reader (self);
        }
    }
  g_mutex_unlock (&self->mutex);

  if (was_cancelled)
    {
      g_autoptr(GError) cancelled = p_error_new_cancelled ();
      frame = p_worker_encode_error (self, id, cancelled);
    }
  else if (function == NULL)
    {
      g_autoptr(GError) unknown = p_error_new_unknown_function (name);
      frame = p_worker_encode_error (self, id, unknown);
    }
  else if (message->kind == P_MESSAGE_TASK)
    {
      /* Made here, where it is freed (see p_message_dup_value()). */
      g_autoptr(GVariant) args = p_message_dup_value (message);

      frame = run_task (self, function, name, id, args, cancellable);
    }
  else
    {
      frame = run_chunk (self, function, name, id, message->body, cancellable);
    }

  g_mutex_lock (&self->mutex);
  may_hold = !g_queue_is_empty (&self->queue);
  /* Before it leaves: once the pool has it, it may end the link. */
  self->unanswered--;
  g_mutex_unlock (&self->mutex);

  p_worker_send_reply (self, frame, may_hold);

  g_mutex_lock (&self->mutex);
  self->task_running = FALSE;
  if (self->tasks_come_singly)
    self->task_ended_at = g_get_monotonic_time ();
  /* The next task starts reporting afresh. */
  g_clear_pointer (&self->progress_waiting, p_frame_unref);
  self->progress_sent_at = 0;
  self->running_id = 0;
  self->running_cancellable = NULL;
  g_mutex_unlock (&self->mutex);

  if (cancellable != NULL)
    task_cancellable_release (self);
}

/* The next message to run; NULL at the end of the input or on an error.
 * An idle task thread reads the channel as well as the reader: the next
 * task starts as soon as it arrives, without a switch between threads.
 * While tasks come one at a time, each soon after the reply to the last,
 * it polls for a moment before it sleeps (see p_poll_spinning()). */
static PMessage *
next_message (PWorker *self)
{
  PMessage *message = NULL;

  g_mutex_lock (&self->mutex);
  while (g_queue_is_empty (&self->queue) &&
         !self->input_ended && self->input_error == NULL && self->output_error == NULL)
    {
      GPollFD fds[2] = {
        { self->task_wakeup_fd, G_IO_IN, 0 },
        { self->link.in_fd, G_IO_IN, 0 },
      };

      self->task_thread_polling = TRUE;
      g_mutex_unlock (&self->mutex);
      /* A recall may have emptied the queue since the last reply. */
      p_worker_send_held (self);
      /* Not over a remote link: no reply comes back within a spin, and
       * the engine's processes need the processor more. */
      p_poll_spinning (&self->idle_spinner, fds, G_N_ELEMENTS (fds), -1,
                       self->tasks_come_singly && !self->link.remote);
      if (fds[0].revents != 0)
        drain_fd (self->task_wakeup_fd);
      g_mutex_lock (&self->mutex);
      self->task_thread_polling = FALSE;

      if (fds[1].revents != 0)
        read_available_locked (self);

      /* Only a caller that waits for each result sends one task at a
       * time; a pool with more to do sends them in batches, and then a
       * spinning worker only takes a core from the others. */
      self->tasks_come_singly = self->queue.length <= 1;
    }

  /* After a violation too, what came before it is run and answered. */
  if (self->output_error == NULL && !g_queue_is_empty (&self->queue))
    message = g_queue_pop_head_link (&self->queue)->data;
  /* Still cancellable as a queued one until serve_message() starts it. */
  self->starting_id = message != NULL ? message->id : 0;
  g_mutex_unlock (&self->mutex);

  return message;
}

/* }}} */

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static PFrame *
encode_hello (PWorker *self)
{
  g_autofree const char **names = NULL;
  guint n_names;

  names = (const char **) g_hash_table_get_keys_as_array (self->functions, &n_names);
  qsort (names, n_names, sizeof (char *), compare_strings);

  return p_message_encode_hello (P_PROTOCOL_VERSION, getpid (), names, self->max_message_size);
}

/* What the channel and this worker have (docs/protocol.md, section 14). */
static PFrame *
encode_features (PWorker *self)
{
  g_auto(GVariantDict) features = G_VARIANT_DICT_INIT (NULL);

  /* A socket of its own, from the pool: descriptors pass. Not through a
   * launcher's stdin and stdout. */
  g_variant_dict_insert (&features, P_FEATURE_DESCRIPTORS, "b", !self->link.remote);
  g_variant_dict_insert (&features, P_FEATURE_SHARED_MEMORY, "b", self->reply_area != NULL);
  if (self->sandbox_report != NULL)
    g_variant_dict_insert_value (&features, P_FEATURE_SANDBOX, self->sandbox_report);

  return p_message_encode_features (g_variant_dict_end (&features));
}

static gboolean
is_disconnection (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
}

/**
 * p_worker_run:
 * @self: a #PWorker
 * @error: return location for a #GError
 *
 * Serves the pool that started this process, until the pool closes the
 * channel (it shut down, retired the worker, or went away). Tasks run one
 * at a time in the calling thread.
 *
 * When the pool has a #PPool:sandbox, the worker confines itself first,
 * before it announces itself and so before any task runs: from then on it
 * reads only what #PSandbox allows, beside the files it had mapped (its
 * program, its libraries, the modules it loaded). Load what it needs
 * before calling this, and call it with no other thread running:
 * landlock confines one thread at a time before Linux 7.0, and a user
 * namespace takes a process of one thread.
 *
 * Fails with %G_IO_ERROR_NOT_CONNECTED if this process was not started by
 * a pool, with %P_POOL_ERROR_PROTOCOL if the channel carries something
 * else than the pool's messages, and with the #GIOErrorEnum error if
 * writing to the channel fails for another reason than the pool going
 * away; the program should then print the error and exit with a non-zero
 * status.
 *
 * Returns: %TRUE when the pool closed the channel or went away, %FALSE
 *   with @error set otherwise
 *
 * Since: 0.1
 */
gboolean
p_worker_run (PWorker  *self,
              GError  **error)
{
  g_autoptr(PFrame) hello = NULL;
  g_autoptr(PFrame) features = NULL;
  PMessage *message;

  g_return_val_if_fail (P_IS_WORKER (self), FALSE);
  g_return_val_if_fail (!p_worker_link_is_open (&self->link), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* A remote link (stdin and stdout) moves stdout away first. */
  if (!p_worker_link_open (&self->link, &self->max_message_size, error))
    return FALSE;

  self->reader_wakeup_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  self->task_wakeup_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (self->reader_wakeup_fd < 0 || self->task_wakeup_fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "eventfd: %s", g_strerror (saved_errno));
      return FALSE;
    }

  self->reader = p_frame_reader_new (P_DIRECTION_TO_WORKER, self->max_message_size);

  /* Optional: without it, each reply leaves at once. Neither over a
   * remote link, whatever srun passed on of the pool's environment. */
  if (!self->link.remote)
    {
      self->reply_area = p_reply_area_map_env (g_getenv (P_REPLY_AREA_ENV), &self->reply_area_capacity);
      self->pool_takes_sealed = g_strcmp0 (g_getenv (P_SEALED_ENV), "1") == 0;
    }

  /* Before any task, and while this thread is the only one. */
  self->sandbox_report = p_sandbox_enforce ();

  hello = encode_hello (self);
  p_worker_send_reply (self, hello, FALSE);
  features = encode_features (self);
  p_worker_send_reply (self, features, FALSE);

  self->reader_thread = g_thread_new ("worker-channel", reader_main, self);
  p_worker_begin_serving (self);

  while ((message = next_message (self)) != NULL)
    {
      serve_message (self, message);
      p_message_free (message);
    }

  p_worker_send_held (self);

  g_mutex_lock (&self->mutex);
  self->stopping = TRUE;
  p_worker_wake_reader (self);
  g_mutex_unlock (&self->mutex);
  g_thread_join (g_steal_pointer (&self->reader_thread));
  p_worker_end_serving (self);

  /* See remote_link_ended_locked(). */
  if (g_atomic_int_get (&self->link_lost))
    kill (0, SIGKILL);

  p_worker_link_close (&self->link);

  /* A pool that went away is an end like any other. */
  if (self->input_error != NULL && !is_disconnection (self->input_error))
    {
      g_propagate_error (error, g_steal_pointer (&self->input_error));
      return FALSE;
    }

  /* Any other failure to send left the pool without its replies. */
  if (self->output_error != NULL && !is_disconnection (self->output_error))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&self->output_error),
                                  /* Translators: put before why, as in
                                   * “Could not write to the pool: Broken pipe”. */
                                  _("Could not write to the pool: "));
      return FALSE;
    }

  return TRUE;
}
