/* p-pool.c: a pool of worker processes
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
#include <unistd.h>

#include "p-pool.h"
#include "p-channel-private.h"
#include "p-enum-types.h"
#include "p-error.h"
#include "p-i18n-private.h"
#include "p-map-iter-private.h"
#include "p-process-private.h"
#include "p-result-private.h"

/**
 * SECTION:p-pool
 * @title: PPool
 * @short_description: A pool of worker processes
 *
 * A pool of worker processes, after the `Pool` of Python's `processing`
 * package (the ancestor of `multiprocessing`).
 *
 * A #PPool starts #PPool:processes workers with #GSubprocess and sends
 * them tasks: the name of a function the workers serve and its arguments as
 * a #GVariant. Results come back as a #GVariant through a blocking call
 * (p_pool_apply(), p_pool_map()), an asynchronous one completed in the
 * caller's thread-default main context (p_pool_apply_async(),
 * p_pool_map_async()), a #PResult handle (p_pool_submit(),
 * p_pool_submit_map()) or a #PMapIter (p_pool_imap(),
 * p_pool_imap_unordered()).
 *
 * Workers are either the current program started again
 * (#PPool:worker-argv is %NULL: the program calls p_worker_is_requested()
 * early in main() and serves its functions with #PWorker), any program
 * that serves functions with #PWorker, or the stock worker loading task
 * modules (p_pool_new_for_modules()).
 *
 * A worker that dies fails only the task it was running, with
 * %P_POOL_ERROR_WORKER_DIED, and is replaced; the tasks it had been sent but
 * had not started run elsewhere. Nothing waits for ever on a dead worker.
 *
 * All I/O with the workers happens on a thread of the pool's own. Every
 * function here is thread-safe; blocking calls need no main loop. Signals
 * are emitted in the thread-default main context of the thread that
 * created the pool.
 *
 * While callers wait for each result before they submit the next task,
 * the pool's thread and the workers poll for up to 50 µs before they
 * sleep, which makes a round trip several times shorter; they stop as soon
 * as that is in vain. The callers' threads never do, and an idle pool,
 * one fed now and then, or one with work queued, does not either.
 *
 * Dropping the last reference to a pool terminates it (see
 * p_pool_terminate()) and reaps its workers. Pending #PResult,
 * #PMapIter and asynchronous calls keep the pool alive until they complete;
 * to let queued work finish, call p_pool_shutdown() and p_pool_join().
 */

/**
 * PPool:
 *
 * A pool of worker processes. See the section's description.
 *
 * Since: 0.1
 */

/**
 * P_TYPE_POOL:
 *
 * The #GType of #PPool.
 *
 * Since: 0.1
 */

/* Messages sent to a worker ahead of the one it runs, so that it never
 * waits for the next one (those not started run elsewhere if it dies): as
 * many as it runs in IN_FLIGHT_USEC, within bounds. Short tasks fill a deep
 * queue, so that their replies leave together and the pool answers many
 * with one wake-up; long ones keep a short queue, which balances them. */
#define IN_FLIGHT_MIN 2
#define IN_FLIGHT_MAX 128
#define IN_FLIGHT_USEC 2000
/* A worker whose running task has taken this much longer than its tasks
 * lately do gives back those it has not started, if another worker idles:
 * at least STALL_MIN_USEC, STALL_FACTOR times its average. */
#define STALL_MIN_USEC IN_FLIGHT_USEC
#define STALL_FACTOR 4
/* Consecutive workers that fail to start before tasks fail. */
#define MAX_START_FAILURES 5
/* More workers than this is a mistake, not a pool. */
#define MAX_PROCESSES 1024
#define STARTUP_TIMEOUT_SEC 30
#define RESPAWN_BACKOFF_MIN_MSEC 50
#define RESPAWN_BACKOFF_MAX_MSEC 2000
#define DEFAULT_CANCEL_GRACE_PERIOD (2 * G_USEC_PER_SEC)

typedef struct _Core Core;
typedef struct _Job Job;
typedef struct _Chunk Chunk;

typedef enum
{
  JOB_APPLY,
  JOB_MAP,
  JOB_IMAP,
} JobKind;

typedef enum
{
  CHUNK_NEW,        /* built by the submitter, not yet seen by the pool thread */
  CHUNK_PENDING,    /* in core->pending */
  CHUNK_IN_FLIGHT,  /* in its process's in_flight */
} ChunkState;

/* One submission. Owned by the pool thread once accepted.
 *
 * Jobs and chunks are slices: the submitting thread makes them and the
 * pool thread frees them, and with GLib 2.74 that costs less through the
 * slice allocator's per-thread magazines than through glibc's arenas, whose
 * locks both threads then contend for (a third fewer futex calls). */
struct _Job
{
  JobKind kind;
  char *function;         /* function_storage, unless it is too short */
  char function_storage[24];
  guint64 id;
  GCancellable *cancellable;
  gulong cancelled_handler;
  gboolean in_jobs_by_id; /* only a job that can be cancelled is */

  /* Where results go: a PResult (JOB_APPLY, JOB_MAP) or a PMapIter
   * (JOB_IMAP). Held weakly, so that a handle its owner dropped lets the
   * pool go; held strongly too for an asynchronous call, whose GTask must
   * complete. */
  PSinkLink *sink;
  GObject *sink_for_task;

  guint n_items;
  guint n_chunks;
  guint n_chunks_left;
  guint chunks_allocated;
  Chunk **chunks;         /* a slot is cleared once its chunk is done */
  Chunk *first_chunk;     /* chunks' storage while there is one */
  GVariant **chunk_values;/* JOB_MAP: each chunk's results ("av" or "aT") */

  GList link;             /* in core->incoming, then core->jobs */
};

/* One message to a worker: a task, or a chunk of a map's items. */
struct _Chunk
{
  Job *job;               /* NULL once the job ended while in flight */
  guint index;
  guint first_item;
  guint n_items;
  guint64 id;
  PFrame *frame;
  gboolean is_task;       /* a single item, sent as a TASK (a lighter reply) */
  ChunkState state;
  PProcess *process;
  gint64 orphaned_at;     /* when its job ended while it was in flight */
  gboolean recalling;     /* in flight, a RECALL sent for it */
  GList link;             /* in core->pending or process->in_flight */
};

/* What can be changed while the pool runs; under the core's mutex. */
typedef struct
{
  guint max_tasks_per_worker;
  gint64 task_timeout;
  gint64 cancel_grace_period;
} Settings;

struct _Core
{
  gatomicrefcount ref_count;

  /* Read-only after core_new(). */
  char **worker_argv;
  guint n_processes;
  gsize max_message_size;
  GMainContext *context;
  GThread *thread;
  GSource *wakeup;
  int wake_pending;       /* atomic: the wake-up source is due */
  GWeakRef pool;
  GMainContext *signal_context;

  /* Shared, under the mutex. */
  GMutex mutex;
  GCond cond;
  GQueue incoming;        /* Job *, submitted, not yet accepted */
  gboolean closed;        /* shut down or terminated: no new work */
  gboolean terminate_requested;
  gboolean finished;      /* closed, every worker reaped, nothing left */
  GError *start_error;    /* set while workers keep failing to start */
  gsize next_id;          /* atomic */
  Settings settings;
  gboolean settings_changed;
  /* The pool thread's copies, taken at each wake-up: no lock per task. */
  Settings current;
  gboolean closed_seen;

  GArray *cancelled_jobs; /* guint64 ids of jobs whose cancellable fired */
  GArray *emissions;      /* Emission, for the signals, not emitted yet */
  GSource *emission_source; /* in signal_context, while there are some */
  gboolean emissions_dropped; /* the pool is being disposed */

  /* The pool thread's own. */
  GHashTable *jobs_by_id; /* &job->id → Job *, accepted jobs with a cancellable */
  GPtrArray *processes;   /* PProcess * */
  GQueue pending;         /* Chunk *, not sent yet */
  GQueue jobs;            /* Job *, accepted and unfinished */
  GHashTable *functions;  /* names the workers announced, NULL before */
  const char *last_function_served;  /* a key of @functions */
  guint start_failures;
  GSource *respawn_timer;
  GSource *recall_timer;  /* for when a worker's queue counts as stuck */
  gint64 recall_deadline;
  gboolean terminated;
  gboolean thread_should_exit;
  gboolean wake_batch_open; /* replies being read: waiters woken after */
  PSpinner spinner;         /* for core_poll() */
};

struct _PPool
{
  GObject parent_instance;

  guint processes;
  char **worker_argv;
  guint64 max_message_size;
  Settings settings;      /* until the core exists */

  Core *core;
};

enum {
  PROP_0,
  PROP_PROCESSES,
  PROP_WORKER_ARGV,
  PROP_MAX_TASKS_PER_WORKER,
  PROP_TASK_TIMEOUT,
  PROP_CANCEL_GRACE_PERIOD,
  PROP_MAX_MESSAGE_SIZE,
  N_PROPS
};

enum {
  WORKER_STARTED,
  WORKER_EXITED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void p_pool_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PPool, p_pool, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, p_pool_initable_iface_init))

static void core_schedule (Core *core);
static void core_arm_running_timer (Core *core, PProcess *process);
static void core_on_recalled (Core *core, PProcess *process, Chunk *chunk);
static void core_maybe_respawn (Core *core);
static void core_check_finished (Core *core);
static void job_fail (Core *core, Job *job, GError *error);

/* {{{ Core lifetime */

static Core *
core_ref (Core *core)
{
  g_atomic_ref_count_inc (&core->ref_count);
  return core;
}

static void
core_unref (Core *core)
{
  if (!g_atomic_ref_count_dec (&core->ref_count))
    return;

  g_assert (g_queue_is_empty (&core->incoming));
  g_assert (g_queue_is_empty (&core->jobs));
  g_assert (core->processes->len == 0);

  p_clear_source (&core->wakeup);
  p_clear_source (&core->respawn_timer);
  p_clear_source (&core->recall_timer);
  g_clear_pointer (&core->thread, g_thread_unref);
  g_clear_pointer (&core->context, g_main_context_unref);
  g_clear_pointer (&core->signal_context, g_main_context_unref);
  g_clear_pointer (&core->processes, g_ptr_array_unref);
  g_clear_pointer (&core->jobs_by_id, g_hash_table_unref);
  g_clear_pointer (&core->cancelled_jobs, g_array_unref);
  g_clear_pointer (&core->emissions, g_array_unref);
  g_clear_pointer (&core->functions, g_hash_table_unref);
  g_clear_pointer (&core->worker_argv, g_strfreev);
  g_clear_error (&core->start_error);
  g_weak_ref_clear (&core->pool);
  g_mutex_clear (&core->mutex);
  g_cond_clear (&core->cond);
  g_free (core);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Core, core_unref)

static gboolean
core_is_current_thread (Core *core)
{
  return g_main_context_is_owner (core->context);
}

/* From any thread. One wake-up per batch: only the first caller after the
 * pool thread looked writes to the context's eventfd. */
static void
core_wake (Core *core)
{
  if (!g_atomic_int_exchange (&core->wake_pending, TRUE))
    g_main_context_wakeup (core->context);
}

/* }}} */
/* {{{ Signals, in the creator's main context */

/* The pool's thread never holds the pool itself: were it to drop the last
 * reference, the pool would be disposed there, and the caller's own last
 * unref would return before the workers are reaped. So it queues what
 * happened, and the creator's context looks at the pool and its handlers.
 * At most MAX_EMISSIONS wait, in case that context never runs. */
#define MAX_EMISSIONS 1024

typedef struct
{
  guint signal_id;
  guint pid;
  int wait_status;
} Emission;

static gboolean
emit_in_context (gpointer user_data)
{
  Core *core = user_data;
  g_autoptr(GArray) emissions = NULL;
  g_autoptr(PPool) pool = NULL;

  g_mutex_lock (&core->mutex);
  g_clear_pointer (&core->emission_source, g_source_unref);
  emissions = g_steal_pointer (&core->emissions);
  core->emissions = g_array_new (FALSE, FALSE, sizeof (Emission));
  g_mutex_unlock (&core->mutex);

  /* Its last reference, if a handler drops it, is dropped in this thread. */
  pool = g_weak_ref_get (&core->pool);
  for (guint i = 0; pool != NULL && i < emissions->len; i++)
    {
      const Emission *emission = &g_array_index (emissions, Emission, i);

      if (emission->signal_id == signals[WORKER_STARTED])
        g_signal_emit (pool, emission->signal_id, 0, emission->pid);
      else
        g_signal_emit (pool, emission->signal_id, 0, emission->pid, emission->wait_status);
    }

  return G_SOURCE_REMOVE;
}

/* On the pool thread. */
static void
core_emit (Core  *core,
           guint  signal_id,
           GPid   pid,
           int    wait_status)
{
  Emission emission = { signal_id, (guint) pid, wait_status };

  g_mutex_lock (&core->mutex);
  if (core->emissions_dropped)
    {
      g_mutex_unlock (&core->mutex);
      return;
    }

  if (core->emissions->len < MAX_EMISSIONS)
    g_array_append_val (core->emissions, emission);

  if (core->emission_source == NULL)
    {
      core->emission_source = g_idle_source_new ();
      g_source_set_priority (core->emission_source, G_PRIORITY_DEFAULT);
      g_source_set_static_name (core->emission_source, "[processing-glib] worker signals");
      g_source_set_callback (core->emission_source, emit_in_context, core_ref (core),
                             (GDestroyNotify) core_unref);
      g_source_attach (core->emission_source, core->signal_context);
    }
  g_mutex_unlock (&core->mutex);
}

/* Once the pool is being disposed: the source holds the core, which holds
 * its context; this breaks that cycle when the context never runs. */
static void
core_drop_emissions (Core *core)
{
  GSource *source;

  g_mutex_lock (&core->mutex);
  core->emissions_dropped = TRUE;
  source = g_steal_pointer (&core->emission_source);
  g_array_set_size (core->emissions, 0);
  g_mutex_unlock (&core->mutex);

  if (source != NULL)
    {
      g_source_destroy (source);
      g_source_unref (source);
    }
}

/* }}} */
/* {{{ Jobs and chunks */

static void
chunk_free (Chunk *chunk)
{
  g_clear_pointer (&chunk->frame, p_frame_unref);
  g_slice_free (Chunk, chunk);
}

static guint64
core_next_id (Core *core)
{
  return (guint64) g_atomic_pointer_add (&core->next_id, 1) + 1;
}

static Job *
job_new (Core         *core,
         JobKind       kind,
         const char   *function,
         GCancellable *cancellable)
{
  Job *job = g_slice_new0 (Job);

  job->id = core_next_id (core);
  job->kind = kind;
  if (strlen (function) < sizeof job->function_storage)
    job->function = strcpy (job->function_storage, function);
  else
    job->function = g_strdup (function);
  job->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  job->link.data = job;

  return job;
}

static void
job_free (Core *core,
          Job  *job)
{
  /* Waits for a handler running in another thread, which only takes the
   * core's mutex: this is never called with it held. */
  if (job->cancelled_handler != 0)
    g_cancellable_disconnect (job->cancellable, job->cancelled_handler);
  if (job->in_jobs_by_id)
    g_hash_table_remove (core->jobs_by_id, &job->id);

  if (job->chunk_values != NULL)
    for (guint i = 0; i < job->n_chunks; i++)
      g_clear_pointer (&job->chunk_values[i], g_variant_unref);

  g_free (job->chunk_values);
  if (job->chunks != &job->first_chunk)
    g_free (job->chunks);
  g_clear_pointer (&job->sink, p_sink_link_unref);
  g_clear_object (&job->sink_for_task);
  g_clear_object (&job->cancellable);
  if (job->function != job->function_storage)
    g_free (job->function);
  g_slice_free (Job, job);
}

static Chunk *
job_add_chunk (Job     *job,
               guint64  id,
               guint    first_item,
               guint    n_items,
               PFrame  *frame)
{
  Chunk *chunk = g_slice_new0 (Chunk);

  chunk->job = job;
  chunk->index = job->n_chunks;
  chunk->id = id;
  chunk->first_item = first_item;
  chunk->n_items = n_items;
  chunk->frame = frame;
  chunk->state = CHUNK_NEW;
  chunk->link.data = chunk;

  /* A task's one chunk needs no array of its own. */
  if (job->n_chunks == 0)
    {
      job->chunks = &job->first_chunk;
      job->chunks_allocated = 1;
    }
  else if (job->n_chunks == job->chunks_allocated)
    {
      Chunk **chunks = job->chunks == &job->first_chunk ? NULL : job->chunks;

      job->chunks_allocated *= 2;
      job->chunks = g_renew (Chunk *, chunks, job->chunks_allocated);
      if (chunks == NULL)
        job->chunks[0] = job->first_chunk;
    }
  job->chunks[job->n_chunks++] = chunk;
  job->n_chunks_left++;

  return chunk;
}


static void
job_set_sink (Job       *job,
              PSinkLink *link,
              gpointer   sink,
              gboolean   for_task)
{
  job->sink = p_sink_link_ref (link);
  if (for_task)
    job->sink_for_task = g_object_ref (sink);
}

/* A new reference to whoever waits for @job's results, or NULL. */
static gpointer
job_dup_sink (Job *job)
{
  return job->sink != NULL ? p_sink_link_dup (job->sink) : NULL;
}

/* Hands @error to whoever waits for @job, if anybody still does. */
static void
job_return_error (Job    *job,
                  GError *error)
{
  g_autoptr(GObject) sink = job_dup_sink (job);

  if (sink != NULL && job->kind != JOB_IMAP)
    {
      p_result_return_error (P_RESULT (sink), error);
      return;
    }

  if (sink != NULL)
    p_map_iter_fail (P_MAP_ITER (sink), error);
  g_error_free (error);
}

/* A finished chunk leaves its job; the caller frees it. */
static void
job_release_chunk (Job   *job,
                   Chunk *chunk)
{
  g_assert (job->chunks[chunk->index] == chunk);
  g_assert (job->n_chunks_left > 0);

  job->chunks[chunk->index] = NULL;
  job->n_chunks_left--;
  chunk->job = NULL;
}

/* A large body goes to a worker that takes it sealed, in shared memory:
 * copied once, not twice through the socket. */
static void
core_send_chunk_frame (PProcess *process,
                       Chunk    *chunk)
{
  g_autoptr(PFrame) frame = process->takes_sealed ? p_frame_seal_if_large (chunk->frame)
                                                  : p_frame_ref (chunk->frame);

  p_process_send (process, frame);
}

static void
core_send_cancel (Core    *core,
                  Chunk   *chunk)
{
  g_autoptr(PFrame) frame = NULL;

  frame = p_frame_new_from_bytes (p_message_encode (P_MESSAGE_CANCEL, p_message_new_id (chunk->id),
                                                    core->max_message_size, NULL));
  p_process_send (chunk->process, frame);
}

/* Ends @job with @error: what is queued is dropped, what runs is told to
 * stop and its reply will be ignored. */
static void
job_fail (Core   *core,
          Job    *job,
          GError *error)
{
  for (guint i = 0; i < job->n_chunks; i++)
    {
      Chunk *chunk = job->chunks[i];

      if (chunk == NULL)
        continue;

      job->chunks[i] = NULL;
      chunk->job = NULL;

      switch (chunk->state)
        {
        case CHUNK_NEW:
          chunk_free (chunk);
          break;

        case CHUNK_PENDING:
          g_queue_unlink (&core->pending, &chunk->link);
          chunk_free (chunk);
          break;

        case CHUNK_IN_FLIGHT:
          /* Stays in flight as an orphan so that replies still match;
           * if it runs and does not stop, its worker is killed. */
          chunk->orphaned_at = g_get_monotonic_time ();
          core_send_cancel (core, chunk);
          core_arm_running_timer (core, chunk->process);
          break;

        default:
          g_assert_not_reached ();
        }
    }

  job->n_chunks_left = 0;
  g_queue_unlink (&core->jobs, &job->link);

  job_return_error (job, error);
  job_free (core, job);
}

static void
job_succeed (Core *core,
             Job  *job)
{
  g_queue_unlink (&core->jobs, &job->link);

  if (job->kind == JOB_MAP)
    {
      g_autoptr(PResult) result = job_dup_sink (job);

      if (result != NULL)
        p_result_return_chunks (result, g_steal_pointer (&job->chunk_values),
                                job->n_chunks, job->n_items);
    }

  job_free (core, job);
}

static GError *
error_from_wire (const char *domain,
                 gint32      code,
                 const char *message)
{
  return g_error_new_literal (g_quark_from_string (domain), code, message);
}

/* A released chunk's task failed as a whole: its ERROR reply, or its
 * worker died. */
static void
core_chunk_failed (Core   *core,
                   Job    *job,
                   Chunk  *chunk,
                   GError *error)
{
  g_autoptr(PMapIter) iter = NULL;

  if (job->kind != JOB_IMAP)
    {
      job_fail (core, job, error);
      return;
    }

  /* Nobody iterates any more: the rest of the work is not worth doing. */
  iter = job_dup_sink (job);
  if (iter == NULL)
    {
      job_fail (core, job, error);
      return;
    }

  p_map_iter_push_error (iter, chunk->first_item, chunk->n_items, error);
  g_error_free (error);

  if (job->n_chunks_left == 0)
    job_succeed (core, job);
}

/* A released chunk's reply: for a task, its RESULT @message; for a
 * chunk, the array of its successes @values ("av", or "aT" when they
 * share a type) and the "a(usis)" of its failures. */
static void
core_chunk_succeeded (Core           *core,
                      Job            *job,
                      Chunk          *chunk,
                      const PMessage *message,
                      GVariant       *values,
                      GVariant       *errors)
{
  switch (job->kind)
    {
    case JOB_APPLY:
      {
        g_autoptr(PResult) result = job_dup_sink (job);
        PDeferredValue *deferred;

        /* Made by whoever reads it, if it can wait. */
        if (result != NULL && (deferred = p_message_defer_value (message)) != NULL)
          p_result_return_deferred_value (result, deferred);
        else if (result != NULL)
          p_result_return_value (result, p_message_dup_value (message));
        job_succeed (core, job);
      }
      break;

    case JOB_MAP:
      /* A single item's RESULT: its variant, as the "av" of its chunk. */
      if (chunk->is_task)
        {
          g_autoptr(GVariant) boxed = p_message_dup_boxed_value (message);

          job->chunk_values[chunk->index] = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARIANT, &boxed, 1));
          if (job->n_chunks_left == 0)
            job_succeed (core, job);
          break;
        }

      if (g_variant_n_children (errors) > 0)
        {
          const char *domain, *text;
          gint32 code;

          /* A map fails with its first error, and stops the rest. */
          g_variant_get_child (errors, 0, "(u&si&s)", NULL, &domain, &code, &text);
          job_fail (core, job, error_from_wire (domain, code, text));
          return;
        }

      job->chunk_values[chunk->index] = g_variant_ref (values);
      if (job->n_chunks_left == 0)
        job_succeed (core, job);
      break;

    case JOB_IMAP:
      {
        g_autoptr(PMapIter) iter = job_dup_sink (job);
        PDeferredValue *deferred;

        /* Nobody iterates any more: the rest is not worth doing. */
        if (iter == NULL)
          {
            job_fail (core, job, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                      _("Operation was cancelled")));
            return;
          }

        if (chunk->is_task && (deferred = p_message_defer_value (message)) != NULL)
          p_map_iter_push_deferred_value (iter, chunk->first_item, deferred);
        else if (chunk->is_task)
          p_map_iter_push_value (iter, chunk->first_item, p_message_dup_value (message));
        else
          p_map_iter_push_chunk (iter, chunk->first_item, chunk->n_items, values, errors);
        if (job->n_chunks_left == 0)
          job_succeed (core, job);
      }
      break;

    default:
      g_assert_not_reached ();
    }
}

/* }}} */
/* {{{ Accepting work, on the pool thread */

typedef struct
{
  Core *core;
  guint64 job_id;
} CancelData;

/* In the thread that cancels: the pool thread does the rest. (A
 * GCancellableSource would do, but in GLib 2.74 it can leak when it is
 * destroyed while another thread cancels.) */
static void
on_job_cancelled (GCancellable *cancellable,
                  gpointer      user_data)
{
  CancelData *data = user_data;

  g_mutex_lock (&data->core->mutex);
  g_array_append_val (data->core->cancelled_jobs, data->job_id);
  g_mutex_unlock (&data->core->mutex);

  core_wake (data->core);
}

static GError *
unknown_function_error (const char *function)
{
  return g_error_new (P_POOL_ERROR, P_POOL_ERROR_UNKNOWN_FUNCTION,
                      _("No worker serves a function named “%s”"), function);
}

/* Whether the workers serve @function, as far as known yet: tasks mostly
 * come in runs of one function, which is compared, not hashed, again. */
static gboolean
core_serves_function (Core       *core,
                      const char *function)
{
  const char *key;

  if (core->functions == NULL)
    return TRUE;

  if (core->last_function_served != NULL && strcmp (core->last_function_served, function) == 0)
    return TRUE;

  if (!g_hash_table_lookup_extended (core->functions, function, (gpointer *) &key, NULL))
    return FALSE;

  core->last_function_served = key;
  return TRUE;
}

static void
core_accept_job (Core *core,
                 Job  *job)
{
  g_queue_push_tail_link (&core->jobs, &job->link);

  if (core->terminated)
    {
      job_fail (core, job, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                _("The pool was terminated")));
      return;
    }

  if (g_cancellable_is_cancelled (job->cancellable))
    {
      job_fail (core, job, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                _("Operation was cancelled")));
      return;
    }

  if (!core_serves_function (core, job->function))
    {
      job_fail (core, job, unknown_function_error (job->function));
      return;
    }

  if (job->n_chunks == 0)
    {
      job_succeed (core, job);
      return;
    }

  /* Only a cancel looks a job up. */
  if (job->cancellable != NULL)
    {
      CancelData *data = g_new (CancelData, 1);

      job->in_jobs_by_id = TRUE;
      g_hash_table_insert (core->jobs_by_id, &job->id, job);

      data->core = core;
      data->job_id = job->id;
      job->cancelled_handler = g_cancellable_connect (job->cancellable, G_CALLBACK (on_job_cancelled),
                                                      data, g_free);
    }

  for (guint i = 0; i < job->n_chunks; i++)
    {
      job->chunks[i]->state = CHUNK_PENDING;
      g_queue_push_tail_link (&core->pending, &job->chunks[i]->link);
    }
}

/* Fails every job that is waiting for a worker. */
static void
core_fail_waiting_jobs (Core         *core,
                        const GError *error)
{
  GList *l = core->jobs.head;

  while (l != NULL)
    {
      Job *job = l->data;
      gboolean waiting = FALSE;

      l = l->next;
      for (guint i = 0; i < job->n_chunks && !waiting; i++)
        waiting = job->chunks[i] != NULL && job->chunks[i]->state == CHUNK_PENDING;

      if (waiting)
        job_fail (core, job, g_error_copy (error));
    }
}

/* }}} */
/* {{{ Workers */

static void core_on_message (PProcess *process, const PMessage *message, gpointer user_data);
static void core_on_exited (PProcess *process, gpointer user_data);
static void core_on_read_done (PProcess *process, gpointer user_data);

static const PProcessCallbacks process_callbacks = {
  core_on_message,
  core_on_exited,
  core_on_read_done,
};

static void
core_start_failed (Core   *core,
                   GError *cause)
{
  core->start_failures++;

  g_debug ("Worker start failure %u: %s", core->start_failures, cause->message);

  if (core->start_failures >= MAX_START_FAILURES)
    {
      g_mutex_lock (&core->mutex);
      g_clear_error (&core->start_error);
      core->start_error = g_error_copy (cause);
      g_mutex_unlock (&core->mutex);

      core_fail_waiting_jobs (core, cause);
    }

  g_error_free (cause);
}

static gboolean
core_spawn_one (Core    *core,
                GError **error)
{
  PProcess *process;

  process = p_process_spawn ((const char * const *) core->worker_argv,
                             core->max_message_size, STARTUP_TIMEOUT_SEC,
                             &process_callbacks, core, error);
  if (process == NULL)
    return FALSE;

  g_ptr_array_add (core->processes, process);
  core_emit (core, signals[WORKER_STARTED], process->pid, 0);

  return TRUE;
}

/* Workers that take tasks, or will once they announce themselves;
 * retiring ones are already being replaced. */
static guint
core_count_active (Core *core)
{
  guint active = 0;

  for (guint i = 0; i < core->processes->len; i++)
    {
      PProcess *process = g_ptr_array_index (core->processes, i);

      active += process->state == P_PROCESS_STARTING || process->state == P_PROCESS_READY;
    }

  return active;
}

static void
core_spawn_missing (Core *core)
{
  while (core_count_active (core) < core->n_processes)
    {
      GError *error = NULL;

      if (!core_spawn_one (core, &error))
        {
          core_start_failed (core, error);
          core_maybe_respawn (core);
          return;
        }
    }
}

static gboolean
respawn_timer_fired (gpointer user_data)
{
  Core *core = user_data;

  g_clear_pointer (&core->respawn_timer, g_source_unref);
  core_spawn_missing (core);
  core_schedule (core);

  return G_SOURCE_REMOVE;
}

static gboolean
core_needs_workers (Core *core)
{
  return !core->terminated && (!core->closed_seen || !g_queue_is_empty (&core->pending));
}

/* Replaces missing workers; after start failures, with an exponential
 * back-off so that a command that keeps dying does not spin. */
static void
core_maybe_respawn (Core *core)
{
  guint delay;

  if (core->respawn_timer != NULL ||
      core_count_active (core) >= core->n_processes ||
      !core_needs_workers (core))
    return;

  if (core->start_failures == 0)
    {
      core_spawn_missing (core);
      return;
    }

  delay = RESPAWN_BACKOFF_MIN_MSEC << MIN (core->start_failures - 1, 16);
  delay = MIN (delay, RESPAWN_BACKOFF_MAX_MSEC);

  core->respawn_timer = g_timeout_source_new (delay);
  g_source_set_callback (core->respawn_timer, respawn_timer_fired, core, NULL);
  g_source_attach (core->respawn_timer, core->context);
}

static Chunk *
process_find_in_flight (PProcess *process,
                        guint64   id)
{
  for (GList *l = process->in_flight.head; l != NULL; l = l->next)
    if (((Chunk *) l->data)->id == id)
      return l->data;

  return NULL;
}

static void
core_fail_unserved_jobs (Core *core)
{
  GList *next;

  for (GList *l = core->jobs.head; l != NULL; l = next)
    {
      Job *job = l->data;

      next = l->next;
      if (!core_serves_function (core, job->function))
        job_fail (core, job, unknown_function_error (job->function));
    }
}

static void
core_on_hello (Core     *core,
               PProcess *process,
               GVariant *body)
{
  g_autofree const char **names = NULL;
  gboolean first_list;
  guint32 version;
  gint64 pid;

  /* Read after it died: too late to count. */
  if (process->state == P_PROCESS_DEAD)
    return;

  if (process->announced)
    {
      p_process_protocol_error (process, "it announced itself twice");
      return;
    }

  g_variant_get (body, "(ux^a&s)", &version, &pid, &names);
  if (version < P_PROTOCOL_VERSION_MIN || version > P_PROTOCOL_VERSION)
    {
      g_autofree char *message = g_strdup_printf ("it speaks protocol version %u, not %u to %u",
                                                  version, P_PROTOCOL_VERSION_MIN, P_PROTOCOL_VERSION);
      p_process_protocol_error (process, message);
      return;
    }
  process->takes_recalls = version >= 2;
  process->takes_sealed = version >= 3;

  first_list = core->functions == NULL;
  core->last_function_served = NULL;
  g_clear_pointer (&core->functions, g_hash_table_unref);
  core->functions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; names[i] != NULL; i++)
    g_hash_table_add (core->functions, g_strdup (names[i]));

  /* Jobs taken before any worker said what it serves were not checked:
   * they fail now as they would have then, rather than go to a worker. */
  if (first_list)
    core_fail_unserved_jobs (core);

  p_process_set_ready (process);

  if (core->start_failures > 0)
    {
      core->start_failures = 0;
      g_mutex_lock (&core->mutex);
      g_clear_error (&core->start_error);
      g_mutex_unlock (&core->mutex);
    }
}

static void
core_on_reply (Core           *core,
               PProcess       *process,
               const PMessage *message)
{
  PMessageKind kind = message->kind;
  GVariant *body = message->body;
  g_autoptr(GVariant) values = NULL;
  g_autoptr(GVariant) errors = NULL;
  gboolean is_chunk;
  guint64 id = message->id;
  Chunk *chunk;
  Job *job;

  chunk = process_find_in_flight (process, id);
  if (chunk == NULL)
    {
      g_autofree char *reason = g_strdup_printf ("it replied to task %" G_GUINT64_FORMAT ", which it does not run", id);
      p_process_protocol_error (process, reason);
      return;
    }

  if (kind == P_MESSAGE_RECALLED)
    {
      core_on_recalled (core, process, chunk);
      return;
    }

  /* Orphans do not know what they were; a live chunk must get the
   * reply that matches its message. */
  is_chunk = chunk->job != NULL && !chunk->is_task;
  if (chunk->job != NULL &&
      ((kind == P_MESSAGE_RESULT && is_chunk) ||
       (kind == P_MESSAGE_CHUNK_RESULT && !is_chunk)))
    {
      p_process_protocol_error (process, "it sent a reply of the wrong kind");
      return;
    }

  if (kind == P_MESSAGE_ERROR)
    {
      if (!p_error_domain_is_valid (message->name))
        {
          p_process_protocol_error (process, "it sent an error with an invalid domain");
          return;
        }
    }

  if (kind == P_MESSAGE_CHUNK_RESULT)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (body, 1);

      values = g_variant_get_variant (boxed);
      errors = g_variant_get_child_value (body, 2);

      if (!p_chunk_result_is_valid (values, errors, chunk->n_items,
                                    chunk->job == NULL ? P_CHUNK_RULE_EITHER :
                                    chunk->job->kind == JOB_MAP ? P_CHUNK_RULE_MAP : P_CHUNK_RULE_IMAP))
        {
          p_process_protocol_error (process, "it sent a chunk result that does not match its chunk");
          return;
        }
    }

  /* The next one starts now; how long this one ran tells how deep the
   * worker's queue should be. */
  if (process->in_flight.head == &chunk->link)
    {
      gint64 now = g_get_monotonic_time ();

      process->average_run_usec += ((now - process->running_since) - process->average_run_usec) / 8;
      process->running_since = now;
    }
  g_queue_unlink (&process->in_flight, &chunk->link);
  chunk->state = CHUNK_NEW;
  chunk->process = NULL;
  core_arm_running_timer (core, process);

  job = chunk->job;
  if (job == NULL)
    {
      chunk_free (chunk);
      return;
    }

  job_release_chunk (job, chunk);

  switch (kind)
    {
    case P_MESSAGE_RESULT:
      core_chunk_succeeded (core, job, chunk, message, NULL, NULL);
      break;

    case P_MESSAGE_CHUNK_RESULT:
      core_chunk_succeeded (core, job, chunk, NULL, values, errors);
      break;

    case P_MESSAGE_ERROR:
      {
        const char *domain, *text;
        gint32 code;

        g_variant_get (body, "(t&si&s)", NULL, &domain, &code, &text);
        core_chunk_failed (core, job, chunk, error_from_wire (domain, code, text));
      }
      break;

    default:
      g_assert_not_reached ();
    }

  chunk_free (chunk);
}

static void
core_on_message (PProcess       *process,
                 const PMessage *message,
                 gpointer        user_data)
{
  Core *core = user_data;

  if (!core->wake_batch_open)
    {
      p_wake_batch_begin ();
      core->wake_batch_open = TRUE;
    }

  if (message->kind == P_MESSAGE_HELLO)
    {
      core_on_hello (core, process, message->body);
      return;
    }

  if (!process->announced)
    {
      p_process_protocol_error (process, "it replied before it announced itself");
      return;
    }

  core_on_reply (core, process, message);
}

static void
core_on_read_done (PProcess *process,
                   gpointer  user_data)
{
  Core *core = user_data;

  /* Before the next messages leave: the waiters' turn. */
  if (core->wake_batch_open)
    {
      core->wake_batch_open = FALSE;
      p_wake_batch_end ();
    }

  core_schedule (core);
}

static GError *
describe_death (Core     *core,
                PProcess *process)
{
  g_autofree char *status = NULL;

  if (process->kill_reason != NULL)
    return g_error_copy (process->kill_reason);

  status = p_process_describe_exit (process);
  return g_error_new_literal (P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED, status);
}

static void
core_on_exited (PProcess *process,
                gpointer  user_data)
{
  Core *core = user_data;
  Chunk *running;
  GList *link;

  g_ptr_array_remove_fast (core->processes, process);
  core_emit (core, signals[WORKER_EXITED], process->pid, process->wait_status);

  if (!process->announced && !core->terminated)
    {
      g_autoptr(GError) death = describe_death (core, process);

      core_start_failed (core,
                         g_error_new (P_POOL_ERROR, P_POOL_ERROR_WORKER_START,
                                      _("Worker “%s” failed to start: %s"),
                                      core->worker_argv[0], death->message));
    }

  /* The task it was running fails; those it had not started run elsewhere. */
  /* The links are the chunks' own: pop them, never free them. */
  link = g_queue_pop_head_link (&process->in_flight);
  running = link ? link->data : NULL;
  while ((link = g_queue_pop_tail_link (&process->in_flight)))
    {
      Chunk *chunk = link->data;

      chunk->process = NULL;
      chunk->recalling = FALSE;
      if (chunk->job == NULL)
        {
          chunk_free (chunk);
          continue;
        }
      chunk->state = CHUNK_PENDING;
      g_queue_push_head_link (&core->pending, &chunk->link);
    }

  if (running != NULL)
    {
      Job *job = running->job;

      running->process = NULL;
      running->state = CHUNK_NEW;
      if (job != NULL)
        {
          job_release_chunk (job, running);
          core_chunk_failed (core, job, running, describe_death (core, process));
        }
      chunk_free (running);
    }

  p_process_free (process);

  core_maybe_respawn (core);
  core_schedule (core);
}

/* }}} */
/* {{{ Scheduling, on the pool thread */

/* On the pool thread. */
static Settings
core_get_settings (Core *core)
{
  return core->current;
}

static gboolean
process_is_retiring (PProcess       *process,
                     const Settings *settings)
{
  return settings->max_tasks_per_worker > 0 &&
         process->n_tasks_sent >= settings->max_tasks_per_worker;
}

static guint
process_max_in_flight (PProcess *process)
{
  gint64 n = IN_FLIGHT_USEC / MAX (process->average_run_usec, 1);

  return CLAMP (n, IN_FLIGHT_MIN, IN_FLIGHT_MAX);
}

static gboolean
process_takes_tasks (PProcess       *process,
                     const Settings *settings)
{
  return process->state == P_PROCESS_READY &&
         process->in_flight.length < process_max_in_flight (process) &&
         !process_is_retiring (process, settings);
}

static void
core_dispatch_chunk (Core     *core,
                     PProcess *process,
                     Chunk    *chunk)
{
  g_queue_unlink (&core->pending, &chunk->link);
  chunk->state = CHUNK_IN_FLIGHT;
  chunk->process = process;
  g_queue_push_tail_link (&process->in_flight, &chunk->link);
  process->n_tasks_sent++;
  core_send_chunk_frame (process, chunk);

  /* An idle worker starts it now. */
  if (process->in_flight.length == 1)
    {
      process->running_since = g_get_monotonic_time ();
      core_arm_running_timer (core, process);
    }
}

/* {{{ The running task's clock */

/* A timeout in the pool thread's context, due at @deadline (monotonic
 * time), rounded up to the millisecond. */
static GSource *
core_add_timeout_at (Core           *core,
                     gint64          deadline,
                     GSourceFunc     func,
                     gpointer        data,
                     GDestroyNotify  notify)
{
  GSource *source = g_timeout_source_new (MAX (0, (deadline - g_get_monotonic_time () + 999) / 1000));

  g_source_set_callback (source, func, data, notify);
  g_source_attach (source, core->context);

  return source;
}

/* When the head of @process's in-flight messages must be done: its task
 * time-out (per item, for a chunk) while its job waits for it; the cancel
 * grace period once nobody does. G_MAXINT64 for never. */
static gint64
running_deadline (PProcess       *process,
                  const Settings *settings)
{
  Chunk *head = process->in_flight.head ? process->in_flight.head->data : NULL;

  if (head == NULL || process->state == P_PROCESS_DEAD)
    return G_MAXINT64;

  if (head->job == NULL)
    return MAX (head->orphaned_at, process->running_since) + settings->cancel_grace_period;

  if (settings->task_timeout > 0)
    return process->running_since + settings->task_timeout * MAX (head->n_items, 1);

  return G_MAXINT64;
}

typedef struct
{
  Core *core;
  PProcess *process;
} RunningTimer;

static gboolean
running_timer_fired (gpointer user_data)
{
  RunningTimer *data = user_data;
  Core *core = data->core;
  PProcess *process = data->process;
  Settings settings = core_get_settings (core);
  Chunk *head;

  if (g_get_monotonic_time () < running_deadline (process, &settings))
    {
      core_arm_running_timer (core, process);
      return G_SOURCE_REMOVE;
    }

  g_clear_pointer (&process->running_timer, g_source_unref);
  head = process->in_flight.head->data;

  /* Its task fails with the reason (see core_on_exited), and a
   * replacement is started. */
  if (head->job == NULL)
    p_process_kill (process,
                    g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                 _("Worker process %d did not stop a cancelled task within %.3g s and was killed"),
                                 (int) process->pid, settings.cancel_grace_period / (double) G_USEC_PER_SEC));
  else
    p_process_kill (process,
                    g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                 _("Task “%s” ran for longer than %.3g s; worker process %d was killed"),
                                 head->job->function,
                                 settings.task_timeout * MAX (head->n_items, 1) / (double) G_USEC_PER_SEC,
                                 (int) process->pid));

  return G_SOURCE_REMOVE;
}

/* (Re)starts the clock of what @process runs. */
static void
core_arm_running_timer (Core     *core,
                        PProcess *process)
{
  Settings settings = core_get_settings (core);
  gint64 deadline = running_deadline (process, &settings);
  RunningTimer *data;

  p_clear_source (&process->running_timer);

  if (deadline == G_MAXINT64)
    return;

  data = g_new (RunningTimer, 1);
  data->core = core;
  data->process = process;
  process->running_timer = core_add_timeout_at (core, deadline, running_timer_fired, data, g_free);
}

/* }}} */

/* {{{ Giving back what waits behind a long task
 *
 * A worker holds up to IN_FLIGHT_MAX tasks, as many as it runs in
 * IN_FLIGHT_USEC: short ones leave their replies together. Behind a task
 * that runs far longer than its worker's recent ones, they would wait for
 * it while another worker idles; so the pool recalls those the worker has
 * not started, and sends them again. A worker answers a RECALL with
 * RECALLED only for a task it had not started: none runs twice. */

static gint64
process_stuck_deadline (PProcess *process)
{
  return process->running_since + MAX (STALL_MIN_USEC, STALL_FACTOR * process->average_run_usec);
}

/* Whether @process holds tasks it has not started that could be recalled. */
static gboolean
process_has_recallable (PProcess *process)
{
  if (!process->takes_recalls || process->state == P_PROCESS_DEAD || process->in_flight.length < 2)
    return FALSE;

  for (GList *l = process->in_flight.head->next; l != NULL; l = l->next)
    {
      Chunk *chunk = l->data;

      if (chunk->job != NULL && !chunk->recalling)
        return TRUE;
    }

  return FALSE;
}

static void
core_recall_queued (Core     *core,
                    PProcess *process)
{
  guint n_recalled = 0;

  /* Never the head: the worker runs it, or is about to. */
  for (GList *l = process->in_flight.head->next; l != NULL; l = l->next)
    {
      Chunk *chunk = l->data;
      g_autoptr(PFrame) frame = NULL;

      if (chunk->job == NULL || chunk->recalling)
        continue;

      chunk->recalling = TRUE;
      frame = p_frame_new_from_bytes (p_message_encode (P_MESSAGE_RECALL, p_message_new_id (chunk->id),
                                                        core->max_message_size, NULL));
      p_process_send (process, frame);
      n_recalled++;
    }

  g_debug ("Recalling %u tasks queued in worker process %d behind one running for %.1f ms",
           n_recalled, (int) process->pid, (g_get_monotonic_time () - process->running_since) / 1000.0);
}

static gboolean
recall_timer_fired (gpointer user_data)
{
  Core *core = user_data;

  g_clear_pointer (&core->recall_timer, g_source_unref);
  core->recall_deadline = 0;
  core_schedule (core);

  return G_SOURCE_REMOVE;
}

static void
core_set_recall_timer (Core   *core,
                       gint64  deadline)
{
  if (deadline == core->recall_deadline)
    return;

  p_clear_source (&core->recall_timer);

  core->recall_deadline = deadline;
  if (deadline == 0)
    return;

  core->recall_timer = core_add_timeout_at (core, deadline, recall_timer_fired, core, NULL);
}

/* With nothing left to send: while a worker idles, a worker stuck on a
 * long task gives back what it holds, now or when it counts as stuck. */
static void
core_rebalance (Core           *core,
                const Settings *settings)
{
  gint64 now = 0, next = 0;
  gboolean one_idles = FALSE;

  for (guint i = 0; i < core->processes->len && !one_idles; i++)
    {
      PProcess *process = g_ptr_array_index (core->processes, i);

      one_idles = g_queue_is_empty (&process->in_flight) && process_takes_tasks (process, settings);
    }

  for (guint i = 0; i < core->processes->len && one_idles; i++)
    {
      PProcess *process = g_ptr_array_index (core->processes, i);
      gint64 deadline;

      if (!process_has_recallable (process))
        continue;

      if (now == 0)
        now = g_get_monotonic_time ();

      deadline = process_stuck_deadline (process);
      if (now >= deadline)
        core_recall_queued (core, process);
      else if (next == 0 || deadline < next)
        next = deadline;
    }

  core_set_recall_timer (core, next);
}

/* Pending again, before what was submitted after it. */
static void
core_requeue_chunk (Core  *core,
                    Chunk *chunk)
{
  GList *l = core->pending.head;

  while (l != NULL && ((Chunk *) l->data)->id < chunk->id)
    l = l->next;

  chunk->state = CHUNK_PENDING;
  if (l == NULL)
    g_queue_push_tail_link (&core->pending, &chunk->link);
  else
    g_queue_insert_before_link (&core->pending, l, &chunk->link);
}

static void
core_on_recalled (Core     *core,
                  PProcess *process,
                  Chunk    *chunk)
{
  gboolean was_head = process->in_flight.head == &chunk->link;

  if (!chunk->recalling)
    {
      p_process_protocol_error (process, "it gave back a task that was not recalled");
      return;
    }

  g_queue_unlink (&process->in_flight, &chunk->link);
  chunk->recalling = FALSE;
  chunk->process = NULL;
  /* It counts toward nobody's share. */
  process->n_tasks_sent--;

  /* The one after a finished task was given back: the next one starts. */
  if (was_head)
    {
      process->running_since = g_get_monotonic_time ();
      core_arm_running_timer (core, process);
    }

  if (chunk->job == NULL)
    {
      chunk->state = CHUNK_NEW;
      chunk_free (chunk);
      return;
    }

  core_requeue_chunk (core, chunk);
}

/* }}} */

static void
core_schedule (Core *core)
{
  Settings settings = core_get_settings (core);
  gboolean closed;
  gint64 now = 0;

  /* Breadth first: each task goes to the least busy worker that takes
   * one, so every idle worker gets a task before any gets two. */
  while (!g_queue_is_empty (&core->pending))
    {
      PProcess *least_busy = NULL;

      for (guint i = 0; i < core->processes->len; i++)
        {
          PProcess *process = g_ptr_array_index (core->processes, i);

          if (!process_takes_tasks (process, &settings))
            continue;

          /* Behind a task that runs far longer than usual, one at most. */
          if (process->in_flight.length >= IN_FLIGHT_MIN)
            {
              if (now == 0)
                now = g_get_monotonic_time ();
              if (now >= process_stuck_deadline (process))
                continue;
            }

          if (least_busy == NULL || process->in_flight.length < least_busy->in_flight.length)
            least_busy = process;
        }

      if (least_busy == NULL)
        break;

      core_dispatch_chunk (core, least_busy, g_queue_peek_head (&core->pending));
    }

  if (g_queue_is_empty (&core->pending))
    core_rebalance (core, &settings);
  else
    core_set_recall_timer (core, 0);

  closed = core->closed_seen;

  for (guint i = 0; i < core->processes->len; i++)
    {
      PProcess *process = g_ptr_array_index (core->processes, i);

      if (g_queue_is_empty (&process->in_flight) &&
          /* After a shutdown, idle workers are told to exit... */
          ((closed && g_queue_is_empty (&core->pending)) ||
           /* ...and a worker that ran its share retires. */
           process_is_retiring (process, &settings)))
        p_process_close (process);

      p_process_flush (process);
    }

  core_maybe_respawn (core);
  core_check_finished (core);
}

static void
core_terminate_now (Core *core)
{
  GList *l;

  core->terminated = TRUE;

  p_clear_source (&core->respawn_timer);
  core_set_recall_timer (core, 0);

  while ((l = core->jobs.head) != NULL)
    job_fail (core, l->data, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                  _("The pool was terminated")));

  for (guint i = 0; i < core->processes->len; i++)
    p_process_kill (g_ptr_array_index (core->processes, i),
                    g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                         _("The pool was terminated")));
}

static void
core_check_finished (Core *core)
{
  gboolean finished;

  if (core->processes->len > 0 || !g_queue_is_empty (&core->jobs))
    return;

  g_mutex_lock (&core->mutex);
  finished = core->closed && g_queue_is_empty (&core->incoming);
  if (finished && !core->finished)
    {
      core->finished = TRUE;
      g_cond_broadcast (&core->cond);
    }
  g_mutex_unlock (&core->mutex);

  if (finished)
    core->thread_should_exit = TRUE;
}

static gboolean
core_wakeup_dispatch (GSource     *source,
                      GSourceFunc  callback,
                      gpointer     user_data)
{
  Core *core = user_data;
  GQueue incoming = G_QUEUE_INIT;
  GArray *cancelled;
  gboolean settings_changed;
  gboolean terminate;
  GList *link;
  Job *job;

  /* Cleared before looking, so that a wake-up during this is not lost. */
  g_atomic_int_set (&core->wake_pending, FALSE);

  g_mutex_lock (&core->mutex);
  incoming = core->incoming;
  g_queue_init (&core->incoming);
  terminate = core->terminate_requested && !core->terminated;
  settings_changed = core->settings_changed;
  core->settings_changed = FALSE;
  core->current = core->settings;
  core->closed_seen = core->closed;
  cancelled = g_steal_pointer (&core->cancelled_jobs);
  core->cancelled_jobs = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_mutex_unlock (&core->mutex);

  while ((link = g_queue_pop_head_link (&incoming)))
    core_accept_job (core, link->data);

  /* A job may have ended since its cancellable fired. */
  for (guint i = 0; i < cancelled->len; i++)
    if ((job = g_hash_table_lookup (core->jobs_by_id, &g_array_index (cancelled, guint64, i))))
      job_fail (core, job, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                _("Operation was cancelled")));
  g_array_unref (cancelled);

  /* New time-outs apply to what runs now, too. */
  if (settings_changed)
    for (guint i = 0; i < core->processes->len; i++)
      core_arm_running_timer (core, g_ptr_array_index (core->processes, i));

  if (terminate)
    core_terminate_now (core);

  core_schedule (core);

  return G_SOURCE_CONTINUE;
}

typedef struct
{
  GSource source;
  Core *core;
} WakeupSource;

static gboolean
core_wakeup_prepare (GSource *source,
                     gint    *timeout)
{
  *timeout = -1;
  return g_atomic_int_get (&((WakeupSource *) source)->core->wake_pending);
}

static gboolean
core_wakeup_check (GSource *source)
{
  return g_atomic_int_get (&((WakeupSource *) source)->core->wake_pending);
}

/* Not g_source_set_ready_time(): it writes to the context's eventfd each
 * time, the pool thread's re-arming included. */
static GSourceFuncs wakeup_source_funcs = {
  core_wakeup_prepare, core_wakeup_check, core_wakeup_dispatch, NULL, NULL, NULL,
};

/* The pool thread's core, for core_poll(), which GLib calls without one. */
static GPrivate pool_thread_core;

/* Whether the pool has nothing to do but wait, as when callers wait for
 * each result before they submit the next task: nothing queued, and no
 * worker holds more than one task. */
static gboolean
core_is_latency_bound (Core *core)
{
  if (!g_queue_is_empty (&core->pending))
    return FALSE;

  for (guint i = 0; i < core->processes->len; i++)
    {
      PProcess *process = g_ptr_array_index (core->processes, i);

      if (process->in_flight.length > 1)
        return FALSE;
    }

  return TRUE;
}

/* The pool thread's poll function. While the pool is latency-bound and its
 * waits have been short, it polls for a moment before it sleeps, as the
 * workers do (p_poll_spinning() says why and when it stops): the reply,
 * or the caller's next task, then costs no wake-up. A pool with tasks
 * queued never spins, nor one fed now and then. */
static gint
core_poll (GPollFD *fds,
           guint    n_fds,
           gint     timeout_msec)
{
  Core *core = g_private_get (&pool_thread_core);

  return p_poll_spinning (&core->spinner, fds, n_fds, timeout_msec, core_is_latency_bound (core));
}

static gpointer
core_thread_main (gpointer user_data)
{
  Core *core = user_data;

  g_private_set (&pool_thread_core, core);
  g_main_context_set_poll_func (core->context, core_poll);
  g_main_context_push_thread_default (core->context);
  while (!core->thread_should_exit)
    g_main_context_iteration (core->context, TRUE);
  g_main_context_pop_thread_default (core->context);

  core_unref (core);

  return NULL;
}

typedef struct
{
  Core *core;
  GMutex mutex;
  GCond cond;
  gboolean done;
  GError *error;
} StartData;

/* Spawns the first workers on the pool's thread: a worker's death signal
 * is tied to the thread that spawned it, which must live as the pool does. */
static gboolean
core_start_in_thread (gpointer user_data)
{
  StartData *data = user_data;
  Core *core = data->core;
  GError *error = NULL;

  while (core->processes->len < core->n_processes && error == NULL)
    core_spawn_one (core, &error);

  if (error != NULL)
    {
      g_mutex_lock (&core->mutex);
      core->closed = core->closed_seen = TRUE;
      g_mutex_unlock (&core->mutex);
      core_terminate_now (core);
      core_check_finished (core);
    }

  g_mutex_lock (&data->mutex);
  data->error = error;
  data->done = TRUE;
  g_cond_signal (&data->cond);
  g_mutex_unlock (&data->mutex);

  return G_SOURCE_REMOVE;
}

static Core *
core_new (PPool              *pool,
          guint               n_processes,
          const char * const *worker_argv,
          gsize               max_message_size,
          const Settings     *settings)
{
  Core *core = g_new0 (Core, 1);

  g_atomic_ref_count_init (&core->ref_count);
  g_mutex_init (&core->mutex);
  g_cond_init (&core->cond);
  g_queue_init (&core->incoming);
  g_queue_init (&core->pending);
  g_queue_init (&core->jobs);
  g_weak_ref_init (&core->pool, pool);
  core->worker_argv = g_strdupv ((char **) worker_argv);
  core->n_processes = n_processes;
  core->max_message_size = max_message_size;
  core->settings = core->current = *settings;
  core->processes = g_ptr_array_new ();
  core->jobs_by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  core->cancelled_jobs = g_array_new (FALSE, FALSE, sizeof (guint64));
  core->emissions = g_array_new (FALSE, FALSE, sizeof (Emission));
  core->context = g_main_context_new ();
  core->signal_context = g_main_context_ref_thread_default ();

  core->wakeup = g_source_new (&wakeup_source_funcs, sizeof (WakeupSource));
  ((WakeupSource *) core->wakeup)->core = core;
  g_source_set_callback (core->wakeup, NULL, core, NULL);
  g_source_set_static_name (core->wakeup, "[processing-glib] pool wake-up");
  g_source_set_priority (core->wakeup, G_PRIORITY_DEFAULT);
  g_source_attach (core->wakeup, core->context);

  return core;
}

static gboolean
core_start (Core    *core,
            GError **error)
{
  StartData data = { core };
  GSource *source;

  core->thread = g_thread_new ("pool-worker-io", core_thread_main, core_ref (core));

  g_mutex_init (&data.mutex);
  g_cond_init (&data.cond);

  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, core_start_in_thread, &data, NULL);
  g_source_attach (source, core->context);
  g_source_unref (source);

  g_mutex_lock (&data.mutex);
  while (!data.done)
    g_cond_wait (&data.cond, &data.mutex);
  g_mutex_unlock (&data.mutex);

  g_mutex_clear (&data.mutex);
  g_cond_clear (&data.cond);

  if (data.error != NULL)
    {
      g_propagate_error (error, data.error);
      return FALSE;
    }

  return TRUE;
}

/* From any thread: hands @job to the pool thread, or fails it at once
 * when the pool takes no more work. */
static void
core_submit (Core *core,
             Job  *job)
{
  GError *error = NULL;

  g_mutex_lock (&core->mutex);
  if (core->closed)
    error = g_error_new_literal (P_POOL_ERROR, P_POOL_ERROR_CLOSED,
                                 _("The pool was shut down and takes no new work"));
  else if (core->start_error != NULL)
    error = g_error_copy (core->start_error);
  else
    g_queue_push_tail_link (&core->incoming, &job->link);
  g_mutex_unlock (&core->mutex);

  if (error == NULL)
    {
      core_wake (core);
      return;
    }

  /* Not seen by the pool thread: no chunk is queued anywhere. */
  for (guint i = 0; i < job->n_chunks; i++)
    chunk_free (job->chunks[i]);
  job->n_chunks = 0;
  job_return_error (job, error);
  job_free (core, job);
}

static void
core_close (Core     *core,
            gboolean  terminate)
{
  g_mutex_lock (&core->mutex);
  core->closed = TRUE;
  core->terminate_requested |= terminate;
  g_mutex_unlock (&core->mutex);

  core_wake (core);
}

static void
core_wait_finished (Core *core)
{
  g_mutex_lock (&core->mutex);
  while (!core->finished)
    g_cond_wait (&core->cond, &core->mutex);
  g_mutex_unlock (&core->mutex);
}

/* }}} */
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
  g_propagate_error (error, unknown_function_error (valid));
  return FALSE;
}

static Job *
build_apply_job (PPool         *self,
                 const char    *function,
                 GVariant      *args,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autoptr(GVariant) owned_args = NULL;
  PFrame *frame;
  Job *job;
  guint64 id;

  owned_args = args ? g_variant_ref_sink (args) : g_variant_ref_sink (g_variant_new_tuple (NULL, 0));
  if (!check_function_name (function, error))
    return NULL;
  id = core_next_id (self->core);
  frame = p_message_encode_task (id, function, owned_args, self->core->max_message_size, error);
  if (frame == NULL)
    return NULL;

  job = job_new (self->core, JOB_APPLY, function, cancellable);
  job->n_items = 1;
  job_add_chunk (job, id, 0, 1, frame)->is_task = TRUE;

  return job;
}

static guint
default_map_chunksize (PPool *self,
                       gsize  n_items)
{
  gsize per_round = 4 * (gsize) self->processes;

  return MAX (1, (n_items + per_round - 1) / per_round);
}

static Job *
build_map_job (PPool         *self,
               JobKind        kind,
               const char    *function,
               GVariant      *items,
               guint          chunksize,
               GCancellable  *cancellable,
               GError       **error)
{
  g_autoptr(GVariant) owned_items = g_variant_ref_sink (items);
  Job *job;
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
                   _("Too many items: %" G_GSIZE_FORMAT), n_items);
      return NULL;
    }

  if (chunksize == 0)
    chunksize = kind == JOB_MAP ? default_map_chunksize (self, n_items) : 1;

  job = job_new (self->core, kind, function, cancellable);
  job->n_items = n_items;

  for (gsize first = 0; first < n_items; first += chunksize)
    {
      gsize n = MIN (chunksize, n_items - first);
      guint64 id = core_next_id (self->core);
      PFrame *frame;

      /* A chunk of one item travels as a task: its reply is lighter. */
      if (n == 1)
        frame = p_message_encode_task_item (id, function, owned_items, first,
                                            self->core->max_message_size, error);
      else
        frame = p_message_encode_chunk_items (id, function, owned_items, first, n, kind == JOB_MAP,
                                              self->core->max_message_size, error);
      if (frame == NULL)
        {
          for (guint i = 0; i < job->n_chunks; i++)
            chunk_free (job->chunks[i]);
          job->n_chunks = 0;
          job_free (self->core, job);
          return NULL;
        }

      job_add_chunk (job, id, first, n, frame)->is_task = n == 1;
    }

  if (kind == JOB_MAP)
    job->chunk_values = g_new0 (GVariant *, MAX (job->n_chunks, 1));

  return job;
}

/* Either a job for the pool thread, or the error completes @result now. */
static PResult *
submit_result (PPool            *self,
               Job              *job,
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

  job_set_sink (job, p_result_get_link (result), result, ready_func != NULL);
  core_submit (self->core, job);

  return result;
}

/* }}} */
/* {{{ GObject */

static gboolean
p_pool_initable_init (GInitable     *initable,
                      GCancellable  *cancellable,
                      GError       **error);

static char **
argv_of_current_program (GError **error)
{
  g_autofree char *cmdline = NULL;
  g_autofree char *exe = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  gsize length;

  exe = g_file_read_link ("/proc/self/exe", &local_error);
  if (exe == NULL ||
      !g_file_get_contents ("/proc/self/cmdline", &cmdline, &length, &local_error))
    {
      g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START,
                   _("Could not find the command line of the current program: %s"),
                   local_error->message);
      return NULL;
    }

  /* The program file itself, whatever argv[0] says... */
  g_ptr_array_add (argv, g_steal_pointer (&exe));
  /* ...with the arguments it was given. */
  for (gsize offset = strlen (cmdline) + 1; offset < length; offset += strlen (cmdline + offset) + 1)
    g_ptr_array_add (argv, g_strdup (cmdline + offset));
  g_ptr_array_add (argv, NULL);

  return (char **) g_ptr_array_free (g_steal_pointer (&argv), FALSE);
}

static void
p_pool_dispose (GObject *object)
{
  PPool *self = P_POOL (object);
  Core *core = g_steal_pointer (&self->core);

  if (core != NULL)
    {
      /* No pool to emit them on. */
      core_drop_emissions (core);
      core_close (core, TRUE);

      /* From the pool's own thread (the last reference was dropped by a
       * completion), the thread winds down by itself. */
      if (!core_is_current_thread (core))
        {
          core_wait_finished (core);
          g_thread_join (g_steal_pointer (&core->thread));
        }

      core_unref (core);
    }

  G_OBJECT_CLASS (p_pool_parent_class)->dispose (object);
}

static void
p_pool_finalize (GObject *object)
{
  PPool *self = P_POOL (object);

  g_clear_pointer (&self->worker_argv, g_strfreev);

  G_OBJECT_CLASS (p_pool_parent_class)->finalize (object);
}

static Settings
p_pool_get_settings (PPool *self)
{
  Settings settings;

  if (self->core == NULL)
    return self->settings;

  g_mutex_lock (&self->core->mutex);
  settings = self->core->settings;
  g_mutex_unlock (&self->core->mutex);

  return settings;
}

/* Settings apply at once, to running tasks' clocks too. */
static void
p_pool_set_settings (PPool          *self,
                     const Settings *settings,
                     GParamSpec     *pspec)
{
  Settings old = p_pool_get_settings (self);

  if (old.max_tasks_per_worker == settings->max_tasks_per_worker &&
      old.task_timeout == settings->task_timeout &&
      old.cancel_grace_period == settings->cancel_grace_period)
    return;

  if (self->core == NULL)
    self->settings = *settings;
  else
    {
      g_mutex_lock (&self->core->mutex);
      self->core->settings = *settings;
      self->core->settings_changed = TRUE;
      g_mutex_unlock (&self->core->mutex);
      core_wake (self->core);
    }

  g_object_notify_by_pspec (G_OBJECT (self), pspec);
}

static void
p_pool_get_property (GObject    *object,
                     guint       prop_id,
                     GValue     *value,
                     GParamSpec *pspec)
{
  PPool *self = P_POOL (object);

  switch (prop_id)
    {
    case PROP_PROCESSES:
      g_value_set_uint (value, self->processes);
      break;

    case PROP_WORKER_ARGV:
      g_value_set_boxed (value, self->worker_argv);
      break;

    case PROP_MAX_TASKS_PER_WORKER:
      g_value_set_uint (value, p_pool_get_settings (self).max_tasks_per_worker);
      break;

    case PROP_TASK_TIMEOUT:
      g_value_set_int64 (value, p_pool_get_settings (self).task_timeout);
      break;

    case PROP_CANCEL_GRACE_PERIOD:
      g_value_set_int64 (value, p_pool_get_settings (self).cancel_grace_period);
      break;

    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint64 (value, self->max_message_size);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
p_pool_set_property (GObject      *object,
                     guint         prop_id,
                     const GValue *value,
                     GParamSpec   *pspec)
{
  PPool *self = P_POOL (object);

  switch (prop_id)
    {
    case PROP_PROCESSES:
      self->processes = g_value_get_uint (value);
      if (self->processes == 0)
        self->processes = g_get_num_processors ();
      break;

    case PROP_WORKER_ARGV:
      g_clear_pointer (&self->worker_argv, g_strfreev);
      self->worker_argv = g_value_dup_boxed (value);
      break;

    case PROP_MAX_TASKS_PER_WORKER:
      {
        Settings settings = p_pool_get_settings (self);

        settings.max_tasks_per_worker = g_value_get_uint (value);
        p_pool_set_settings (self, &settings, pspec);
      }
      break;

    case PROP_TASK_TIMEOUT:
      {
        Settings settings = p_pool_get_settings (self);

        settings.task_timeout = g_value_get_int64 (value);
        p_pool_set_settings (self, &settings, pspec);
      }
      break;

    case PROP_CANCEL_GRACE_PERIOD:
      {
        Settings settings = p_pool_get_settings (self);

        settings.cancel_grace_period = g_value_get_int64 (value);
        p_pool_set_settings (self, &settings, pspec);
      }
      break;

    case PROP_MAX_MESSAGE_SIZE:
      self->max_message_size = g_value_get_uint64 (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
p_pool_class_init (PPoolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = p_pool_dispose;
  object_class->finalize = p_pool_finalize;
  object_class->get_property = p_pool_get_property;
  object_class->set_property = p_pool_set_property;

  /**
   * PPool:processes:
   *
   * The number of worker processes, at most 1024. 0 when constructing
   * means the number of processors (g_get_num_processors()); reading it
   * gives the number actually used.
   *
   * Since: 0.1
   */
  properties[PROP_PROCESSES] =
    g_param_spec_uint ("processes", NULL, NULL,
                       0, MAX_PROCESSES, 0,
                       (G_PARAM_READWRITE |
                        G_PARAM_CONSTRUCT_ONLY |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * PPool:worker-argv:
   *
   * The command that starts a worker, which serves its functions with
   * #PWorker. %NULL starts the current program again, with the arguments
   * it was given; it must call p_worker_is_requested() early in main().
   *
   * Since: 0.1
   */
  properties[PROP_WORKER_ARGV] =
    g_param_spec_boxed ("worker-argv", NULL, NULL,
                        G_TYPE_STRV,
                        (G_PARAM_READWRITE |
                         G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS));

  /**
   * PPool:max-tasks-per-worker:
   *
   * How many tasks a worker runs before it is retired and replaced, as
   * `maxtasksperchild` in multiprocessing; a map chunk counts as one
   * task. 0 means no limit. A retiring worker finishes what it was sent,
   * then exits; its replacement starts at once.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_TASKS_PER_WORKER] =
    g_param_spec_uint ("max-tasks-per-worker", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * PPool:task-timeout:
   *
   * How long a task may run, in microseconds; 0 means for as long as it
   * takes. The clock starts when the task starts in its worker, not when
   * it is submitted; a map chunk may run this long per item. A task that
   * runs longer fails with %G_IO_ERROR_TIMED_OUT; its worker is killed and
   * replaced.
   *
   * Since: 0.1
   */
  properties[PROP_TASK_TIMEOUT] =
    g_param_spec_int64 ("task-timeout", NULL, NULL,
                        0, G_MAXINT64 / 1024, 0,
                        (G_PARAM_READWRITE |
                         G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS));

  /**
   * PPool:cancel-grace-period:
   *
   * How long a running task whose #GCancellable was cancelled may take to
   * return, in microseconds, before its worker is killed and replaced. The
   * caller gets %G_IO_ERROR_CANCELLED at once either way.
   *
   * Since: 0.1
   */
  properties[PROP_CANCEL_GRACE_PERIOD] =
    g_param_spec_int64 ("cancel-grace-period", NULL, NULL,
                        0, G_MAXINT64 / 1024, DEFAULT_CANCEL_GRACE_PERIOD,
                        (G_PARAM_READWRITE |
                         G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS));

  /**
   * PPool:max-message-size:
   *
   * The largest message, in bytes, that the pool and its workers send and
   * accept: a task's arguments, a result, or a map chunk, serialized, plus
   * a few bytes. A task whose arguments or result are larger fails with
   * %G_IO_ERROR_MESSAGE_TOO_LARGE. A message announced larger than this
   * is a protocol error: nothing that large is ever allocated for it.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_MESSAGE_SIZE] =
    g_param_spec_uint64 ("max-message-size", NULL, NULL,
                         P_MIN_MAX_MESSAGE_SIZE, P_MAX_MAX_MESSAGE_SIZE, P_DEFAULT_MAX_MESSAGE_SIZE,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PPool::worker-started:
   * @self: the pool
   * @pid: the worker's process id
   *
   * A worker process was started. Emitted in the thread-default main
   * context of the thread that created the pool, when it next runs: a
   * handler connected before then sees the starts that came before it
   * too. Up to 1024 starts and exits wait for that context; none is
   * emitted once the pool is disposed.
   *
   * Since: 0.1
   */
  signals[WORKER_STARTED] =
    g_signal_new ("worker-started",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_UINT);

  /**
   * PPool::worker-exited:
   * @self: the pool
   * @pid: the worker's process id
   * @wait_status: its wait status, as for g_spawn_check_wait_status()
   *
   * A worker process exited and was reaped. Emitted in the thread-default
   * main context of the thread that created the pool, when it next runs,
   * as #PPool::worker-started is.
   *
   * Since: 0.1
   */
  signals[WORKER_EXITED] =
    g_signal_new ("worker-exited",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_INT);

  p_i18n_init ();
}

static void
p_pool_init (PPool *self)
{
  self->processes = g_get_num_processors ();
  self->max_message_size = P_DEFAULT_MAX_MESSAGE_SIZE;
  self->settings.cancel_grace_period = DEFAULT_CANCEL_GRACE_PERIOD;
}

static gboolean
p_pool_initable_init (GInitable     *initable,
                      GCancellable  *cancellable,
                      GError       **error)
{
  PPool *self = P_POOL (initable);
  g_auto(GStrv) argv = NULL;
  g_autoptr(Core) core = NULL;

  g_return_val_if_fail (self->core == NULL, FALSE);

  if (self->worker_argv != NULL && self->worker_argv[0] == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("The worker command is empty"));
      return FALSE;
    }

  if (self->worker_argv != NULL)
    argv = g_strdupv (self->worker_argv);
  else if ((argv = argv_of_current_program (error)) == NULL)
    return FALSE;

  core = core_new (self, self->processes, (const char * const *) argv,
                   self->max_message_size, &self->settings);
  if (!core_start (core, error))
    {
      core_wait_finished (core);
      g_thread_join (g_steal_pointer (&core->thread));
      return FALSE;
    }

  self->core = g_steal_pointer (&core);

  return TRUE;
}

static void
p_pool_initable_iface_init (GInitableIface *iface)
{
  iface->init = p_pool_initable_init;
}

/* }}} */
/* {{{ Public API */

/**
 * p_pool_new:
 * @processes: the number of workers (at most 1024), or 0 for the number of
 *   processors
 * @worker_argv: (array zero-terminated=1) (nullable): the command that
 *   starts a worker, or %NULL to start the current program again
 * @error: return location for a #GError
 *
 * Creates a pool and starts its workers.
 *
 * With @worker_argv %NULL, the current program is started again with the
 * arguments it was given (`/proc/self/exe`), as multiprocessing's *spawn*
 * does; it must call p_worker_is_requested() early in main() and, if that
 * returns %TRUE, serve its functions with p_worker_run() and exit. This
 * works for C programs as for `python3 script.py` and `gjs script.js`.
 *
 * Fails with %P_POOL_ERROR_WORKER_START, naming the command and the reason,
 * when a worker cannot be started; that is known without waiting for the
 * worker. A worker that starts but exits at once makes the pool's tasks
 * fail instead (see %P_POOL_ERROR_WORKER_START).
 *
 * Returns: (transfer full): a new #PPool, or %NULL with @error set
 *
 * Since: 0.1
 */
PPool *
p_pool_new (guint                processes,
            const char * const  *worker_argv,
            GError             **error)
{
  g_return_val_if_fail (processes <= MAX_PROCESSES, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (P_TYPE_POOL, NULL, error,
                         "processes", processes,
                         "worker-argv", worker_argv,
                         NULL);
}

static char *
stock_worker_path (void)
{
  const char *path = g_getenv ("PROCESSING_GLIB_WORKER");

  if (path != NULL && path[0] != '\0')
    return g_strdup (path);

  return g_build_filename (PACKAGE_LIBEXECDIR, "processing-glib-worker", NULL);
}

/**
 * p_pool_new_for_modules:
 * @processes: the number of workers (at most 1024), or 0 for the number of
 *   processors
 * @modules: (array zero-terminated=1): paths of task modules
 * @error: return location for a #GError
 *
 * Creates a pool whose workers are the stock worker,
 * `processing-glib-worker`, loading @modules with #GModule.
 *
 * A task module is a shared object that exports
 * `void p_module_register (PWorker *worker)`, which adds its functions with
 * p_worker_add_function(). The environment variable
 * `PROCESSING_GLIB_WORKER` overrides the path of the stock worker.
 *
 * Returns: (transfer full): a new #PPool, or %NULL with @error set
 *
 * Since: 0.1
 */
PPool *
p_pool_new_for_modules (guint                processes,
                        const char * const  *modules,
                        GError             **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (processes <= MAX_PROCESSES, NULL);
  g_return_val_if_fail (modules != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_ptr_array_add (argv, stock_worker_path ());
  for (guint i = 0; modules[i] != NULL; i++)
    {
      g_autoptr(GFile) file = g_file_new_for_path (modules[i]);

      g_ptr_array_add (argv, g_strdup ("--module"));
      /* The worker may run from another directory. */
      g_ptr_array_add (argv, g_file_get_path (file));
    }
  g_ptr_array_add (argv, NULL);

  return p_pool_new (processes, (const char * const *) argv->pdata, error);
}

/**
 * p_pool_get_processes:
 * @self: a #PPool
 *
 * Returns the number of worker processes the pool keeps.
 *
 * Returns: the number of workers
 *
 * Since: 0.1
 */
guint
p_pool_get_processes (PPool *self)
{
  g_return_val_if_fail (P_IS_POOL (self), 0);

  return self->processes;
}

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
  Job *job;

  g_return_val_if_fail (P_IS_POOL (self), NULL);
  g_return_val_if_fail (self->core != NULL, NULL);
  g_return_val_if_fail (function != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  job = build_apply_job (self, function, args, cancellable, &error);

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
  g_return_val_if_fail (self->core != NULL, NULL);
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
  Job *job;

  g_return_if_fail (P_IS_POOL (self));
  g_return_if_fail (self->core != NULL);
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
  Job *job;

  g_return_val_if_fail (P_IS_POOL (self), NULL);
  g_return_val_if_fail (self->core != NULL, NULL);
  g_return_val_if_fail (function != NULL, NULL);
  g_return_val_if_fail (items != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  job = build_map_job (self, JOB_MAP, function, items, chunksize, cancellable, &error);

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
  Job *job;

  g_return_if_fail (P_IS_POOL (self));
  g_return_if_fail (self->core != NULL);
  g_return_if_fail (function != NULL);
  g_return_if_fail (items != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, p_pool_map_async);

  job = build_map_job (self, JOB_MAP, function, items, chunksize, cancellable, &error);
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
  Job *job;

  job = build_map_job (self, JOB_IMAP, function, items, chunksize, cancellable, &error);
  if (job == NULL)
    {
      iter = p_map_iter_new (G_OBJECT (self), ordered, 1);
      p_map_iter_fail (iter, error);
      return iter;
    }

  iter = p_map_iter_new (G_OBJECT (self), ordered, job->n_items);
  job_set_sink (job, p_map_iter_get_link (iter), iter, FALSE);
  core_submit (self->core, job);

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
  g_return_val_if_fail (self->core != NULL, NULL);
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
  g_return_val_if_fail (self->core != NULL, NULL);
  g_return_val_if_fail (function != NULL, NULL);
  g_return_val_if_fail (items != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  return submit_imap (self, FALSE, function, items, chunksize, cancellable);
}

/**
 * p_pool_shutdown:
 * @self: a #PPool
 *
 * Stops the pool taking new work: from now on, submitting fails with
 * %P_POOL_ERROR_CLOSED. What was submitted before still runs; then the
 * workers exit. This is `close()` in `multiprocessing`. Use p_pool_join()
 * to wait for the workers.
 *
 * Since: 0.1
 */
void
p_pool_shutdown (PPool *self)
{
  g_return_if_fail (P_IS_POOL (self));
  g_return_if_fail (self->core != NULL);

  core_close (self->core, FALSE);
}

/**
 * p_pool_terminate:
 * @self: a #PPool
 *
 * Stops the pool now: every unfinished task fails with
 * %G_IO_ERROR_CANCELLED, and the workers are killed. New work fails with
 * %P_POOL_ERROR_CLOSED. Use p_pool_join() to wait until they are reaped.
 *
 * Since: 0.1
 */
void
p_pool_terminate (PPool *self)
{
  g_return_if_fail (P_IS_POOL (self));
  g_return_if_fail (self->core != NULL);

  core_close (self->core, TRUE);
}

/**
 * p_pool_join:
 * @self: a #PPool
 * @error: return location for a #GError
 *
 * Waits until every worker has exited and been reaped, after
 * p_pool_shutdown() (once the queued work is done) or p_pool_terminate().
 * Fails with %P_POOL_ERROR_FAILED if neither was called.
 *
 * Returns: %TRUE once the workers are gone
 *
 * Since: 0.1
 */
gboolean
p_pool_join (PPool   *self,
             GError **error)
{
  gboolean closed;

  g_return_val_if_fail (P_IS_POOL (self), FALSE);
  g_return_val_if_fail (self->core != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->core->mutex);
  closed = self->core->closed;
  g_mutex_unlock (&self->core->mutex);

  if (!closed)
    {
      g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_FAILED,
                           _("The pool is still running: shut it down or terminate it before joining it"));
      return FALSE;
    }

  core_wait_finished (self->core);

  return TRUE;
}

/* }}} */
