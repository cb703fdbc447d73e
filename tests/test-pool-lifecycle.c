/* test-pool-lifecycle.c: a pool's life through the public API: shutdown, terminate, join, signals, workers that die or misbehave, what they inherit
 *
 * The test program is its own worker: pools re-execute it, and
 * test_functions_serve_if_requested() serves tests/test-functions.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-functions.h"

static void
test_shutdown (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  PResult *queued[6];
  g_autoptr(PResult) late = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(PMapIter) iter = NULL;

  for (int i = 0; i < 6; i++)
    queued[i] = p_pool_submit (pool, "sleep", g_variant_new_int64 (50), NULL);

  p_pool_shutdown (pool);

  /* New work is refused at once... */
  late = p_pool_submit (pool, "square", g_variant_new_int64 (2), NULL);
  value = p_result_get (late, 0, &error);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_CLOSED);
  g_clear_error (&error);
  value = p_pool_apply (pool, "square", g_variant_new_int64 (2), NULL, &error);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_CLOSED);
  g_clear_error (&error);
  iter = p_pool_imap (pool, "square", test_range_int64 (3), 0, NULL);
  g_assert_null (p_map_iter_next (iter, -1, &error));
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_CLOSED);
  g_clear_error (&error);

  /* ...what was queued finishes... */
  g_assert_true (p_pool_join (pool, &error));
  g_assert_no_error (error);
  for (int i = 0; i < 6; i++)
    {
      g_assert_true (p_result_ready (queued[i]));
      g_assert_true (p_result_successful (queued[i]));
      g_object_unref (queued[i]);
    }

  /* ...and no worker is left, not even a zombie. */
  g_assert_cmpuint (test_count_children (), ==, 0);

  /* Joining again, or shutting down again, is harmless. */
  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, &error));
}

static void
test_terminate (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  PResult *running[6];
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < 6; i++)
    running[i] = p_pool_submit (pool, "sleep_deaf", g_variant_new_int64 (5000), NULL);
  g_usleep (50000);

  /* The deaf tasks are not waited for. */
  p_pool_terminate (pool);
  g_assert_true (p_pool_join (pool, &error));
  g_assert_no_error (error);

  assert_all_cancelled_and_unref (running, G_N_ELEMENTS (running));

  g_assert_cmpuint (test_count_children (), ==, 0);
}

static void
test_join_running (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GError) error = NULL;

  g_assert_false (p_pool_join (pool, &error));
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_FAILED);
}

static void
test_unref_reaps (void)
{
  PPool *pool = new_pool_of_ready (3);
  g_autoptr(PResult) pending = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;

  g_assert_cmpint (apply_int64 (pool, "square", 2), ==, 4);
  g_assert_cmpuint (test_count_children (), ==, 3);

  /* Work nobody waits for is dropped with the pool... */
  g_object_unref (p_pool_submit (pool, "sleep_deaf", g_variant_new_int64 (5000), NULL));
  g_object_unref (pool);
  /* ...and the workers are reaped before unref returns. */
  g_assert_cmpuint (test_count_children (), ==, 0);

  /* A pending result keeps its pool alive. */
  pool = new_pool (1);
  pending = p_pool_submit (pool, "sleep", g_variant_new_int64 (100), NULL);
  g_object_unref (pool);
  value = p_result_get (pending, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 100);
}

static void
test_dropped_handles (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;

  /* Handles dropped while their replies arrive, some in the very moment
   * the pool thread completes them: nothing is lost or leaked, and what
   * is still held gets its value. */
  for (gint64 i = 0; i < 3000; i++)
    {
      PResult *result = p_pool_submit (pool, "square", g_variant_new_int64 (i), NULL);

      if (i % 10 == 0)
        g_ptr_array_add (kept, result);
      else
        g_object_unref (result);
    }

  for (guint i = 0; i < 50; i++)
    {
      g_autoptr(GVariant) items = g_variant_ref_sink (g_variant_new_parsed ("[@x 1, 2, 3, 4, 5, 6, 7, 8]"));
      g_autoptr(PMapIter) iter = p_pool_imap (pool, "square", items, 1, NULL);
      g_autoptr(GVariant) first = p_map_iter_next (iter, -1, &error);

      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int64 (first), ==, 1);
    }

  for (guint i = 0; i < kept->len; i++)
    {
      g_autoptr(GVariant) value = p_result_get (kept->pdata[i], -1, &error);

      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int64 (value), ==, (gint64) i * 10 * (gint64) i * 10);
    }

  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, &error));
  g_assert_no_error (error);
}

static void
count_signal (PPool    *pool,
              guint     pid,
              gpointer  user_data)
{
  GThread **thread = user_data;

  g_assert_true (*thread == g_thread_self ());
  g_assert_cmpuint (pid, >, 0);
  ((guint *) (thread + 1))[0]++;
}

static void
count_exit_signal (PPool    *pool,
                   guint     pid,
                   int       wait_status,
                   gpointer  user_data)
{
  GThread **thread = user_data;

  g_assert_true (*thread == g_thread_self ());
  ((guint *) (thread + 1))[1]++;
}

static void
count_start_any (PPool *pool, guint pid, gpointer user_data)
{
  if (user_data != NULL)
    (*(guint *) user_data)++;
}

/* By the time a caller sees the end of its work, the pool holds nothing of
 * the caller's: a caller that then drops the pool, holding a lock that
 * finalizing its objects takes (a binding's interpreter lock), must not
 * wait for the pool's thread to finalize one. */
static void
test_lets_go_of_cancellable (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  struct {
    const char *function;
    GVariant *args;
  } cases[] = {
    { "square", g_variant_new_int64 (3) },
    { "fail", g_variant_new ("(sis)", "test-error-quark", 1, "no") },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GCancellable *cancellable = g_cancellable_new ();
      g_autoptr(PResult) result = NULL;

      g_object_add_weak_pointer (G_OBJECT (cancellable), (gpointer *) &cancellable);
      result = p_pool_submit (pool, cases[i].function, cases[i].args, cancellable);
      g_object_unref (cancellable);

      g_assert_true (p_result_wait (result, -1));
      g_assert_null (cancellable);
    }

  /* A map's, and an imap's once its last item is in. */
  {
    GCancellable *cancellable = g_cancellable_new ();
    g_autoptr(GVariant) value = NULL;
    g_autoptr(GError) error = NULL;

    g_object_add_weak_pointer (G_OBJECT (cancellable), (gpointer *) &cancellable);
    value = p_pool_map (pool, "square", g_variant_new_parsed ("[@x 1, 2, 3]"), 1, cancellable, &error);
    g_assert_no_error (error);
    g_object_unref (cancellable);
    g_assert_null (cancellable);
  }
  {
    GCancellable *cancellable = g_cancellable_new ();
    g_autoptr(PMapIter) iter = NULL;
    g_autoptr(GError) error = NULL;
    GVariant *value;

    g_object_add_weak_pointer (G_OBJECT (cancellable), (gpointer *) &cancellable);
    iter = p_pool_imap (pool, "square", g_variant_new_parsed ("[@x 1, 2, 3]"), 1, cancellable);
    g_object_unref (cancellable);
    while ((value = p_map_iter_next (iter, -1, &error)) != NULL)
      g_variant_unref (value);
    g_assert_no_error (error);
    g_assert_null (cancellable);
  }
}

static void
test_signals (void)
{
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  struct { GThread *thread; guint counts[2]; } data = { g_thread_self (), { 0, 0 } };
  g_autoptr(GVariant) value = NULL;

  pool = g_initable_new (P_TYPE_POOL, NULL, &error, "processes", 2, "min-processes", 2, NULL);
  g_assert_no_error (error);
  /* Connected after the first workers started, but before this context
   * ran: their starts are seen too. */
  g_signal_connect (pool, "worker-started", G_CALLBACK (count_signal), &data);
  g_signal_connect (pool, "worker-exited", G_CALLBACK (count_exit_signal), &data);

  /* A death: one exit, one start of the replacement. */
  value = p_pool_apply (pool, "die", g_variant_new_int32 (SIGKILL), NULL, &error);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
  g_clear_error (&error);

  /* The replacement starts while the pool runs... */
  while (data.counts[1] < 1 || data.counts[0] < 1)
    g_main_context_iteration (NULL, TRUE);

  /* ...and the two workers exit when it shuts down. */
  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, NULL));

  while (data.counts[1] < 3)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpuint (data.counts[0], ==, 3);
  g_assert_cmpuint (data.counts[1], ==, 3);
}

static void
ignore_exit (PPool *pool, guint pid, int wait_status, gpointer user_data)
{
}

/* The last unref returns once the workers are reaped, also while the
 * pool's thread reports a worker's death to the signals' context. */
static void
test_signals_last_unref (void)
{
  for (guint round = 0; round < 20; round++)
    {
      PPool *pool = new_pool (1);
      g_autoptr(GVariant) value = NULL;
      g_autoptr(GError) error = NULL;

      g_signal_connect (pool, "worker-exited", G_CALLBACK (ignore_exit), NULL);
      g_signal_connect (pool, "worker-started", G_CALLBACK (count_start_any), NULL);

      value = p_pool_apply (pool, "die", g_variant_new_int32 (SIGKILL), NULL, &error);
      g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);

      g_object_unref (pool);
      g_assert_cmpuint (test_count_children (), ==, 0);
    }

  /* What was queued for the signals is let go with the pool. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* A pool made in a context that never runs: its signals wait there, a
 * bounded number, and nothing is left there once the pool is dropped. */
static void
test_signals_context_never_runs (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  PPool *pool;
  guint starts = 0;

  g_main_context_push_thread_default (context);
  pool = new_pool (1);
  g_signal_connect (pool, "worker-started", G_CALLBACK (count_start_any), &starts);

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GVariant) value = NULL;
      g_autoptr(GError) error = NULL;

      value = p_pool_apply (pool, "die", g_variant_new_int32 (SIGKILL), NULL, &error);
      g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
    }

  g_object_unref (pool);
  g_main_context_pop_thread_default (context);
  g_assert_cmpuint (test_count_children (), ==, 0);
  g_assert_cmpuint (starts, ==, 0);
  /* The signals were let go with the pool (their source held the pool's
   * core, which holds the context: a cycle while it never runs). */
  g_assert_false (g_main_context_pending (context));
}

static void
test_worker_killed_mid_task (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(PResult) victim = NULL;
  g_autoptr(PResult) next = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  gint64 pid;

  pid = apply_int64 (pool, "pid", 0);

  /* The victim runs; the next task waits in the worker's pipeline. */
  victim = p_pool_submit (pool, "sleep_deaf", g_variant_new_int64 (10000), NULL);
  next = p_pool_submit (pool, "square", g_variant_new_int64 (11), NULL);
  g_usleep (100000);

  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);

  value = p_result_get (victim, -1, &error);
  g_assert_null (value);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
  g_assert_nonnull (strstr (error->message, "signal 9"));
  g_clear_error (&error);

  /* The task it had not started runs on the replacement. */
  value = p_result_get (next, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 121);

  g_assert_cmpint (apply_int64 (pool, "pid", 0), !=, pid);
  g_assert_false (test_process_exists (pid));
}

static void
test_worker_exits_mid_task (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  value = p_pool_apply (pool, "exit", g_variant_new_int32 (3), NULL, &error);
  g_assert_null (value);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
  g_assert_nonnull (strstr (error->message, "status 3"));
  g_clear_error (&error);

  value = p_pool_apply (pool, "die", g_variant_new_int32 (SIGTERM), NULL, &error);
  g_assert_null (value);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
  g_assert_nonnull (strstr (error->message, "signal 15"));
  g_clear_error (&error);

  g_assert_cmpint (apply_int64 (pool, "square", 8), ==, 64);
}

static GVariant *
items_with_killer (gint64 n,
                   gint64 killer)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("ax"));

  for (gint64 i = 0; i < n; i++)
    g_variant_builder_add (&builder, "x", i == killer ? (gint64) -1 : i);

  return g_variant_builder_end (&builder);
}

static void
test_worker_dies_in_map (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(PMapIter) iter = NULL;

  /* A map fails with the death... */
  value = p_pool_map (pool, "square_or_die", items_with_killer (40, 17), 4, NULL, &error);
  g_assert_null (value);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
  g_clear_error (&error);

  /* ...an imap loses only the items of the chunk that was running. */
  iter = p_pool_imap (pool, "square_or_die", items_with_killer (40, 17), 4, NULL);
  for (gint64 i = 0; i < 40; i++)
    {
      g_autoptr(GVariant) v = p_map_iter_next (iter, -1, &error);

      if (i / 4 == 17 / 4)
        {
          g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
          g_clear_error (&error);
          continue;
        }

      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int64 (v), ==, i * i);
    }
  g_assert_null (p_map_iter_next (iter, -1, &error));
  g_assert_no_error (error);
}

static void
count_exits (PPool    *pool,
             guint     pid,
             int       wait_status,
             gpointer  user_data)
{
  (*(guint *) user_data)++;
}

/* One worker runs a long queue of quick tasks; one of them kills it. Every
 * task that finished before it still comes back, and the one that killed it
 * fails and kills no other worker: the worker never holds a finished
 * task's reply while it runs the next one. */
static void
test_worker_dies_behind_finished_tasks (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(PMapIter) iter = NULL;
  g_autoptr(GError) error = NULL;
  const gint64 n = 400, killer = 300;
  guint exits = 0;

  g_signal_connect (pool, "worker-exited", G_CALLBACK (count_exits), &exits);

  iter = p_pool_imap (pool, "square_or_die", items_with_killer (n, killer), 1, NULL);
  for (gint64 i = 0; i < n; i++)
    {
      g_autoptr(GVariant) v = p_map_iter_next (iter, -1, &error);

      if (i == killer)
        {
          g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
          g_clear_error (&error);
          continue;
        }

      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int64 (v), ==, i * i);
    }
  g_assert_null (p_map_iter_next (iter, -1, &error));
  g_assert_no_error (error);

  /* The exit was seen before the task failed; its signal is queued. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (exits, ==, 1);
}

static void
test_worker_exits_at_once (void)
{
  const char *argv[] = { "/bin/sh", "-c", "exit 3", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PPool) pool = p_pool_new (2, argv, &error);
  g_autoptr(GVariant) value = NULL;
  g_autoptr(PResult) result = NULL;

  /* Starting the command worked... */
  g_assert_no_error (error);

  /* ...but the workers never get ready: every task fails, clearly. */
  value = p_pool_apply (pool, "square", g_variant_new_int64 (2), NULL, &error);
  g_assert_null (value);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START);
  g_assert_nonnull (strstr (error->message, "/bin/sh"));
  g_assert_nonnull (strstr (error->message, "status 3"));
  g_clear_error (&error);

  /* And new ones fail at once. */
  result = p_pool_submit (pool, "square", g_variant_new_int64 (2), NULL);
  value = p_result_get (result, 0, &error);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START);
  g_clear_error (&error);

  p_pool_terminate (pool);
  g_assert_true (p_pool_join (pool, NULL));
  g_assert_cmpuint (test_count_children (), ==, 0);
}

static void
test_worker_writes_garbage (void)
{
  const char *argv[] = { "/bin/sh", "-c", "echo this is not a frame >&3; sleep 30", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PPool) pool = p_pool_new (1, argv, &error);
  g_autoptr(GVariant) value = NULL;

  g_assert_no_error (error);

  value = p_pool_apply (pool, "square", g_variant_new_int64 (2), NULL, &error);
  g_assert_null (value);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START);
  g_assert_nonnull (strstr (error->message, "protocol"));
}

static void
test_worker_silent (void)
{
  /* A command that never speaks and never exits is not waited for by
   * terminate. */
  const char *argv[] = { "/bin/sleep", "60", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PPool) pool = p_pool_new (2, argv, &error);
  g_autoptr(PResult) result = NULL;

  g_assert_no_error (error);
  result = p_pool_submit (pool, "square", g_variant_new_int64 (2), NULL);
  g_assert_false (p_result_wait (result, 100000));

  p_pool_terminate (pool);
  g_assert_true (p_pool_join (pool, NULL));
  g_assert_true (p_result_ready (result));
  g_assert_cmpuint (test_count_children (), ==, 0);
}

static void
test_worker_output (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(PPool) pool = new_pool (2);
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) squares = NULL;
      g_autoptr(GVariant) printed = p_pool_apply (pool, "print", g_variant_new_string ("hello"), NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (g_variant_get_string (printed, NULL), ==, "hello");

      /* The channel is intact after all that printing. */
      squares = p_pool_map (pool, "square", test_range_int64 (100), 0, NULL, &error);
      g_assert_no_error (error);
      assert_squares (squares, 100);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*hello stdout 0\n*hello stdout 99\n*");
  g_test_trap_assert_stderr ("*hello stderr 0\n*hello stderr 99\n*");
}

static void
test_no_fd_leak (void)
{
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GVariant) fds = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *channel = NULL;
  GVariantIter iter;
  const char *target;
  int leaky[2];
  int fd;

  /* Descriptors the pool's process has without O_CLOEXEC... */
  g_assert_cmpint (pipe (leaky), ==, 0);

  pool = new_pool (1);
  fds = p_pool_apply (pool, "list_fds", NULL, NULL, &error);
  g_assert_no_error (error);

  g_variant_iter_init (&iter, fds);
  while (g_variant_iter_next (&iter, "{i&s}", &fd, &target))
    if (fd == 3)
      channel = g_strdup (target);
  g_assert_nonnull (channel);
  g_assert_true (g_str_has_prefix (channel, "socket:"));

  /* ...reach no worker: it has stdio, the channel (and a duplicate of it
   * for its writer), and the directory it was listing. */
  g_variant_iter_init (&iter, fds);
  while (g_variant_iter_next (&iter, "{i&s}", &fd, &target))
    {
      if (fd <= 3)
        continue;
      if (g_str_equal (target, channel))
        continue;
      if (g_str_has_prefix (target, "/proc/"))
        continue;
      /* GLib's own wake-up descriptors in the worker. */
      if (g_str_equal (target, "anon_inode:[eventfd]") || g_str_equal (target, "anon_inode:[timerfd]"))
        continue;
      g_error ("descriptor %d (%s) leaked into the worker", fd, target);
    }

  close (leaky[0]);
  close (leaky[1]);
}

int
main (int   argc,
      char *argv[])
{
  test_functions_serve_if_requested ();

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pool/lifecycle/shutdown", test_shutdown);
  g_test_add_func ("/pool/lifecycle/terminate", test_terminate);
  g_test_add_func ("/pool/lifecycle/join-running", test_join_running);
  g_test_add_func ("/pool/lifecycle/unref-reaps", test_unref_reaps);
  g_test_add_func ("/pool/lifecycle/dropped-handles", test_dropped_handles);
  g_test_add_func ("/pool/lifecycle/lets-go-of-cancellable", test_lets_go_of_cancellable);
  g_test_add_func ("/pool/lifecycle/signals", test_signals);
  g_test_add_func ("/pool/lifecycle/signals-last-unref", test_signals_last_unref);
  g_test_add_func ("/pool/lifecycle/signals-context-never-runs", test_signals_context_never_runs);
  g_test_add_func ("/pool/death/killed-mid-task", test_worker_killed_mid_task);
  g_test_add_func ("/pool/death/exits-mid-task", test_worker_exits_mid_task);
  g_test_add_func ("/pool/death/in-map", test_worker_dies_in_map);
  g_test_add_func ("/pool/death/behind-finished-tasks", test_worker_dies_behind_finished_tasks);
  g_test_add_func ("/pool/bad-worker/exits-at-once", test_worker_exits_at_once);
  g_test_add_func ("/pool/bad-worker/writes-garbage", test_worker_writes_garbage);
  g_test_add_func ("/pool/bad-worker/silent", test_worker_silent);
  g_test_add_func ("/pool/inherit/output", test_worker_output);
  g_test_add_func ("/pool/inherit/no-fd-leak", test_no_fd_leak);

  return g_test_run ();
}
