/* launcher-cases.c: what the launcher suites share: a pool's behaviour and
 * its faults, through a real engine (ssh, srun) on this host
 *
 * The remote host is this one: the workers are the test program itself,
 * at the same path, started by sshd or slurmstepd. Each carries a marker
 * on its command line, so that the cases find them in /proc, and find
 * none left at the end.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include "launcher-cases.h"

/* How long a remote process may take to go, once its link ended. */
#define GONE_USEC (5 * G_USEC_PER_SEC)

/* {{{ Helpers */

static char *
marker (void)
{
  static char *value;

  if (value == NULL)
    value = g_strdup_printf ("--launcher-test-worker=%d", (int) getpid ());

  return value;
}

/* The test program, with a marker. */
const char * const *
launcher_worker_argv (void)
{
  static const char *argv[3];

  if (argv[0] == NULL)
    {
      argv[0] = g_file_read_link ("/proc/self/exe", NULL);
      argv[1] = marker ();
    }

  return argv;
}

gboolean
launcher_engine_skip (const LauncherEngine *engine)
{
  const char *why = engine->unavailable ();

  if (why == NULL)
    return FALSE;

  g_test_skip (why);
  return TRUE;
}

/* The suites find the workers on their hosts: all of them are started and
 * kept, and a dead one is replaced at once, not when work wants it, as an
 * elastic pool would. */
void
launcher_keep_every_worker (PPool *pool)
{
  g_object_set (pool, "min-processes", p_pool_get_processes (pool), NULL);
}

PPool *
launcher_pool_new (const LauncherEngine *engine,
                   guint                 processes,
                   const char           *first_property,
                   ...)
{
  g_autoptr(PLauncher) launcher = engine->new_launcher ();
  g_autoptr(GError) error = NULL;
  PPool *pool;
  va_list args;

  pool = p_pool_new_with_launcher (processes, launcher_worker_argv (), launcher, &error);
  g_assert_no_error (error);

  launcher_keep_every_worker (pool);

  va_start (args, first_property);
  if (first_property != NULL)
    g_object_set_valist (G_OBJECT (pool), first_property, args);
  va_end (args);

  return pool;
}

char *
launcher_cmdline (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/cmdline", (int) pid);
  char *contents = NULL;
  gsize length;

  if (!g_file_get_contents (path, &contents, &length, NULL))
    return NULL;

  /* Arguments separated by spaces, to search. */
  for (gsize i = 0; i + 1 < length; i++)
    if (contents[i] == '\0')
      contents[i] = ' ';

  return contents;
}

static gboolean
is_zombie (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *stat = NULL;
  const char *end;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return TRUE;
  end = strrchr (stat, ')');

  return end == NULL || end[2] == 'Z' || end[2] == 'X';
}

static GArray *
find_processes (const char *exe,
                const char *comm)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (GPid));
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)))
    {
      g_autofree char *cmdline = NULL;
      g_autofree char *path = NULL;
      g_autofree char *contents = NULL;
      GPid pid;

      if (!g_ascii_isdigit (name[0]))
        continue;
      pid = atoi (name);
      if (pid == getpid () || is_zombie (pid))
        continue;

      cmdline = launcher_cmdline (pid);
      if (cmdline == NULL || strstr (cmdline, marker ()) == NULL)
        continue;

      if (exe != NULL)
        {
          path = g_strdup_printf ("/proc/%s/exe", name);
          contents = g_file_read_link (path, NULL);
          if (g_strcmp0 (contents, exe) != 0)
            continue;
        }
      else
        {
          path = g_strdup_printf ("/proc/%s/comm", name);
          if (!g_file_get_contents (path, &contents, NULL, NULL))
            continue;
          g_strstrip (contents);
          if (g_strcmp0 (contents, comm) != 0)
            continue;
        }

      g_array_append_val (pids, pid);
    }

  return pids;
}

/* The remote workers of this test, wherever they run: here. */
GArray *
launcher_find_workers (const LauncherEngine *engine)
{
  return find_processes (launcher_worker_argv ()[0], NULL);
}

/* The clients (ssh, srun) that run them: this process's children (srun
 * has one of its own). */
GArray *
launcher_find_clients (const LauncherEngine *engine)
{
  g_autoptr(GArray) children = test_list_children ();
  GArray *clients = find_processes (NULL, engine->client);

  for (guint i = clients->len; i-- > 0;)
    {
      gboolean child = FALSE;

      for (guint j = 0; j < children->len && !child; j++)
        child = g_array_index (children, GPid, j) == g_array_index (clients, GPid, i);
      if (!child)
        g_array_remove_index (clients, i);
    }

  return clients;
}

gboolean
launcher_wait_for_count (GArray              *(*find) (const LauncherEngine *),
                         const LauncherEngine *engine,
                         guint                 count,
                         gint64                timeout_usec)
{
  gint64 deadline = g_get_monotonic_time () + timeout_usec;

  for (;;)
    {
      g_autoptr(GArray) pids = find (engine);

      if (pids->len == count)
        return TRUE;
      if (g_get_monotonic_time () > deadline)
        {
          g_test_message ("%u processes, not %u", pids->len, count);
          return FALSE;
        }
      g_usleep (20000);
    }
}

gboolean
launcher_wait_gone (GPid   pid,
                    gint64 timeout_usec)
{
  gint64 deadline = g_get_monotonic_time () + timeout_usec;

  while (kill (pid, 0) == 0 && !is_zombie (pid))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_usleep (10000);
    }

  return TRUE;
}

/* No worker, no client of this test left, on any host. */
void
launcher_assert_nothing_left (const LauncherEngine *engine)
{
  g_assert_true (launcher_wait_for_count (launcher_find_workers, engine, 0, GONE_USEC));
  g_assert_true (launcher_wait_for_count (launcher_find_clients, engine, 0, GONE_USEC));
}

static gint64
remote_pid (PPool *pool)
{
  return apply_int64 (pool, "pid", 0);
}

/* Until @n workers answer: a map of many short tasks reaches every
 * worker that announced itself. */
static void
wait_until_serving (PPool *pool,
                    guint  n)
{
  gint64 deadline = g_get_monotonic_time () + GONE_USEC;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) pids = p_pool_map (pool, "pid", test_range_int64 (200), 1, NULL, &error);
      g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
      g_autofree gint64 *values = g_new (gint64, 200);

      g_assert_no_error (error);
      for (guint i = 0; i < 200; i++)
        {
          g_autoptr(GVariant) boxed = g_variant_get_child_value (pids, i);
          g_autoptr(GVariant) value = g_variant_get_variant (boxed);

          values[i] = g_variant_get_int64 (value);
          g_hash_table_add (seen, &values[i]);
        }

      if (g_hash_table_size (seen) >= n)
        return;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20000);
    }
}

static gboolean
is_remote_worker (gint64 pid)
{
  g_autoptr(GArray) workers = launcher_find_workers (NULL);

  for (guint i = 0; i < workers->len; i++)
    if (g_array_index (workers, GPid, i) == pid)
      return TRUE;

  return FALSE;
}

/* }}} */
/* {{{ What works as locally */

static void
test_apply_map (gconstpointer data)
{
  const LauncherEngine *engine = data;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) squares = NULL;
  g_autoptr(PMapIter) iter = NULL;
  g_autoptr(PMapIter) unordered = NULL;
  gint64 sum = 0;
  gint64 pid;

  if (launcher_engine_skip (engine))
    return;

  pool = launcher_pool_new (engine, 2, NULL);
  g_assert_cmpuint (p_pool_get_processes (pool), ==, 2);

  g_assert_cmpint (apply_int64 (pool, "square", 7), ==, 49);

  /* The worker is not this process's child: the engine started it. */
  pid = remote_pid (pool);
  g_assert_true (is_remote_worker (pid));
  g_assert_cmpuint (test_count_children (), >=, 2);

  squares = p_pool_map (pool, "square", test_range_int64 (100), 0, NULL, &error);
  g_assert_no_error (error);
  assert_squares (squares, 100);

  iter = p_pool_imap (pool, "square", test_range_int64 (20), 3, NULL);
  for (gint64 i = 0; i < 20; i++)
    {
      g_autoptr(GVariant) value = p_map_iter_next (iter, -1, &error);

      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int64 (value), ==, i * i);
    }

  unordered = p_pool_imap_unordered (pool, "square", test_range_int64 (20), 1, NULL);
  for (gint64 i = 0; i < 20; i++)
    {
      g_autoptr(GVariant) value = p_map_iter_next (unordered, -1, &error);

      g_assert_no_error (error);
      sum += g_variant_get_int64 (value);
    }
  g_assert_cmpint (sum, ==, 2470);

  /* A task's own error keeps its domain. */
  {
    g_autoptr(GVariant) value = p_pool_apply (pool, "fail",
                                              g_variant_new ("(sis)", "test-error-quark", 7, "seven"),
                                              NULL, &error);
    g_assert_error (error, TEST_ERROR, 7);
    g_clear_error (&error);
  }

  /* Its environment came on its command line, and is gone from what its
   * tasks see. */
  {
    g_autoptr(GVariant) value = p_pool_apply (pool, "getenv", g_variant_new_string ("PROCESSING_GLIB_CHANNEL"),
                                              NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (g_variant_get_string (value, NULL), ==, "");
  }

  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, &error));
  launcher_assert_nothing_left (engine);
}

/* Large values travel in the stream: no descriptor passes the link. */
static void
test_large_values (gconstpointer data)
{
  const LauncherEngine *engine = data;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(PPool) small = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) made = NULL;
  g_autoptr(GVariant) echoed = NULL;
  g_autoptr(GVariant) too_large = NULL;
  g_autofree guint8 *bytes = g_malloc (3 * 1024 * 1024);

  if (launcher_engine_skip (engine))
    return;

  pool = launcher_pool_new (engine, 1, NULL);

  made = p_pool_apply (pool, "make_bytes", g_variant_new_int64 (2 * 1024 * 1024 + 7), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_get_size (made), ==, 2 * 1024 * 1024 + 7);
  for (gsize i = 0; i < g_variant_get_size (made); i += 4099)
    g_assert_cmpuint (((const guint8 *) g_variant_get_data (made))[i], ==, i % 251);

  for (gsize i = 0; i < 3 * 1024 * 1024; i++)
    bytes[i] = (i * 7) % 256;
  echoed = p_pool_apply (pool, "echo",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, bytes, 3 * 1024 * 1024, 1),
                         NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_variant_get_data (echoed), g_variant_get_size (echoed), bytes, 3 * 1024 * 1024);

  /* The limit holds as locally. */
  {
    g_autoptr(PLauncher) launcher = engine->new_launcher ();

    small = g_initable_new (P_TYPE_POOL, NULL, &error,
                            "processes", 1, "worker-argv", launcher_worker_argv (),
                            "launcher", launcher, "max-message-size", (guint64) 65536, NULL);
    g_assert_no_error (error);
  }
  too_large = p_pool_apply (small, "make_bytes", g_variant_new_int64 (100000), NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);
  g_assert_cmpint (apply_int64 (small, "square", 3), ==, 9);

  p_pool_terminate (pool);
  p_pool_terminate (small);
  g_assert_true (p_pool_join (pool, NULL));
  g_assert_true (p_pool_join (small, NULL));
  launcher_assert_nothing_left (engine);
}

/* What a task prints reaches this process's standard error through the
 * client; the link is never the worse for it. */
static void
test_prints (gconstpointer data)
{
  const LauncherEngine *engine = data;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) seen = g_string_new (NULL);
  gint64 deadline;
  int saved_stderr;
  int fds[2];

  if (launcher_engine_skip (engine))
    return;

  g_assert_no_errno (pipe (fds));
  g_unix_set_fd_nonblocking (fds[0], TRUE, NULL);
  saved_stderr = dup (STDERR_FILENO);
  dup2 (fds[1], STDERR_FILENO);
  close (fds[1]);

  pool = launcher_pool_new (engine, 1, NULL);
  for (int round = 0; round < 3; round++)
    {
      g_autoptr(GVariant) value = p_pool_apply (pool, "print", g_variant_new_string ("noise"), NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (g_variant_get_string (value, NULL), ==, "noise");
      g_assert_cmpint (apply_int64 (pool, "square", round), ==, round * round);
    }

  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline &&
         (strstr (seen->str, "noise stdout 99") == NULL || strstr (seen->str, "noise stderr 99") == NULL))
    {
      char buffer[4096];
      gssize n = read (fds[0], buffer, sizeof buffer);

      if (n > 0)
        g_string_append_len (seen, buffer, n);
      else
        g_usleep (10000);
    }

  dup2 (saved_stderr, STDERR_FILENO);
  close (saved_stderr);
  close (fds[0]);

  g_assert_nonnull (strstr (seen->str, "noise stdout 99"));
  g_assert_nonnull (strstr (seen->str, "noise stderr 99"));

  p_pool_terminate (pool);
  g_assert_true (p_pool_join (pool, NULL));
  launcher_assert_nothing_left (engine);
}

static void
test_cancel (gconstpointer data)
{
  const LauncherEngine *engine = data;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) running_cancel = g_cancellable_new ();
  g_autoptr(GCancellable) queued_cancel = g_cancellable_new ();
  g_autoptr(PResult) running = NULL;
  g_autoptr(PResult) queued = NULL;
  g_autoptr(GVariant) value = NULL;
  gint64 pid, started;

  if (launcher_engine_skip (engine))
    return;

  pool = launcher_pool_new (engine, 1, NULL);
  pid = remote_pid (pool);

  running = p_pool_submit (pool, "wait_for_cancel", g_variant_new_int64 (20000), running_cancel);
  queued = p_pool_submit (pool, "square", g_variant_new_int64 (5), queued_cancel);
  g_usleep (100000);

  /* A queued task never runs... */
  g_cancellable_cancel (queued_cancel);
  value = p_result_get (queued, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  /* ...a running one sees its cancellable, at once... */
  started = g_get_monotonic_time ();
  g_cancellable_cancel (running_cancel);
  g_clear_pointer (&value, g_variant_unref);
  value = p_result_get (running, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_test_message ("took %.2f s", (g_get_monotonic_time () - started) / 1e6);

  /* ...and the worker lives on. */
  g_assert_cmpint (remote_pid (pool), ==, pid);

  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, NULL));
  launcher_assert_nothing_left (engine);
}

static void
test_task_timeout (gconstpointer data)
{
  const LauncherEngine *engine = data;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  gint64 pid, sleeper;

  if (launcher_engine_skip (engine))
    return;

  pool = launcher_pool_new (engine, 1, "task-timeout", (gint64) 500000, NULL);
  pid = remote_pid (pool);
  /* What its tasks started goes with it. */
  sleeper = apply_int64 (pool, "spawn_sleeper", 60);

  value = p_pool_apply (pool, "sleep_deaf", g_variant_new_int64 (30000), NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);

  g_assert_true (launcher_wait_gone (pid, GONE_USEC));
  g_assert_true (launcher_wait_gone (sleeper, GONE_USEC));

  /* A replacement serves. */
  g_assert_cmpint (apply_int64 (pool, "square", 4), ==, 16);
  g_assert_cmpint (remote_pid (pool), !=, pid);

  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, NULL));
  launcher_assert_nothing_left (engine);
}

static void
test_max_tasks_per_worker (gconstpointer data)
{
  const LauncherEngine *engine = data;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GHashTable) pids = g_hash_table_new (g_int64_hash, g_int64_equal);
  gint64 seen[6];

  if (launcher_engine_skip (engine))
    return;

  pool = launcher_pool_new (engine, 1, "max-tasks-per-worker", 2, NULL);

  for (int i = 0; i < 6; i++)
    {
      seen[i] = remote_pid (pool);
      g_hash_table_add (pids, &seen[i]);
    }

  g_assert_cmpuint (g_hash_table_size (pids), ==, 3);
  for (int i = 0; i < 6; i += 2)
    g_assert_cmpint (seen[i], ==, seen[i + 1]);

  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, NULL));
  launcher_assert_nothing_left (engine);
}

static void
test_shutdown_join (gconstpointer data)
{
  const LauncherEngine *engine = data;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  PResult *queued[6];

  if (launcher_engine_skip (engine))
    return;

  pool = launcher_pool_new (engine, 3, NULL);
  for (int i = 0; i < 6; i++)
    queued[i] = p_pool_submit (pool, "sleep", g_variant_new_int64 (100), NULL);

  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, &error));
  g_assert_no_error (error);

  for (int i = 0; i < 6; i++)
    {
      g_assert_true (p_result_ready (queued[i]));
      g_assert_true (p_result_successful (queued[i]));
      g_object_unref (queued[i]);
    }

  /* The clients are reaped, and exited after their workers did. */
  g_assert_cmpuint (test_count_children (), ==, 0);
  launcher_assert_nothing_left (engine);
}

static void
test_terminate (gconstpointer data)
{
  const LauncherEngine *engine = data;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  PResult *running[5];
  gint64 sleeper;

  if (launcher_engine_skip (engine))
    return;

  pool = launcher_pool_new (engine, 2, NULL);
  sleeper = apply_int64 (pool, "spawn_sleeper", 60);
  for (int i = 0; i < 5; i++)
    running[i] = p_pool_submit (pool, "sleep_deaf", g_variant_new_int64 (30000), NULL);
  g_usleep (200000);

  p_pool_terminate (pool);
  g_assert_true (p_pool_join (pool, &error));
  g_assert_no_error (error);

  assert_all_cancelled_and_unref (running, G_N_ELEMENTS (running));

  g_assert_cmpuint (test_count_children (), ==, 0);
  /* The deaf tasks' workers, and what one started, went with their links. */
  launcher_assert_nothing_left (engine);
  g_assert_true (launcher_wait_gone (sleeper, GONE_USEC));
}

/* Dropping the pool is terminating it. */
static void
test_unref (gconstpointer data)
{
  const LauncherEngine *engine = data;
  PPool *pool;

  if (launcher_engine_skip (engine))
    return;

  pool = launcher_pool_new (engine, 2, NULL);
  g_assert_cmpint (apply_int64 (pool, "square", 3), ==, 9);
  g_object_unref (p_pool_submit (pool, "sleep_deaf", g_variant_new_int64 (30000), NULL));
  g_object_unref (pool);

  g_assert_cmpuint (test_count_children (), ==, 0);
  launcher_assert_nothing_left (engine);
}

/* }}} */
/* {{{ Faults */

/* A remote worker killed mid-task fails that task only; what it had
 * not started runs elsewhere; a replacement starts. */
static void
test_worker_killed (gconstpointer data)
{
  const LauncherEngine *engine = data;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PResult) dying = NULL;
  g_autoptr(GArray) before = NULL;
  g_autoptr(GArray) after = NULL;
  PResult *others[20];
  gint64 pid;

  if (launcher_engine_skip (engine))
    return;

  pool = launcher_pool_new (engine, 2, NULL);
  g_assert_cmpint (apply_int64 (pool, "square", 2), ==, 4);
  g_assert_true (launcher_wait_for_count (launcher_find_workers, engine, 2, GONE_USEC));

  /* It kills itself, with tasks queued behind. */
  dying = p_pool_submit (pool, "die", g_variant_new_int32 (SIGKILL), NULL);
  for (int i = 0; i < 20; i++)
    others[i] = p_pool_submit (pool, "sleep", g_variant_new_int64 (10), NULL);

  g_clear_pointer (&error, g_error_free);
  {
    g_autoptr(GVariant) value = p_result_get (dying, -1, &error);
  }
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  for (int i = 0; i < 20; i++)
    {
      g_autoptr(GVariant) value = p_result_get (others[i], -1, &error);

      g_assert_no_error (error);
      g_object_unref (others[i]);
    }

  /* Killed from outside, while it runs a task. */
  wait_until_serving (pool, 2);
  before = launcher_find_workers (NULL);
  g_assert_cmpuint (before->len, ==, 2);
  for (int i = 0; i < 2; i++)
    others[i] = p_pool_submit (pool, "sleep_deaf", g_variant_new_int64 (1000), NULL);
  g_usleep (300000);
  pid = g_array_index (before, GPid, 0);
  g_assert_no_errno (kill (pid, SIGKILL));

  {
    guint died = 0;

    for (int i = 0; i < 2; i++)
      {
        g_autoptr(GVariant) value = p_result_get (others[i], -1, &error);

        if (error != NULL)
          {
            g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
            g_clear_error (&error);
            died++;
          }
        g_object_unref (others[i]);
      }
    g_assert_cmpuint (died, ==, 1);
  }

  /* Two again, one of them new. */
  g_assert_true (launcher_wait_for_count (launcher_find_workers, engine, 2, GONE_USEC));
  after = launcher_find_workers (NULL);
  g_assert_true (g_array_index (after, GPid, 0) != pid && g_array_index (after, GPid, 1) != pid);
  g_assert_cmpint (apply_int64 (pool, "square", 9), ==, 81);

  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, NULL));
  launcher_assert_nothing_left (engine);
}

/* The client killed: the same, and its remote worker exits. */
static void
test_client_killed (gconstpointer data)
{
  const LauncherEngine *engine = data;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) clients = NULL;
  g_autoptr(GArray) workers = NULL;
  PResult *running[4];
  guint died = 0;

  if (launcher_engine_skip (engine))
    return;

  pool = launcher_pool_new (engine, 2, NULL);
  wait_until_serving (pool, 2);
  workers = launcher_find_workers (NULL);

  for (int i = 0; i < 4; i++)
    running[i] = p_pool_submit (pool, "sleep_deaf", g_variant_new_int64 (1000), NULL);
  g_usleep (300000);

  clients = launcher_find_clients (engine);
  g_assert_cmpuint (clients->len, ==, 2);
  g_assert_no_errno (kill (g_array_index (clients, GPid, 0), SIGKILL));

  for (int i = 0; i < 4; i++)
    {
      g_autoptr(GVariant) value = p_result_get (running[i], -1, &error);

      if (error != NULL)
        {
          g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
          g_test_message ("%s", error->message);
          g_clear_error (&error);
          died++;
        }
      g_object_unref (running[i]);
    }
  g_assert_cmpuint (died, ==, 1);

  /* Its worker went with its link: of the two before, one is left. */
  {
    guint left = 0;
    gint64 deadline = g_get_monotonic_time () + GONE_USEC;

    do
      {
        left = 0;
        for (guint i = 0; i < workers->len; i++)
          left += !launcher_wait_gone (g_array_index (workers, GPid, i), 0);
      }
    while (left > 1 && g_get_monotonic_time () < deadline && (g_usleep (20000), TRUE));
    g_assert_cmpuint (left, ==, 1);
  }

  g_assert_true (launcher_wait_for_count (launcher_find_workers, engine, 2, GONE_USEC));
  g_assert_cmpint (apply_int64 (pool, "square", 9), ==, 81);

  p_pool_terminate (pool);
  g_assert_true (p_pool_join (pool, NULL));
  launcher_assert_nothing_left (engine);
}

/* }}} */

void
launcher_cases_add (const LauncherEngine *engine)
{
  static const struct {
    const char *name;
    GTestDataFunc func;
  } cases[] = {
    { "apply-map", test_apply_map },
    { "large-values", test_large_values },
    { "prints", test_prints },
    { "cancel", test_cancel },
    { "task-timeout", test_task_timeout },
    { "max-tasks-per-worker", test_max_tasks_per_worker },
    { "shutdown-join", test_shutdown_join },
    { "terminate", test_terminate },
    { "unref", test_unref },
    { "worker-killed", test_worker_killed },
    { "client-killed", test_client_killed },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/launcher/%s/%s", engine->name, cases[i].name);

      g_test_add_data_func (path, engine, cases[i].func);
    }
}
