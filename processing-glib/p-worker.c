/* p-worker.c: the worker side of a pool
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib-unix.h>

#include "p-worker.h"
#include "p-channel-private.h"
#include "p-error.h"
#include "p-i18n-private.h"

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

typedef struct
{
  PTaskFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
} Function;

/* What the reader thread hands to the task thread. */
typedef enum
{
  INCOMING_MESSAGE,
  INCOMING_END,      /* the pool closed the channel: finish and exit */
  INCOMING_FAILED,   /* the channel broke */
} IncomingKind;

typedef struct
{
  IncomingKind kind;
  PMessageKind message_kind;
  GVariant *body;
  GError *error;
} Incoming;

struct _PWorker
{
  GObject parent_instance;

  GHashTable *functions;   /* name → Function */

  /* While running. */
  gsize max_message_size;
  GSocket *read_socket;
  GSocket *write_socket;
  GAsyncQueue *incoming;   /* Incoming * */

  GMutex mutex;            /* for what follows */
  guint64 running_id;
  GCancellable *running_cancellable;
  GHashTable *queued;      /* ids received, not started: id → cancelled? */
};

G_DEFINE_FINAL_TYPE (PWorker, p_worker, G_TYPE_OBJECT)

static void
function_free (gpointer data)
{
  Function *function = data;

  if (function->destroy != NULL)
    function->destroy (function->user_data);
  g_free (function);
}

static void
incoming_free (Incoming *incoming)
{
  g_clear_pointer (&incoming->body, g_variant_unref);
  g_clear_error (&incoming->error);
  g_free (incoming);
}

static void
p_worker_finalize (GObject *object)
{
  PWorker *self = P_WORKER (object);

  g_clear_pointer (&self->functions, g_hash_table_unref);
  g_clear_pointer (&self->queued, g_hash_table_unref);
  g_clear_pointer (&self->incoming, g_async_queue_unref);
  g_clear_object (&self->read_socket);
  g_clear_object (&self->write_socket);
  g_clear_object (&self->running_cancellable);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (p_worker_parent_class)->finalize (object);
}

static void
p_worker_class_init (PWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = p_worker_finalize;

  p_i18n_init ();
}

static void
p_worker_init (PWorker *self)
{
  self->functions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, function_free);
  self->queued = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->incoming = g_async_queue_new_full ((GDestroyNotify) incoming_free);
  g_mutex_init (&self->mutex);
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
  return p_channel_parse_env (g_getenv (P_CHANNEL_ENV), &fd, &parent, &max_message_size) &&
         parent == getppid ();
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

/**
 * p_worker_add_function:
 * @self: a #PWorker
 * @name: the name the pool calls the function by
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
  Function *function;

  g_return_if_fail (P_IS_WORKER (self));
  g_return_if_fail (name != NULL && name[0] != '\0');
  g_return_if_fail (func != NULL);

  function = g_new0 (Function, 1);
  function->func = func;
  function->user_data = user_data;
  function->destroy = destroy;

  g_hash_table_replace (self->functions, g_strdup (name), function);
}

static void
push_incoming (PWorker      *self,
               IncomingKind  kind,
               PMessageKind  message_kind,
               GVariant     *body,
               GError       *error)
{
  Incoming *incoming = g_new0 (Incoming, 1);

  incoming->kind = kind;
  incoming->message_kind = message_kind;
  incoming->body = body;
  incoming->error = error;
  g_async_queue_push (self->incoming, incoming);
}

/* On the reader thread: a cancel reaches a running task at once. */
static void
handle_cancel (PWorker  *self,
               GVariant *body)
{
  guint64 id;

  g_variant_get (body, "(t)", &id);

  /* One already answered is let be: cancels and replies cross. */
  g_mutex_lock (&self->mutex);
  if (self->running_id == id)
    g_cancellable_cancel (self->running_cancellable);
  else if (g_hash_table_contains (self->queued, &id))
    g_hash_table_insert (self->queued, g_memdup2 (&id, sizeof id), GINT_TO_POINTER (TRUE));
  g_mutex_unlock (&self->mutex);
}

/* On the reader thread: a task or chunk waits its turn. */
static void
queue_task (PWorker      *self,
            PMessageKind  kind,
            GVariant     *body)
{
  guint64 id;

  g_variant_get_child (body, 0, "t", &id);

  g_mutex_lock (&self->mutex);
  g_hash_table_insert (self->queued, g_memdup2 (&id, sizeof id), GINT_TO_POINTER (FALSE));
  g_mutex_unlock (&self->mutex);

  push_incoming (self, INCOMING_MESSAGE, kind, body, NULL);
}

static gpointer
reader_thread_main (gpointer user_data)
{
  PWorker *self = user_data;
  g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_WORKER, self->max_message_size);

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      PMessageKind kind;
      GVariant *body;
      gsize space;
      guint8 *buffer = p_frame_reader_get_space (reader, &space);
      gssize n_read;

      n_read = g_socket_receive (self->read_socket, (char *) buffer, space, NULL, &error);

      if (n_read == 0 && p_frame_reader_is_idle (reader))
        {
          push_incoming (self, INCOMING_END, 0, NULL, NULL);
          break;
        }

      if (n_read <= 0)
        {
          if (error == NULL)
            error = g_error_new_literal (P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                                         _("The channel ended in the middle of a message"));
          push_incoming (self, INCOMING_FAILED, 0, NULL, g_steal_pointer (&error));
          break;
        }

      p_frame_reader_commit (reader, n_read);

      while (p_frame_reader_pop (reader, &kind, &body, &error))
        {
          if (kind == P_MESSAGE_CANCEL)
            {
              handle_cancel (self, body);
              g_variant_unref (body);
            }
          else if (kind == P_MESSAGE_CHUNK && !p_chunk_message_holds_array (body))
            {
              g_variant_unref (body);
              error = g_error_new_literal (P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                                           _("A chunk message holds no array of items"));
              break;
            }
          else
            {
              queue_task (self, kind, body);
            }
        }

      if (error != NULL)
        {
          push_incoming (self, INCOMING_FAILED, 0, NULL, g_steal_pointer (&error));
          break;
        }
    }

  return NULL;
}

/* Blocking write of a whole frame, from the task thread. */
static gboolean
send_message (PWorker       *self,
              PMessageKind   kind,
              GVariant      *body,
              GError       **error)
{
  g_autoptr(GBytes) frame = NULL;
  const guint8 *data;
  gsize size;

  frame = p_message_encode (kind, body, self->max_message_size, error);
  if (frame == NULL)
    return FALSE;

  data = g_bytes_get_data (frame, &size);
  while (size > 0)
    {
      gssize n = g_socket_send (self->write_socket, (const char *) data, size, NULL, error);

      if (n < 0)
        return FALSE;

      data += n;
      size -= n;
    }

  return TRUE;
}

static GVariant *
error_reply (guint64       id,
             const GError *error)
{
  return g_variant_new ("(tsis)", id, g_quark_to_string (error->domain),
                        error->code, error->message);
}

/* Sends a reply; a reply too large for the channel becomes an error. */
static gboolean
send_reply (PWorker       *self,
            guint64        id,
            PMessageKind   kind,
            GVariant      *body,
            GError       **error)
{
  g_autoptr(GError) local_error = NULL;

  if (send_message (self, kind, body, &local_error))
    return TRUE;

  if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  return send_message (self, P_MESSAGE_ERROR, error_reply (id, local_error), error);
}

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

static GVariant *
run_task (PWorker      *self,
          Function     *function,
          const char   *name,
          guint64       id,
          GVariant     *body,
          GCancellable *cancellable,
          PMessageKind *reply_kind)
{
  g_autoptr(GVariant) args = NULL;
  g_autoptr(GVariant) result = NULL;
  g_autoptr(GError) error = NULL;

  g_variant_get_child (body, 2, "v", &args);

  result = call_function (function, name, args, cancellable, &error);
  if (result == NULL)
    {
      *reply_kind = P_MESSAGE_ERROR;
      return error_reply (id, error);
    }

  *reply_kind = P_MESSAGE_RESULT;
  return g_variant_new ("(tv)", id, result);
}

static GVariant *
run_chunk (PWorker      *self,
           Function     *function,
           const char   *name,
           guint64       id,
           GVariant     *body,
           GCancellable *cancellable,
           PMessageKind *reply_kind)
{
  g_auto(GVariantBuilder) values = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("av"));
  g_auto(GVariantBuilder) errors = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(usis)"));
  g_autoptr(GVariant) items = NULL;
  gboolean stop_on_error;
  gsize n_items;

  g_variant_get (body, "(t&svb)", NULL, NULL, &items, &stop_on_error);
  g_assert (g_variant_is_of_type (items, G_VARIANT_TYPE_ARRAY));

  n_items = g_variant_n_children (items);
  for (gsize i = 0; i < n_items; i++)
    {
      g_autoptr(GVariant) item = g_variant_get_child_value (items, i);
      g_autoptr(GVariant) result = NULL;
      g_autoptr(GError) error = NULL;

      if (g_cancellable_set_error_if_cancelled (cancellable, &error))
        {
          *reply_kind = P_MESSAGE_ERROR;
          return error_reply (id, error);
        }

      result = call_function (function, name, item, cancellable, &error);
      if (result != NULL)
        {
          g_variant_builder_add (&values, "v", result);
          continue;
        }

      g_variant_builder_add (&errors, "(usis)", (guint32) i,
                             g_quark_to_string (error->domain), error->code, error->message);
      if (stop_on_error)
        break;
    }

  *reply_kind = P_MESSAGE_CHUNK_RESULT;
  return g_variant_new ("(t@av@a(usis))", id,
                        g_variant_builder_end (&values),
                        g_variant_builder_end (&errors));
}

/* Runs one task or chunk and replies; FALSE if the channel failed. */
static gboolean
serve_message (PWorker       *self,
               PMessageKind   kind,
               GVariant      *body,
               GError       **error)
{
  g_autoptr(GCancellable) cancellable = NULL;
  GVariant *reply;
  PMessageKind reply_kind;
  const char *name;
  Function *function;
  gboolean was_cancelled;
  guint64 id;

  g_variant_get_child (body, 0, "t", &id);
  g_variant_get_child (body, 1, "&s", &name);

  g_mutex_lock (&self->mutex);
  was_cancelled = GPOINTER_TO_INT (g_hash_table_lookup (self->queued, &id));
  g_hash_table_remove (self->queued, &id);
  if (!was_cancelled)
    {
      self->running_id = id;
      self->running_cancellable = cancellable = g_cancellable_new ();
      g_object_ref (cancellable);
    }
  g_mutex_unlock (&self->mutex);

  function = g_hash_table_lookup (self->functions, name);

  if (was_cancelled)
    {
      g_autoptr(GError) cancelled = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                         _("Operation was cancelled"));
      reply_kind = P_MESSAGE_ERROR;
      reply = error_reply (id, cancelled);
    }
  else if (function == NULL)
    {
      g_autoptr(GError) unknown = g_error_new (P_POOL_ERROR, P_POOL_ERROR_UNKNOWN_FUNCTION,
                                               _("No worker serves a function named “%s”"), name);
      reply_kind = P_MESSAGE_ERROR;
      reply = error_reply (id, unknown);
    }
  else if (kind == P_MESSAGE_TASK)
    {
      reply = run_task (self, function, name, id, body, cancellable, &reply_kind);
    }
  else
    {
      reply = run_chunk (self, function, name, id, body, cancellable, &reply_kind);
    }

  g_mutex_lock (&self->mutex);
  self->running_id = 0;
  g_clear_object (&self->running_cancellable);
  g_mutex_unlock (&self->mutex);

  return send_reply (self, id, reply_kind, reply, error);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static gboolean
send_hello (PWorker  *self,
            GError  **error)
{
  g_autofree const char **names = NULL;
  guint n_names;

  names = (const char **) g_hash_table_get_keys_as_array (self->functions, &n_names);
  qsort (names, n_names, sizeof (char *), compare_strings);

  return send_message (self, P_MESSAGE_HELLO,
                       g_variant_new ("(ux^as)", (guint32) P_PROTOCOL_VERSION,
                                      (gint64) getpid (), names),
                       error);
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
 * Fails with %G_IO_ERROR_NOT_CONNECTED if this process was not started by
 * a pool, and with %P_POOL_ERROR_PROTOCOL if the channel carries something
 * else than the pool's messages; the program should then print the error
 * and exit with a non-zero status.
 *
 * Returns: %TRUE when the pool closed the channel, %FALSE with @error set
 *   otherwise
 *
 * Since: 0.1
 */
gboolean
p_worker_run (PWorker  *self,
              GError  **error)
{
  g_autoptr(GError) local_error = NULL;
  GThread *reader;
  gboolean ok = TRUE;
  GPid parent;
  int fd;

  g_return_val_if_fail (P_IS_WORKER (self), FALSE);
  g_return_val_if_fail (self->read_socket == NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!p_channel_parse_env (g_getenv (P_CHANNEL_ENV), &fd, &parent, &self->max_message_size))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   _("This process was not started as a worker by a pool (%s is not set)"),
                   P_CHANNEL_ENV);
      return FALSE;
    }

  g_unix_set_fd_nonblocking (fd, FALSE, NULL);
  /* What a task starts must not inherit the channel. */
  fcntl (fd, F_SETFD, FD_CLOEXEC);

  /* One GSocket per thread: the reader's and the writer's. */
  self->read_socket = g_socket_new_from_fd (fd, &local_error);
  if (self->read_socket != NULL)
    {
      int write_fd = fcntl (fd, F_DUPFD_CLOEXEC, 0);

      self->write_socket = write_fd >= 0 ? g_socket_new_from_fd (write_fd, &local_error) : NULL;
      if (write_fd < 0)
        local_error = g_error_new_literal (G_IO_ERROR, g_io_error_from_errno (errno), g_strerror (errno));
    }

  if (self->write_socket == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   _("The worker channel (descriptor %d) is unusable: %s"), fd, local_error->message);
      return FALSE;
    }

  if (!send_hello (self, &local_error))
    {
      /* The pool went away before we were ready: nothing to serve. */
      if (is_disconnection (local_error))
        return TRUE;

      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  reader = g_thread_new ("worker-channel", reader_thread_main, self);

  for (;;)
    {
      Incoming *incoming = g_async_queue_pop (self->incoming);

      if (incoming->kind == INCOMING_MESSAGE)
        ok = serve_message (self, incoming->message_kind, incoming->body, &local_error);
      else if (incoming->kind == INCOMING_FAILED)
        {
          ok = FALSE;
          local_error = g_steal_pointer (&incoming->error);
        }

      if (incoming->kind == INCOMING_END || !ok)
        {
          incoming_free (incoming);
          break;
        }

      incoming_free (incoming);
    }

  /* A write failure means the pool is gone; so the reader ends too. */
  if (!ok && is_disconnection (local_error))
    {
      ok = TRUE;
      g_clear_error (&local_error);
    }

  g_socket_shutdown (self->write_socket, TRUE, TRUE, NULL);
  g_thread_join (reader);

  g_socket_close (self->read_socket, NULL);
  g_socket_close (self->write_socket, NULL);

  if (!ok)
    g_propagate_error (error, g_steal_pointer (&local_error));

  return ok;
}
