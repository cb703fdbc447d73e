/* test-launcher-srun.c: a pool whose workers start as Slurm job steps,
 * against a real single-node Slurm on 127.0.0.1
 *
 * .ci/run starts one with .ci/engines/slurm-localhost.sh and sets
 * P_TEST_SLURM_CONF to its slurm.conf; without it, every case is skipped
 * and says so. The test program is its own worker, on the node: this
 * host.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher-cases.h"

static const char *
srun_unavailable (void)
{
  const char *conf = g_getenv ("P_TEST_SLURM_CONF");
  g_autofree char *srun = NULL;

  if (conf == NULL)
    return "no Slurm to test with: P_TEST_SLURM_CONF is not set (.ci/run starts one with "
           ".ci/engines/slurm-localhost.sh and sets it to its slurm.conf)";

  if (!g_file_test (conf, G_FILE_TEST_IS_REGULAR))
    return "no Slurm to test with: P_TEST_SLURM_CONF names no file";

  srun = g_find_program_in_path ("srun");
  if (srun == NULL)
    return "no Slurm to test with: srun is not installed";

  return NULL;
}

static PLauncher *
new_srun_launcher (void)
{
  return p_launcher_new_srun (NULL);
}

static const LauncherEngine srun_engine = {
  "srun", "srun", srun_unavailable, new_srun_launcher,
};

/* Slurm's own view, by a command's output. */
static char *
slurm_says (const char *command)
{
  g_autofree char *output = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_spawn_command_line_sync (command, &output, NULL, &status, &error);
  g_assert_no_error (error);

  return g_strstrip (g_steal_pointer (&output));
}

/* The pool's steps, running or waiting. */
static gboolean
wait_for_no_steps (void)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autofree char *jobs = slurm_says ("squeue -h -n processing-glib-worker -o %i");

      if (jobs[0] == '\0')
        return TRUE;
      if (g_get_monotonic_time () > deadline)
        {
          g_test_message ("jobs left: %s", jobs);
          return FALSE;
        }
      g_usleep (100000);
    }
}

static void
test_processes (void)
{
  g_autoptr(PLauncher) launcher = NULL;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *saved = NULL;

  if (launcher_engine_skip (&srun_engine))
    return;

  saved = g_strdup (g_getenv ("SLURM_NTASKS"));
  launcher = new_srun_launcher ();

  /* Outside an allocation, nobody says how many. */
  g_unsetenv ("SLURM_NTASKS");
  pool = p_pool_new_with_launcher (0, launcher_worker_argv (), launcher, &error);
  g_assert_null (pool);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* Inside one, SLURM_NTASKS does. */
  g_setenv ("SLURM_NTASKS", "3", TRUE);
  pool = p_pool_new_with_launcher (0, launcher_worker_argv (), launcher, &error);
  g_assert_no_error (error);
  launcher_keep_every_worker (pool);
  g_assert_cmpuint (p_pool_get_processes (pool), ==, 3);
  g_assert_true (launcher_wait_for_count (launcher_find_workers, &srun_engine, 3, 20 * G_USEC_PER_SEC));
  g_assert_cmpint (apply_int64 (pool, "square", 3), ==, 9);

  if (saved != NULL)
    g_setenv ("SLURM_NTASKS", saved, TRUE);
  else
    g_unsetenv ("SLURM_NTASKS");

  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, NULL));
  launcher_assert_nothing_left (&srun_engine);
  g_assert_true (wait_for_no_steps ());
}

/* srun's own message, from the tasks, within seconds. */
static void
test_bad_args (void)
{
  const char *args[] = { "--partition=no-such-partition", NULL };
  g_autoptr(PLauncher) launcher = NULL;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  gint64 started;

  if (launcher_engine_skip (&srun_engine))
    return;

  launcher = p_launcher_new_srun (args);
  started = g_get_monotonic_time ();
  pool = p_pool_new_with_launcher (2, launcher_worker_argv (), launcher, &error);
  g_assert_no_error (error);
  launcher_keep_every_worker (pool);

  value = p_pool_apply (pool, "square", g_variant_new_int64 (2), NULL, &error);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "srun: error"));
  g_assert_nonnull (strstr (error->message, "partition"));
  g_test_message ("took %.2f s", (g_get_monotonic_time () - started) / 1e6);

  p_pool_terminate (pool);
  g_assert_true (p_pool_join (pool, NULL));
  launcher_assert_nothing_left (&srun_engine);
}

static guint
cluster_cpus (void)
{
  g_autofree char *cpus = slurm_says ("sinfo -h -o %C");
  g_auto(GStrv) fields = g_strsplit (cpus, "/", -1);

  /* allocated/idle/other/total */
  g_assert_cmpuint (g_strv_length (fields), ==, 4);
  return atoi (fields[3]);
}

/* A step that waits for resources holds up no other worker; terminating
 * the pool takes it out of the queue. */
static void
test_waiting_step (void)
{
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *cpus = NULL;
  GPid blocker;
  guint total;
  gint64 deadline;

  if (launcher_engine_skip (&srun_engine))
    return;

  /* All the CPUs but one, taken. */
  total = cluster_cpus ();
  g_assert_cmpuint (total, >=, 2);
  cpus = g_strdup_printf ("--cpus-per-task=%u", total - 1);
  {
    const char *argv[] = { "srun", "-n1", cpus, "--job-name=launcher-test-blocker", "sleep", "300", NULL };

    g_assert_true (g_spawn_async (NULL, (char **) argv, NULL,
                                  G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL,
                                  NULL, NULL, &blocker, &error));
    g_assert_no_error (error);
  }
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  for (;;)
    {
      g_autofree char *running = slurm_says ("squeue -h -n launcher-test-blocker -t R -o %i");

      if (running[0] != '\0')
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (100000);
    }

  pool = launcher_pool_new (&srun_engine, 2, NULL);

  /* One step runs, the other waits: the work is done meanwhile. */
  for (int i = 0; i < 5; i++)
    g_assert_cmpint (apply_int64 (pool, "square", i), ==, i * i);
  g_assert_true (launcher_wait_for_count (launcher_find_workers, &srun_engine, 1, 5 * G_USEC_PER_SEC));
  g_usleep (500000);
  {
    g_autoptr(GArray) workers = launcher_find_workers (NULL);
    g_autofree char *pending = slurm_says ("squeue -h -n processing-glib-worker -t PD -o %i");

    g_assert_cmpuint (workers->len, ==, 1);
    g_assert_cmpstr (pending, !=, "");
  }

  /* Neither worker is left, the waiting one's job included. */
  p_pool_terminate (pool);
  g_assert_true (p_pool_join (pool, &error));
  g_assert_no_error (error);
  launcher_assert_nothing_left (&srun_engine);
  g_assert_true (wait_for_no_steps ());

  kill (blocker, SIGTERM);
  waitpid (blocker, NULL, 0);
}

int
main (int   argc,
      char *argv[])
{
  test_functions_serve_if_requested ();

  /* Read by srun, which gets this process's environment. */
  if (g_getenv ("P_TEST_SLURM_CONF") != NULL)
    g_setenv ("SLURM_CONF", g_getenv ("P_TEST_SLURM_CONF"), TRUE);

  g_test_init (&argc, &argv, NULL);

  launcher_cases_add (&srun_engine);
  g_test_add_func ("/launcher/srun/processes", test_processes);
  g_test_add_func ("/launcher/srun/bad-args", test_bad_args);
  g_test_add_func ("/launcher/srun/waiting-step", test_waiting_step);

  return g_test_run ();
}
