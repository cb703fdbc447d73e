/* p-launcher.c: how a pool's workers are started: here, or on other hosts
 * through ssh or Slurm's srun
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "p-launcher.h"
#include "p-launcher-private.h"
#include "p-i18n-private.h"

/**
 * SECTION:p-launcher
 * @title: PLauncher
 * @short_description: Workers on other hosts, through ssh or Slurm
 *
 * A #PLauncher starts a pool's workers through an engine that clusters
 * already run: `ssh` to a list of hosts (p_launcher_new_ssh()), or Slurm's
 * `srun` (p_launcher_new_srun()), one job step per worker. A pool made
 * with one (p_pool_new_with_launcher(), or the #PPool:launcher property)
 * behaves as a local pool does: every call, cancellation, time-out,
 * #PPool:max-tasks-per-worker, shutdown, termination and join.
 *
 * |[<!-- language="C" -->
 * const char *hosts[] = { "4/node1", "4/node2", NULL };
 * g_autoptr(PLauncher) launcher = p_launcher_new_ssh (hosts);
 * g_autoptr(PPool) pool = p_pool_new_with_launcher (0, NULL, launcher, &error);
 * ]|
 *
 * The worker program runs on the remote side at the same path as here (a
 * shared file system, as clusters have: the current program, with its
 * arguments, when @worker_argv is %NULL), or at the path given to
 * p_launcher_set_worker_path(). It talks to the pool over the client's
 * standard input and output: no descriptor passes there and no memory is
 * shared, so large values travel in the stream, within
 * #PPool:max-message-size. Before it runs any task the worker moves its
 * standard output to its standard error, which reaches the pool's
 * standard error through the client: what a task prints never corrupts
 * the link. Everything the worker gets from the pool's environment is
 * on its command line (ssh does not pass the environment on).
 *
 * The end of the link is the worker's death: when the pool goes, kills a
 * worker (a time-out, a cancelled task that does not stop, termination)
 * or the client is killed, the remote worker stops at once, with what its
 * tasks started. A worker that dies fails the task it was running with
 * %P_POOL_ERROR_WORKER_DIED; a replacement starts on the same host.
 *
 * The pids that #PPool::worker-started and #PPool::worker-exited give are
 * those of the clients (ssh, srun), here; the wait status is the
 * client's.
 *
 * A host that cannot be reached, is unknown, or refuses the connection
 * makes the pool fail with %P_POOL_ERROR_WORKER_START, carrying the
 * client's own message ("ssh: Could not resolve hostname …"): with ssh,
 * from the constructor, which connects to every host first; with srun, or
 * later, from the tasks, once workers keep failing to start.
 */

/**
 * PLauncher:
 *
 * How a pool's workers are started. See the section's description.
 *
 * Since: 0.1
 */

/**
 * P_TYPE_LAUNCHER:
 *
 * The #GType of #PLauncher.
 *
 * Since: 0.1
 */

struct _PLauncher
{
  GObject parent_instance;

  PLauncherKind kind;
  char **hosts;
  char **srun_args;
  char **command;
  char *worker_path;
  gboolean reuse_connections;
};

G_DEFINE_FINAL_TYPE (PLauncher, p_launcher, G_TYPE_OBJECT)

static void
p_launcher_finalize (GObject *object)
{
  PLauncher *self = P_LAUNCHER (object);

  g_clear_pointer (&self->hosts, g_strfreev);
  g_clear_pointer (&self->srun_args, g_strfreev);
  g_clear_pointer (&self->command, g_strfreev);
  g_clear_pointer (&self->worker_path, g_free);

  G_OBJECT_CLASS (p_launcher_parent_class)->finalize (object);
}

static void
p_launcher_class_init (PLauncherClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = p_launcher_finalize;

  p_i18n_init ();
}

static void
p_launcher_init (PLauncher *self)
{
  self->reuse_connections = TRUE;
}

/**
 * p_launcher_new_ssh:
 * @hosts: (array zero-terminated=1): where the workers run: "host",
 *   "user@host", or "N/host" for N workers there, as GNU parallel's
 *   `--sshlogin` says it
 *
 * Creates a launcher that starts each worker with `ssh host command`.
 * A pool of 0 processes gets the sum of the hosts' N (1 for a host
 * without one); a pool of another size spreads its workers over the
 * hosts in proportion to their N. A worker that dies is replaced on its
 * host.
 *
 * The client runs as `ssh -T -o BatchMode=yes -o ConnectTimeout=10
 * -o ServerAliveInterval=10 -o ServerAliveCountMax=3`: it never asks for
 * a password (set up keys or an agent), and it gives up on a host that
 * does not answer within seconds. Options of the command given to
 * p_launcher_set_command() come first, and so win. The workers on a host
 * share a connection (ssh's `ControlMaster`), up to 8 per connection: see
 * p_launcher_set_reuse_connections().
 *
 * A host name is checked when a pool is made with the launcher: an empty
 * one, one that starts with '-', or an N that is not a positive number
 * makes the pool fail with %G_IO_ERROR_INVALID_ARGUMENT.
 *
 * Returns: (transfer full): a new #PLauncher
 *
 * Since: 0.1
 */
PLauncher *
p_launcher_new_ssh (const char * const *hosts)
{
  PLauncher *self;

  g_return_val_if_fail (hosts != NULL, NULL);

  self = g_object_new (P_TYPE_LAUNCHER, NULL);
  self->kind = P_LAUNCHER_SSH;
  self->hosts = g_strdupv ((char **) hosts);
  self->command = g_strdupv ((char *[]) { (char *) "ssh", NULL });

  return self;
}

/**
 * p_launcher_new_srun:
 * @srun_args: (array zero-terminated=1) (nullable): more options for
 *   `srun`, such as `--partition=…` or `--mem-per-cpu=…`, or %NULL
 *
 * Creates a launcher that starts each worker as a job step of one task,
 * `srun -u -n1 -N1 [srun_args] command`, inside the current allocation
 * (`salloc`, `sbatch`) or, outside one, each in an allocation of its own.
 * A pool of 0 processes gets `SLURM_NTASKS` workers, which only an
 * allocation sets; outside one, a pool of 0 processes fails with
 * %G_IO_ERROR_INVALID_ARGUMENT.
 *
 * A step that waits for resources holds up no other worker: the pool
 * runs its tasks on those that started, and does not time it out. Slurm
 * chooses the node of every step, replacements included. @srun_args must
 * not change the number of tasks or nodes of a step (`-n`, `-N`): each
 * step is one worker.
 *
 * Returns: (transfer full): a new #PLauncher
 *
 * Since: 0.1
 */
PLauncher *
p_launcher_new_srun (const char * const *srun_args)
{
  PLauncher *self = g_object_new (P_TYPE_LAUNCHER, NULL);

  self->kind = P_LAUNCHER_SRUN;
  self->srun_args = srun_args != NULL ? g_strdupv ((char **) srun_args) : g_new0 (char *, 1);
  self->command = g_strdupv ((char *[]) { (char *) "srun", NULL });

  return self;
}

/**
 * p_launcher_set_command:
 * @self: a #PLauncher
 * @argv: (array zero-terminated=1): the client and its options, for
 *   example `{"ssh", "-F", config, NULL}`
 *
 * Sets the command that starts the client, `{"ssh"}` or `{"srun"}` by
 * default; the launcher adds its own options and the worker's command
 * after it. Pools made before keep the command they were made with.
 *
 * Since: 0.1
 */
void
p_launcher_set_command (PLauncher          *self,
                        const char * const *argv)
{
  g_return_if_fail (P_IS_LAUNCHER (self));
  g_return_if_fail (argv != NULL && argv[0] != NULL && argv[0][0] != '\0');

  g_strfreev (self->command);
  self->command = g_strdupv ((char **) argv);
}

/**
 * p_launcher_set_worker_path:
 * @self: a #PLauncher
 * @path: (nullable): the worker program's path on the remote side, or
 *   %NULL for the same path as here
 *
 * Names where the worker program is on the remote hosts, when it is not
 * where it is here: @path takes the place of the first element of the
 * pool's #PPool:worker-argv (of the current program's path, when that is
 * %NULL); the arguments stay.
 *
 * Since: 0.1
 */
void
p_launcher_set_worker_path (PLauncher  *self,
                            const char *path)
{
  g_return_if_fail (P_IS_LAUNCHER (self));
  g_return_if_fail (path == NULL || path[0] != '\0');

  g_free (self->worker_path);
  self->worker_path = g_strdup (path);
}

/**
 * p_launcher_set_reuse_connections:
 * @self: a #PLauncher
 * @reuse: whether the workers on a host share connections
 *
 * With ssh, and @reuse %TRUE (the default), the pool first opens one
 * connection per host (per 8 workers on it, within sshd's default
 * `MaxSessions`), and every worker there runs as a session of it
 * (OpenSSH's `ControlMaster`, with the sockets in a directory of the
 * pool's own that it removes, unless it is killed with SIGKILL): N
 * workers start in about one connection's time, and so do replacements. The pool's constructor waits for these
 * connections, and fails with the client's message if one cannot be
 * made. With %FALSE, each worker makes its own connection, which a
 * client that is not OpenSSH needs. srun ignores it.
 *
 * Since: 0.1
 */
void
p_launcher_set_reuse_connections (PLauncher *self,
                                  gboolean   reuse)
{
  g_return_if_fail (P_IS_LAUNCHER (self));

  self->reuse_connections = !!reuse;
}

/**
 * p_pool_new_with_launcher:
 * @processes: the number of workers (at most 1024), or 0 for as many as
 *   @launcher says (see p_launcher_new_ssh() and p_launcher_new_srun())
 * @worker_argv: (array zero-terminated=1) (nullable): the command that
 *   starts a worker on the remote side, or %NULL to start the current
 *   program there, with the arguments it was given
 * @launcher: how to start the workers
 * @error: return location for a #GError
 *
 * Creates a pool whose workers are started by @launcher, on other hosts.
 * See #PLauncher. Fails with %P_POOL_ERROR_WORKER_START, carrying the
 * client's message, when a host cannot be reached (see
 * p_launcher_set_reuse_connections()), and with
 * %G_IO_ERROR_INVALID_ARGUMENT for a host name that is not one or a
 * number of workers that cannot be told.
 *
 * Returns: (transfer full): a new #PPool, or %NULL with @error set
 *
 * Since: 0.1
 */
PPool *
p_pool_new_with_launcher (guint                processes,
                          const char * const  *worker_argv,
                          PLauncher           *launcher,
                          GError             **error)
{
  /* As p_pool_new(): PPool:processes's bound. */
  g_return_val_if_fail (processes <= 1024, NULL);
  g_return_val_if_fail (P_IS_LAUNCHER (launcher), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (P_TYPE_POOL, NULL, error,
                         "processes", processes,
                         "worker-argv", worker_argv,
                         "launcher", launcher,
                         NULL);
}

/* {{{ What a pool takes */

PLauncherConfig *
p_launcher_dup_config (PLauncher *self)
{
  PLauncherConfig *config = g_new0 (PLauncherConfig, 1);

  config->kind = self->kind;
  config->hosts = g_strdupv (self->hosts);
  config->srun_args = self->srun_args != NULL ? g_strdupv (self->srun_args) : g_new0 (char *, 1);
  config->command = g_strdupv (self->command);
  config->worker_path = g_strdup (self->worker_path);
  config->reuse_connections = self->reuse_connections;

  return config;
}

void
p_launcher_config_free (PLauncherConfig *config)
{
  if (config == NULL)
    return;

  g_strfreev (config->hosts);
  g_strfreev (config->srun_args);
  g_strfreev (config->command);
  g_free (config->worker_path);
  g_free (config);
}

/* }}} */
