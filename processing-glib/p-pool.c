/* p-pool.c: a pool of worker processes
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"


#include "p-pool.h"
#include "p-pool-private.h"
#include "p-pool-sandbox-private.h"
#include "p-error.h"
#include "p-i18n-private.h"
#include "p-launch-private.h"
#include "p-launcher.h"
#include "p-sandbox-private.h"

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

/* More workers than this is a mistake, not a pool. */
#define MAX_PROCESSES 1024
#define DEFAULT_CANCEL_GRACE_PERIOD (2 * G_USEC_PER_SEC)

struct _PPool
{
  GObject parent_instance;

  guint processes;
  gboolean processes_chosen;   /* not 0: a launcher may choose otherwise */
  char **worker_argv;
  PLauncher *launcher;
  guint64 max_message_size;
  PSandbox *sandbox;
  PSettings settings;      /* until the core exists */

  PCore *core;
};

enum {
  PROP_0,
  PROP_PROCESSES,
  PROP_WORKER_ARGV,
  PROP_MAX_TASKS_PER_WORKER,
  PROP_TASK_TIMEOUT,
  PROP_CANCEL_GRACE_PERIOD,
  PROP_MAX_MESSAGE_SIZE,
  PROP_MIN_PROCESSES,
  PROP_IDLE_TIMEOUT,
  PROP_MAX_QUEUED,
  PROP_SANDBOX,
  PROP_LAUNCHER,
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

/* In the creator's context (see p-pool-signals-private.c). */
void
p_pool_emit_worker_signal (PPool         *self,
                           PWorkerSignal  signal,
                           guint          pid,
                           int            wait_status)
{
  if (signal == P_WORKER_SIGNAL_STARTED)
    g_signal_emit (self, signals[WORKER_STARTED], 0, pid);
  else
    g_signal_emit (self, signals[WORKER_EXITED], 0, pid, wait_status);
}

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
  PCore *core = g_steal_pointer (&self->core);

  if (core != NULL)
    {
      /* No pool to emit them on. */
      p_core_drop_emissions (core);
      p_core_close (core, TRUE);

      /* From the pool's own thread (the last reference was dropped by a
       * completion), the thread winds down by itself. */
      if (!p_core_is_current_thread (core))
        {
          p_core_wait_finished (core);
          g_thread_join (g_steal_pointer (&core->thread));
        }

      p_core_unref (core);
    }

  G_OBJECT_CLASS (p_pool_parent_class)->dispose (object);
}

static void
p_pool_finalize (GObject *object)
{
  PPool *self = P_POOL (object);

  g_clear_pointer (&self->worker_argv, g_strfreev);
  g_clear_object (&self->sandbox);
  g_clear_object (&self->launcher);

  G_OBJECT_CLASS (p_pool_parent_class)->finalize (object);
}

static PSettings
p_pool_get_settings (PPool *self)
{
  PSettings settings;

  if (self->core == NULL)
    return self->settings;

  g_mutex_lock (&self->core->mutex);
  settings = self->core->settings;
  g_mutex_unlock (&self->core->mutex);

  return settings;
}

/* A setting's value from its property's: FALSE if it did not change. */
static gboolean
settings_set (PSettings    *settings,
              guint         prop_id,
              const GValue *value)
{
  PSettings old = *settings;

  switch (prop_id)
    {
    case PROP_MAX_TASKS_PER_WORKER:
      settings->max_tasks_per_worker = g_value_get_uint (value);
      return settings->max_tasks_per_worker != old.max_tasks_per_worker;

    case PROP_TASK_TIMEOUT:
      settings->task_timeout = g_value_get_int64 (value);
      return settings->task_timeout != old.task_timeout;

    case PROP_CANCEL_GRACE_PERIOD:
      settings->cancel_grace_period = g_value_get_int64 (value);
      return settings->cancel_grace_period != old.cancel_grace_period;

    case PROP_MIN_PROCESSES:
      settings->min_processes = g_value_get_uint (value);
      return settings->min_processes != old.min_processes;

    case PROP_IDLE_TIMEOUT:
      settings->idle_timeout = g_value_get_int64 (value);
      return settings->idle_timeout != old.idle_timeout;

    case PROP_MAX_QUEUED:
      settings->max_queued = g_value_get_uint (value);
      return settings->max_queued != old.max_queued;

    default:
      g_assert_not_reached ();
    }
}

static void
settings_get (const PSettings *settings,
              guint            prop_id,
              GValue          *value)
{
  switch (prop_id)
    {
    case PROP_MAX_TASKS_PER_WORKER:
      g_value_set_uint (value, settings->max_tasks_per_worker);
      break;

    case PROP_TASK_TIMEOUT:
      g_value_set_int64 (value, settings->task_timeout);
      break;

    case PROP_CANCEL_GRACE_PERIOD:
      g_value_set_int64 (value, settings->cancel_grace_period);
      break;

    case PROP_MIN_PROCESSES:
      g_value_set_uint (value, settings->min_processes);
      break;

    case PROP_IDLE_TIMEOUT:
      g_value_set_int64 (value, settings->idle_timeout);
      break;

    case PROP_MAX_QUEUED:
      g_value_set_uint (value, settings->max_queued);
      break;

    default:
      g_assert_not_reached ();
    }
}

/* Settings apply at once: to running tasks' clocks, idle workers and
 * waiting work too. */
static void
p_pool_set_setting (PPool        *self,
                    GParamSpec   *pspec,
                    const GValue *value)
{
  PSettings settings = p_pool_get_settings (self);

  if (!settings_set (&settings, pspec->param_id, value))
    return;

  if (self->core == NULL)
    self->settings = settings;
  else
    {
      g_mutex_lock (&self->core->mutex);
      self->core->settings = settings;
      self->core->settings_changed = TRUE;
      g_mutex_unlock (&self->core->mutex);
      p_core_wake (self->core);
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
    case PROP_TASK_TIMEOUT:
    case PROP_CANCEL_GRACE_PERIOD:
    case PROP_MIN_PROCESSES:
    case PROP_IDLE_TIMEOUT:
    case PROP_MAX_QUEUED:
      {
        PSettings settings = p_pool_get_settings (self);

        settings_get (&settings, prop_id, value);
      }
      break;

    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint64 (value, self->max_message_size);
      break;

    case PROP_SANDBOX:
      g_value_set_object (value, self->sandbox);
      break;

    case PROP_LAUNCHER:
      g_value_set_object (value, self->launcher);
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
      self->processes_chosen = self->processes != 0;
      if (self->processes == 0)
        self->processes = g_get_num_processors ();
      break;

    case PROP_WORKER_ARGV:
      g_clear_pointer (&self->worker_argv, g_strfreev);
      self->worker_argv = g_value_dup_boxed (value);
      break;

    case PROP_MAX_TASKS_PER_WORKER:
    case PROP_TASK_TIMEOUT:
    case PROP_CANCEL_GRACE_PERIOD:
    case PROP_MIN_PROCESSES:
    case PROP_IDLE_TIMEOUT:
    case PROP_MAX_QUEUED:
      p_pool_set_setting (self, pspec, value);
      break;

    case PROP_MAX_MESSAGE_SIZE:
      self->max_message_size = g_value_get_uint64 (value);
      break;

    case PROP_SANDBOX:
      g_set_object (&self->sandbox, g_value_get_object (value));
      break;

    case PROP_LAUNCHER:
      g_set_object (&self->launcher, g_value_get_object (value));
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
   * The most worker processes the pool runs at once, at most 1024. 0 when
   * constructing means the number of processors (g_get_num_processors()),
   * or, with a #PPool:launcher, as many as the launcher says; reading it
   * gives the number actually used.
   *
   * The pool starts one worker when it is made (so that a command that
   * cannot run fails there), #PPool:min-processes in all, and more when
   * tasks wait for one, a few at a time: as many as the processors start
   * together. While tasks wait, it keeps busy the fewest workers that keep
   * up: first as many as there are processors, then twice as many each time
   * it sees the processors idle while tasks wait (workers that wait on
   * something else than the processors, say), and half as many while the
   * processors are busy and more workers than processors run.
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

  /**
   * PPool:min-processes:
   *
   * How many workers the pool keeps when it has nothing to do. Workers
   * above this number exit once they have been idle for
   * #PPool:idle-timeout, and are started again when tasks come. 0 (the
   * default) lets an idle pool hold no worker at all once its idle timeout
   * has passed. Never more than #PPool:processes are started.
   *
   * Since: 0.1
   */
  properties[PROP_MIN_PROCESSES] =
    g_param_spec_uint ("min-processes", NULL, NULL,
                       0, MAX_PROCESSES, 0,
                       (G_PARAM_READWRITE |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * PPool:idle-timeout:
   *
   * How long a worker above #PPool:min-processes may idle before it exits,
   * in microseconds; 0 (the default) keeps every worker started until the
   * pool shuts down. A worker that exits this way finishes what it was
   * sent first, and is not counted as a failure.
   *
   * Since: 0.1
   */
  properties[PROP_IDLE_TIMEOUT] =
    g_param_spec_int64 ("idle-timeout", NULL, NULL,
                        0, G_MAXINT64 / 1024, 0,
                        (G_PARAM_READWRITE |
                         G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS));

  /**
   * PPool:max-queued:
   *
   * How many tasks may wait for a worker (a map chunk counts as one); 0
   * (the default) for as many as are submitted. When that many wait, new
   * work waits too, in submission order, before it is queued for a worker:
   * p_pool_submit() and the `_async` calls still return at once, blocking
   * calls wait for their result as always, nothing is dropped, and
   * cancelling work that waits fails it at once, without running it. Work
   * of more tasks than the limit is taken once nothing else waits.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_QUEUED] =
    g_param_spec_uint ("max-queued", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * PPool:sandbox:
   *
   * The #PSandbox that confines the workers, or %NULL (the default) for
   * none. The pool copies it when it is constructed: changing it
   * afterwards changes nothing.
   *
   * A sandboxed pool waits, when it is constructed, for its first worker
   * to say what of the sandbox is in force, and fails with
   * %P_POOL_ERROR_SANDBOX if a mechanism of
   * #PSandbox:required-mechanisms is missing. See
   * p_pool_get_sandbox_mechanisms().
   *
   * Since: 0.1
   */
  properties[PROP_SANDBOX] =
    g_param_spec_object ("sandbox", NULL, NULL,
                         P_TYPE_SANDBOX,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * PPool:launcher:
   *
   * How the workers are started: %NULL starts them here; a #PLauncher
   * starts them on other hosts, through ssh or Slurm's srun. With one,
   * #PPool:processes 0 means as many as the launcher says (see
   * p_launcher_new_ssh() and p_launcher_new_srun()), and
   * #PPool:worker-argv is the command on the remote side.
   *
   * Since: 0.1
   */
  properties[PROP_LAUNCHER] =
    g_param_spec_object ("launcher", NULL, NULL,
                         P_TYPE_LAUNCHER,
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
  g_auto(GStrv) env = NULL;
  g_autoptr(PCore) core = NULL;
  PLaunch *launch = NULL;

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

  if (self->launcher != NULL)
    {
      launch = p_launch_new (self->launcher, self->processes_chosen ? self->processes : 0,
                             &self->processes, error);
      if (launch == NULL)
        return FALSE;
    }

  if (self->sandbox != NULL)
    env = p_sandbox_build_environment (self->sandbox, (const char * const *) argv);

  core = p_core_new (self, self->processes, (const char * const *) argv, (const char * const *) env,
                     self->max_message_size, &self->settings);
  core->launch = launch;
  /* Workers elsewhere run on processors this machine's load does not
   * show, and start as fast as their hosts do: all may be kept busy. */
  if (launch != NULL)
    {
      core->load_measurable = FALSE;
      core->active_cap = core->n_processes;
    }
  if (self->sandbox != NULL)
    core->sandbox = p_core_sandbox_new (self->sandbox);
  if (!p_core_start (core, error))
    {
      p_core_wait_finished (core);
      g_thread_join (g_steal_pointer (&core->thread));
      return FALSE;
    }

  /* A sandbox is known to be in force once a worker says so. */
  if (core->sandbox != NULL && !p_core_sandbox_wait (core, error))
    {
      p_core_drop_emissions (core);
      p_core_close (core, TRUE);
      p_core_wait_finished (core);
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
/* {{{ Making a pool */

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

/* {{{ PCore access, for the pool's other rooms */

/* The pool's core: p-pool-work.c submits work to it. */
PCore *
p_pool_get_core (PPool *self)
{
  return self->core;
}

/* }}} */
/* }}} */
/* {{{ The end */

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

  p_core_close (self->core, FALSE);
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

  p_core_close (self->core, TRUE);
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

  p_core_wait_finished (self->core);

  return TRUE;
}

/**
 * p_pool_get_stats:
 * @self: a #PPool
 *
 * Returns what the pool is doing, as a dictionary (`a{sv}`) taken at one
 * moment on the pool's thread, so that its figures agree with each other:
 *
 * - `workers` (`u`): worker processes, starting, ready or exiting;
 * - `busy` (`u`): workers with tasks in hand;
 * - `idle` (`u`): ready workers with none;
 * - `starting` (`u`): workers that have not said yet what they serve;
 * - `queued` (`u`): tasks that wait for a worker (a map chunk counts as
 *   one), those held back by #PPool:max-queued included;
 * - `completed` (`t`): tasks and map chunks that workers answered with
 *   their results, since the pool was made;
 * - `failed` (`t`): those that failed: an error, a time-out, a death;
 * - `per-worker` (`aa{sv}`): for each worker, `pid` (`u`), `state` (`s`:
 *   `starting`, `ready`, `exiting` or `dead`), `tasks-run` (`t`: answered
 *   by it), `in-flight` (`u`: sent to it, not answered) and `task-age`
 *   (`x`: microseconds since its current task started, -1 when it has
 *   none).
 *
 * More keys may come; a caller looks up those it knows. This may be called
 * from any thread, also after p_pool_join().
 *
 * Returns: (transfer full): the statistics, an `a{sv}`
 *
 * Since: 0.1
 */
GVariant *
p_pool_get_stats (PPool *self)
{
  g_return_val_if_fail (P_IS_POOL (self), NULL);
  g_return_val_if_fail (self->core != NULL, NULL);

  return p_core_dup_stats (self->core);
}

/**
 * p_pool_get_sandbox_mechanisms:
 * @self: a #PPool
 *
 * Returns the sandbox's mechanisms in force in every worker the pool
 * started so far (see #PSandboxMechanisms). A pool constructed with a
 * #PPool:sandbox has at least its #PSandbox:required-mechanisms; one
 * without has none.
 *
 * Returns: the mechanisms in force
 *
 * Since: 0.1
 */
PSandboxMechanisms
p_pool_get_sandbox_mechanisms (PPool *self)
{
  g_return_val_if_fail (P_IS_POOL (self), P_SANDBOX_MECHANISM_NONE);
  g_return_val_if_fail (self->core != NULL, P_SANDBOX_MECHANISM_NONE);

  return p_core_sandbox_get_mechanisms (self->core);
}

/**
 * p_pool_get_sandbox_report:
 * @self: a #PPool
 *
 * Returns what a worker said of its sandbox: the one, among the workers
 * started so far, with the fewest mechanisms in force. A dictionary
 * (`a{sv}`) with these keys:
 *
 * - `applied` (`as`): the mechanisms in force, by their nicks (see
 *   #PSandboxMechanisms);
 * - `refused` (`a{ss}`): each mechanism that is not, with the reason the
 *   kernel gave;
 * - `memory-limit` (`t`): the memory limit in force, in bytes (0 for none);
 * - `memory-base` (`t`): the memory the worker had when it confined itself,
 *   which the limit comes on top of;
 * - `landlock-abi` (`u`): the kernel's landlock ABI version, 0 for none.
 *
 * Mechanisms that have nothing to do (those for the network when it is
 * allowed) are in neither list.
 *
 * Returns: (transfer full) (nullable): the report, or %NULL for a pool
 *   without a sandbox
 *
 * Since: 0.1
 */
GVariant *
p_pool_get_sandbox_report (PPool *self)
{
  g_return_val_if_fail (P_IS_POOL (self), NULL);
  g_return_val_if_fail (self->core != NULL, NULL);

  return p_core_sandbox_dup_report (self->core);
}

/* }}} */
