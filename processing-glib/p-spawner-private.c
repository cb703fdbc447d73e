/* p-spawner-private.c: starting workers, replacing them, and what happens
 * when one announces itself or exits
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "p-pool-private.h"
#include "p-error.h"
#include "p-i18n-private.h"
#include "p-job-private.h"
#include "p-pool-sandbox-private.h"
#include "p-launch-private.h"
#include "p-scheduler-private.h"
#include "p-sink-private.h"

/* Consecutive workers that fail to start before tasks fail. */
#define MAX_START_FAILURES 5
#define STARTUP_TIMEOUT_SEC 30
#define RESPAWN_BACKOFF_MIN_MSEC 50
#define RESPAWN_BACKOFF_MAX_MSEC 2000

static void on_message   (PProcess *process, const PMessage *message, gpointer user_data);
static void on_exited    (PProcess *process, gpointer user_data);
static void on_read_done (PProcess *process, gpointer user_data);

static const PProcessCallbacks process_callbacks = {
  on_message,
  on_exited,
  on_read_done,
};

/* {{{ Starting workers */

/* Whether a worker takes tasks. */
static gboolean
one_is_ready (PCore *core)
{
  for (guint i = 0; i < core->workers->len; i++)
    if (((PWorkerSlot *) g_ptr_array_index (core->workers, i))->process->state == P_PROCESS_READY)
      return TRUE;

  return FALSE;
}

static void
start_failed (PCore  *core,
              GError *cause)
{
  core->start_failures++;

  g_debug ("Worker start failure %u: %s", core->start_failures, cause->message);
  p_core_sandbox_start_failed (core, cause);

  /* Tasks fail only while no worker takes them: a ready worker runs the
   * work meanwhile (on another host, or one that started before a killer
   * or a full machine got the others), and the rest are only tried again,
   * less and less often. Refusing work then would last for ever, as the
   * refused work would never bring a worker that clears the error. */
  if (core->start_failures >= MAX_START_FAILURES && !one_is_ready (core))
    {
      g_mutex_lock (&core->mutex);
      g_clear_error (&core->start_error);
      core->start_error = g_error_copy (cause);
      g_mutex_unlock (&core->mutex);

      p_jobs_fail_waiting (core, cause);
    }

  g_error_free (cause);
}

gboolean
p_spawner_spawn_one (PCore   *core,
                     GError **error)
{
  PWorkerSlot *slot = p_worker_slot_new (core);

  if (core->launch != NULL)
    slot->process = p_launch_spawn (core->launch, core, STARTUP_TIMEOUT_SEC,
                                    &process_callbacks, slot, error);
  else
    slot->process = p_process_spawn ((const char * const *) core->worker_argv,
                                     (const char * const *) core->worker_env,
                                     core->max_message_size, STARTUP_TIMEOUT_SEC,
                                     &process_callbacks, slot, error);
  if (slot->process == NULL)
    {
      p_worker_slot_free (slot);
      return FALSE;
    }

  g_ptr_array_add (core->workers, slot);
  p_core_emit (core, P_WORKER_SIGNAL_STARTED, slot->process->pid, 0);

  return TRUE;
}

/* Workers that take tasks (live), or will once they announce themselves
 * (starting); retiring ones are already being replaced. */
static guint
count_live (PCore *core,
            guint *n_starting)
{
  guint live = 0;

  *n_starting = 0;
  for (guint i = 0; i < core->workers->len; i++)
    {
      PWorkerSlot *slot = g_ptr_array_index (core->workers, i);

      live += slot->process->state == P_PROCESS_STARTING || slot->process->state == P_PROCESS_READY;
      *n_starting += slot->process->state == P_PROCESS_STARTING;
    }

  return live;
}

/* How many workers the pool wants: #PPool:min-processes; while tasks
 * wait for a worker, as many as the scheduler keeps busy; one at least
 * after failed starts; never more than #PPool:processes. */
static guint
wanted_workers (PCore *core)
{
  guint wanted = core->current.min_processes;

  if (!g_queue_is_empty (&core->pending))
    wanted = MAX (wanted, core->active_cap);

  /* After failed starts, one goes on trying: work that comes when one
   * is ready runs. A sandboxed pool's construction waits for one. */
  if (core->start_failures > 0 || p_core_sandbox_awaits_verdict (core))
    wanted = MAX (wanted, 1);

  return MIN (wanted, core->n_processes);
}

/* Starts what is wanted, as many at once as the machine starts together
 * (those on other hosts all at once):
 * the first to be ready takes the first tasks, rather than all of them
 * sharing the processors to start. */
static void
spawn_missing (PCore *core)
{
  guint n_starting;

  while (count_live (core, &n_starting) < wanted_workers (core) &&
         (core->launch != NULL || n_starting < 2 * core->n_processors))
    {
      GError *error = NULL;

      if (!p_spawner_spawn_one (core, &error))
        {
          start_failed (core, error);
          p_spawner_maybe_respawn (core);
          return;
        }
    }
}

static gboolean
respawn_timer_fired (gpointer user_data)
{
  PCore *core = user_data;

  g_clear_pointer (&core->respawn_timer, g_source_unref);
  spawn_missing (core);
  p_scheduler_run (core);

  return G_SOURCE_REMOVE;
}

static gboolean
needs_workers (PCore *core)
{
  return !core->terminated && (!core->closed_seen || !g_queue_is_empty (&core->pending));
}

/* Starts the workers that are wanted and missing; after start failures,
 * with an exponential back-off so that a command that keeps dying does not
 * spin. */
void
p_spawner_maybe_respawn (PCore *core)
{
  guint delay;

  guint n_starting;

  if (core->respawn_timer != NULL ||
      count_live (core, &n_starting) >= wanted_workers (core) ||
      !needs_workers (core))
    return;

  if (core->start_failures == 0)
    {
      spawn_missing (core);
      return;
    }

  delay = RESPAWN_BACKOFF_MIN_MSEC << MIN (core->start_failures - 1, 16);
  delay = MIN (delay, RESPAWN_BACKOFF_MAX_MSEC);

  core->respawn_timer = g_timeout_source_new (delay);
  g_source_set_callback (core->respawn_timer, respawn_timer_fired, core, NULL);
  g_source_attach (core->respawn_timer, core->context);
}

/* }}} */
/* {{{ What workers say and do */

/* The worker said all it had to (@features: NULL before version 4): it
 * takes tasks, unless its sandbox falls short; and so does the pool again.
 * Its start counts as good only once it has served one
 * (p_spawner_worker_served()): a worker that breaks the protocol right
 * after HELLO would otherwise be replaced for ever. */
static void
worker_ready (PWorkerSlot *slot,
              GVariant    *features)
{
  PCore *core = slot->core;

  if (!p_core_sandbox_accept (core, slot->process, features))
    return;

  p_process_set_ready (slot->process);
  slot->idle_since = g_get_monotonic_time ();

  g_mutex_lock (&core->mutex);
  g_clear_error (&core->start_error);
  g_mutex_unlock (&core->mutex);
}

/* The first reply of a worker: it started well. */
void
p_spawner_worker_served (PWorkerSlot *slot)
{
  slot->core->start_failures = 0;
}

static void
on_hello (PWorkerSlot *slot,
          GVariant    *body)
{
  PCore *core = slot->core;
  PProcess *process = slot->process;
  g_autofree const char **names = NULL;
  gboolean first_list;
  guint32 version;
  gint64 pid;

  /* Read after it died: too late to count. */
  if (process->state == P_PROCESS_DEAD)
    return;

  if (process->version != 0)
    {
      /* Translators: the end of “Worker process %d broke the protocol: %s”;
       * “it” is the worker process. */
      p_process_protocol_error (process, _("it announced itself twice"));
      return;
    }

  g_variant_get (body, "(ux^a&s)", &version, &pid, &names);
  if (version < P_PROTOCOL_VERSION_MIN || version > P_PROTOCOL_VERSION)
    {
      /* Translators: the end of “Worker process %d broke the protocol: %s”;
       * “it” is the worker process. The first %u is the version it speaks, the
       * others the oldest and the newest the pool speaks. */
      g_autofree char *message = g_strdup_printf (_("it speaks protocol version %u, not %u to %u"),
                                                  version, P_PROTOCOL_VERSION_MIN, P_PROTOCOL_VERSION);
      p_process_protocol_error (process, message);
      return;
    }
  process->version = version;
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
    p_jobs_fail_unserved (core);

  /* From version 4, its FEATURES come next. */
  if (version < 4)
    worker_ready (slot, NULL);
}

/* What the link and the worker have (version 4). Keys the pool does not
 * know are let be: a later version may add some. */
static void
on_features (PWorkerSlot *slot,
             GVariant    *body)
{
  PProcess *process = slot->process;
  g_autoptr(GVariant) features = g_variant_get_child_value (body, 0);
  gboolean descriptors = FALSE;

  if (process->state == P_PROCESS_DEAD)
    return;

  if (process->version < 4 || process->announced)
    {
      /* Translators: the end of “Worker process %d broke the protocol: %s”;
       * “it” is the worker process. FEATURES is the name of a message. */
      p_process_protocol_error (process, _("it sent FEATURES out of turn"));
      return;
    }

  g_variant_lookup (features, P_FEATURE_DESCRIPTORS, "b", &descriptors);
  process->takes_sealed = descriptors;

  worker_ready (slot, features);
}

static void
on_message (PProcess       *process,
            const PMessage *message,
            gpointer        user_data)
{
  PWorkerSlot *slot = user_data;
  PCore *core = slot->core;

  if (!core->wake_batch_open)
    {
      p_wake_batch_begin ();
      core->wake_batch_open = TRUE;
    }

  if (message->kind == P_MESSAGE_HELLO)
    {
      on_hello (slot, message->body);
      return;
    }

  if (message->kind == P_MESSAGE_FEATURES)
    {
      on_features (slot, message->body);
      return;
    }

  if (!process->announced)
    {
      /* Translators: the end of “Worker process %d broke the protocol: %s”;
       * “it” is the worker process. */
      p_process_protocol_error (process, _("it replied before it announced itself"));
      return;
    }

  if (message->kind == P_MESSAGE_PROGRESS)
    p_scheduler_on_progress (slot, message);
  else
    p_scheduler_on_reply (slot, message);
}

static void
on_read_done (PProcess *process,
              gpointer  user_data)
{
  PWorkerSlot *slot = user_data;
  PCore *core = slot->core;

  /* Before the next messages leave: the waiters' turn. */
  if (core->wake_batch_open)
    {
      core->wake_batch_open = FALSE;
      p_wake_batch_end ();
    }

  p_scheduler_run (core);
}

static GError *
describe_death (PCore    *core,
                PProcess *process)
{
  g_autofree char *status = NULL;
  g_autofree char *sandbox_note = NULL;

  if (process->kill_reason != NULL)
    return g_error_copy (process->kill_reason);

  /* Its client's status and words, not its own. */
  if (core->launch != NULL)
    return p_launch_describe_death (core->launch, process);

  status = p_process_describe_exit (process);
  sandbox_note = p_core_sandbox_describe_death (core, process);
  if (sandbox_note != NULL)
    return g_error_new (P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED, "%s; %s", status, sandbox_note);

  return g_error_new_literal (P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED, status);
}

static void
on_exited (PProcess *process,
           gpointer  user_data)
{
  PWorkerSlot *slot = user_data;
  PCore *core = slot->core;

  g_ptr_array_remove_fast (core->workers, slot);
  p_core_emit (core, P_WORKER_SIGNAL_EXITED, process->pid, process->wait_status);

  /* One that broke the protocol before it ran anything failed to start
   * too: a worker that always does must not be replaced for ever. */
  if (!core->terminated &&
      (!process->announced ||
       (slot->n_tasks_sent == 0 && g_error_matches (process->kill_reason, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL))))
    {
      g_autoptr(GError) death = describe_death (core, process);

      start_failed (core,
                    g_error_new (P_POOL_ERROR, P_POOL_ERROR_WORKER_START,
                                 _("Worker “%s” failed to start: %s"),
                                 core->worker_argv[0], death->message));
    }

  p_scheduler_worker_lost (slot, describe_death (core, process));
  if (core->launch != NULL)
    p_launch_forget (core->launch, process);
  p_worker_slot_free (slot);

  p_spawner_maybe_respawn (core);
  p_scheduler_run (core);
}

/* }}} */
