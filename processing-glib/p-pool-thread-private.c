/* p-pool-thread-private.c: the pool's thread: its main context, its
 * wake-up, what callers hand it, and its end
 *
 * As GDBus does, the pool does all worker I/O, spawning, timers and
 * reaping on one thread of its own, with a private GMainContext. Callers
 * hand it jobs under the core's mutex and wake it; it takes them, with the
 * cancels and settings that came meanwhile, at its next wake-up.
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "p-pool-private.h"
#include "p-pool-sandbox-private.h"
#include "p-error.h"
#include "p-error-private.h"
#include "p-glib-workarounds-private.h"
#include "p-i18n-private.h"
#include "p-job-private.h"
#include "p-launch-private.h"
#include "p-scheduler-private.h"

/* {{{ Lifetime */

PCore *
p_core_new (PPool              *pool,
            guint               n_processes,
            const char * const *worker_argv,
            const char * const *worker_env,
            gsize               max_message_size,
            const PSettings    *settings)
{
  PCore *core = g_new0 (PCore, 1);

  g_atomic_ref_count_init (&core->ref_count);
  g_mutex_init (&core->mutex);
  g_cond_init (&core->cond);
  g_queue_init (&core->incoming);
  g_queue_init (&core->pending);
  g_queue_init (&core->jobs);
  g_weak_ref_init (&core->pool, pool);
  core->worker_argv = g_strdupv ((char **) worker_argv);
  core->worker_env = g_strdupv ((char **) worker_env);
  core->n_processes = n_processes;
  core->n_processors = MAX (g_get_num_processors (), 1);
  core->load_measurable = TRUE;
  core->active_cap = MIN (core->n_processors, n_processes);
  g_queue_init (&core->held);
  core->max_message_size = max_message_size;
  core->settings = core->current = *settings;
  core->workers = g_ptr_array_new ();
  core->jobs_by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  core->cancelled_jobs = g_array_new (FALSE, FALSE, sizeof (guint64));
  core->context = g_main_context_new ();
  core->signal_context = g_main_context_ref_thread_default ();

  return core;
}

PCore *
p_core_ref (PCore *core)
{
  g_atomic_ref_count_inc (&core->ref_count);
  return core;
}

void
p_core_unref (PCore *core)
{
  if (!g_atomic_ref_count_dec (&core->ref_count))
    return;

  g_assert (g_queue_is_empty (&core->incoming));
  g_assert (g_queue_is_empty (&core->jobs));
  g_assert (core->workers->len == 0);

  p_clear_source (&core->wakeup);
  p_clear_source (&core->respawn_timer);
  p_clear_source (&core->recall_timer);
  p_clear_source (&core->load_timer);
  p_clear_source (&core->idle_timer);
  g_clear_pointer (&core->thread, g_thread_unref);
  g_clear_pointer (&core->context, g_main_context_unref);
  g_clear_pointer (&core->signal_context, g_main_context_unref);
  g_clear_pointer (&core->workers, g_ptr_array_unref);
  g_clear_pointer (&core->jobs_by_id, g_hash_table_unref);
  g_clear_pointer (&core->cancelled_jobs, g_array_unref);
  g_clear_pointer (&core->emissions, g_array_unref);
  g_clear_pointer (&core->functions, g_hash_table_unref);
  g_clear_pointer (&core->worker_argv, g_strfreev);
  g_clear_pointer (&core->worker_env, g_strfreev);
  g_clear_pointer (&core->launch, p_launch_free);
  g_clear_error (&core->start_error);
  g_clear_pointer (&core->sandbox, p_core_sandbox_free);
  g_weak_ref_clear (&core->pool);
  g_mutex_clear (&core->mutex);
  g_cond_clear (&core->cond);
  g_free (core);
}

gboolean
p_core_is_current_thread (PCore *core)
{
  return g_main_context_is_owner (core->context);
}

/* From any thread. */
guint64
p_core_next_id (PCore *core)
{
  return (guint64) g_atomic_pointer_add (&core->next_id, 1) + 1;
}

/* }}} */
/* {{{ What callers hand the thread */

/* From any thread. One wake-up per batch: only the first caller after the
 * pool thread looked writes to the context's eventfd. */
void
p_core_wake (PCore *core)
{
  p_wakeup_source_wake (core->context, &core->wake_pending);
}

/* From any thread: hands @job to the pool thread, or fails it at once
 * when the pool takes no more work. */
void
p_core_submit (PCore *core,
               PJob  *job)
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
    p_core_wake (core);
  else
    p_job_discard (core, job, error);
}

/* From any thread: no new work; with @terminate, none of the old either. */
void
p_core_close (PCore    *core,
              gboolean  terminate)
{
  g_mutex_lock (&core->mutex);
  core->closed = TRUE;
  core->terminate_requested |= terminate;
  g_mutex_unlock (&core->mutex);

  p_core_wake (core);
}

/* Takes what callers handed over since the last wake-up. */
static gboolean
on_wakeup (gpointer user_data)
{
  PCore *core = user_data;
  GQueue incoming = G_QUEUE_INIT;
  g_autoptr(GArray) cancelled = NULL;
  gboolean settings_changed;
  gboolean terminate;
  GList *link;

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
    p_job_accept (core, link->data);

  p_jobs_fail_cancelled (core, cancelled);

  if (settings_changed)
    p_scheduler_settings_changed (core);

  if (terminate)
    p_core_terminate_now (core);

  p_scheduler_run (core);

  return G_SOURCE_CONTINUE;
}

/* }}} */
/* {{{ The thread */

/* The pool thread's core, for poll_spinning(), which GLib calls without one. */
static GPrivate pool_thread_core;

/* The pool thread's poll function. While the pool is latency-bound and its
 * waits have been short, it polls for a moment before it sleeps, as the
 * workers do (p_poll_spinning() says why and when it stops): the reply,
 * or the caller's next task, then costs no wake-up. A pool with tasks
 * queued never spins, nor one fed now and then. */
static gint
poll_spinning (GPollFD *fds,
               guint    n_fds,
               gint     timeout_msec)
{
  PCore *core = g_private_get (&pool_thread_core);

  /* Workers on other hosts answer far later than a spin lasts, and the
   * clients that carry their links need the processor more. */
  return p_poll_spinning (&core->spinner, fds, n_fds, timeout_msec,
                          core->launch == NULL && p_scheduler_is_latency_bound (core));
}

static gpointer
thread_main (gpointer user_data)
{
  PCore *core = user_data;

  g_private_set (&pool_thread_core, core);
  g_main_context_set_poll_func (core->context, poll_spinning);
  g_main_context_push_thread_default (core->context);
  while (!core->thread_should_exit)
    g_main_context_iteration (core->context, TRUE);
  /* What callers handed over before the end was seen (p_core_run_sync()). */
  while (g_main_context_iteration (core->context, FALSE))
    ;
  g_main_context_pop_thread_default (core->context);

  p_core_unref (core);

  return NULL;
}

typedef struct
{
  PCore *core;
  GMutex mutex;
  GCond cond;
  gboolean done;
  GError *error;
} StartData;

/* Spawns the first workers on the pool's thread: a worker's death signal
 * is tied to the thread that spawned it, which must live as the pool does. */
static gboolean
start_in_thread (gpointer user_data)
{
  StartData *data = user_data;
  PCore *core = data->core;
  GError *error = NULL;

  /* Through ssh, the hosts' connections first, which the workers share. */
  if (core->launch != NULL)
    p_launch_connect (core->launch, core, &error);

  /* One worker now, so that a command that cannot run fails here; the
   * others as they are wanted. */
  if (error == NULL && p_spawner_spawn_one (core, &error))
    p_spawner_maybe_respawn (core);

  if (error != NULL)
    {
      g_mutex_lock (&core->mutex);
      core->closed = core->closed_seen = TRUE;
      g_mutex_unlock (&core->mutex);
      p_core_terminate_now (core);
      p_core_check_finished (core);
    }

  g_mutex_lock (&data->mutex);
  data->error = error;
  data->done = TRUE;
  g_cond_signal (&data->cond);
  g_mutex_unlock (&data->mutex);

  return G_SOURCE_REMOVE;
}

/* Starts the thread and, in it, the workers; fails if one cannot be
 * started (the thread then winds down: see p_core_wait_finished()). */
gboolean
p_core_start (PCore   *core,
              GError **error)
{
  StartData data = { core };
  GSource *source;

  core->wakeup = p_wakeup_source_new ("[processing-glib] pool wake-up", &core->wake_pending);
  g_source_set_callback (core->wakeup, on_wakeup, core, NULL);
  g_source_set_priority (core->wakeup, G_PRIORITY_DEFAULT);
  g_source_attach (core->wakeup, core->context);

  core->thread = g_thread_new ("pool-worker-io", thread_main, p_core_ref (core));

  g_mutex_init (&data.mutex);
  g_cond_init (&data.cond);

  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, start_in_thread, &data, NULL);
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

/* }}} */
/* {{{ The end */

/* On the pool thread: every job fails, every worker is killed. */
void
p_core_terminate_now (PCore *core)
{
  core->terminated = TRUE;

  p_clear_source (&core->respawn_timer);
  p_scheduler_stop (core);
  p_jobs_fail_all (core);

  for (guint i = 0; i < core->workers->len; i++)
    {
      PWorkerSlot *slot = g_ptr_array_index (core->workers, i);

      p_process_kill (slot->process, p_error_new_terminated ());
    }
}

/* On the pool thread: once closed with nothing left, the thread ends and
 * whoever waits for that is told. */
void
p_core_check_finished (PCore *core)
{
  gboolean finished;

  if (core->workers->len > 0 || !g_queue_is_empty (&core->jobs))
    return;

  g_mutex_lock (&core->mutex);
  finished = core->closed && g_queue_is_empty (&core->incoming);
  g_mutex_unlock (&core->mutex);

  /* The connections the workers shared end last. */
  if (finished && core->launch != NULL && !p_launch_stop (core->launch))
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

typedef struct
{
  PCore *core;
  GSourceFunc func;
  gpointer data;
  GMutex mutex;
  GCond cond;
  gboolean done;
} SyncCall;

static gboolean
run_sync_call (gpointer user_data)
{
  SyncCall *call = user_data;

  call->func (call->data);

  g_mutex_lock (&call->mutex);
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->mutex);

  return G_SOURCE_REMOVE;
}

/* From any thread: calls @func (@data) on the pool's thread and waits for
 * it; in the calling thread once the pool's thread has finished (then
 * nothing changes any more). */
void
p_core_run_sync (PCore       *core,
                 GSourceFunc  func,
                 gpointer     data)
{
  SyncCall call = { core, func, data };
  gboolean finished;

  if (p_core_is_current_thread (core))
    {
      func (data);
      return;
    }

  g_mutex_init (&call.mutex);
  g_cond_init (&call.cond);

  /* Handed over before the end is seen, it is run by the thread's last
   * look at its context. */
  g_mutex_lock (&core->mutex);
  finished = core->finished;
  if (!finished)
    g_main_context_invoke (core->context, run_sync_call, &call);
  g_mutex_unlock (&core->mutex);

  if (finished)
    func (data);
  else
    {
      g_mutex_lock (&call.mutex);
      while (!call.done)
        g_cond_wait (&call.cond, &call.mutex);
      g_mutex_unlock (&call.mutex);
    }

  g_mutex_clear (&call.mutex);
  g_cond_clear (&call.cond);
}

/* From any thread but the pool's. */
void
p_core_wait_finished (PCore *core)
{
  g_mutex_lock (&core->mutex);
  while (!core->finished)
    g_cond_wait (&core->cond, &core->mutex);
  g_mutex_unlock (&core->mutex);
}

/* }}} */
