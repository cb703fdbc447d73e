/* test-robustness.c: cancelling running tasks, time-outs, retiring
 * workers, crash loops, hostile workers, and a pool that is killed
 *
 * The test program is its own worker (tests/test-functions.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-functions.h"
#include "p-message-writer-private.h"
#include "p-protocol-private.h"

/* Properties as for g_object_new(). */
static PPool *
new_pool_with (const char  *first_property,
               ...)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PPool) pool = NULL;
  va_list args;

  va_start (args, first_property);
  pool = (PPool *) g_initable_new_valist (P_TYPE_POOL, first_property, args, NULL, &error);
  va_end (args);
  g_assert_no_error (error);

  return g_steal_pointer (&pool);
}

static gint64
worker_pid (PPool *pool)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) pid = p_pool_apply (pool, "pid", NULL, NULL, &error);

  g_assert_no_error (error);
  return g_variant_get_int64 (pid);
}

/* Alive and not a zombie. */
static gboolean
process_is_running (gint64 pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%" G_GINT64_FORMAT "/stat", pid);
  g_autofree char *stat = NULL;
  const char *state;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;

  state = strrchr (stat, ')');
  return state != NULL && state[1] == ' ' && state[2] != 'Z' && state[2] != 'X';
}

/* Waits (by polling, for at most @seconds) until @pid is gone. */
static gboolean
wait_until_gone (gint64 pid,
                 guint  seconds)
{
  for (guint i = 0; i < seconds * 100; i++)
    {
      if (!process_is_running (pid))
        return TRUE;
      g_usleep (10000);
    }

  return FALSE;
}

/* {{{ Cancelling a running task */

static void
test_cancel_running_cooperative (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  gint64 pid = worker_pid (pool);

  /* A long grace period: the worker must survive because the task
   * returned, not because nobody got round to killing it. */
  g_object_set (pool, "cancel-grace-period", (gint64) 60 * G_USEC_PER_SEC, NULL);

  result = p_pool_submit (pool, "wait_for_cancel", g_variant_new_int64 (60000), cancellable);
  g_usleep (100000);
  g_cancellable_cancel (cancellable);

  value = p_result_get (result, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* The task saw its cancellable and returned: the same worker goes on. */
  g_assert_cmpint (worker_pid (pool), ==, pid);
}

static void
test_cancel_running_deaf (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PResult) result = NULL;
  g_autoptr(PResult) queued = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  gint64 pid = worker_pid (pool);

  g_object_set (pool, "cancel-grace-period", (gint64) 200000, NULL);

  result = p_pool_submit (pool, "sleep_deaf", g_variant_new_int64 (60000), cancellable);
  queued = p_pool_submit (pool, "square", g_variant_new_int64 (12), NULL);
  g_usleep (100000);
  g_cancellable_cancel (cancellable);

  /* At once, whatever the task does... */
  value = p_result_get (result, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (p_result_ready (queued) && !p_result_successful (queued));

  /* ...and the task that ignores it is killed with its worker, which is
   * replaced; what was queued behind it runs. */
  value = p_result_get (queued, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 144);
  g_assert_true (wait_until_gone (pid, 10));
  g_assert_cmpint (worker_pid (pool), !=, pid);
}

static void
test_cancel_running_map (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PResult) map = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) items = NULL;
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("ax"));
  gint64 pids[2];
  g_autoptr(GVariant) both = NULL;

  g_object_set (pool, "cancel-grace-period", (gint64) 60 * G_USEC_PER_SEC, NULL);

  for (int i = 0; i < 20; i++)
    g_variant_builder_add (&builder, "x", (gint64) 60000);
  items = g_variant_ref_sink (g_variant_builder_end (&builder));

  map = p_pool_submit_map (pool, "wait_for_cancel", items, 1, cancellable);
  g_usleep (100000);
  g_cancellable_cancel (cancellable);

  value = p_result_get (map, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  /* Both running chunks stopped, the rest were dropped: both workers are
   * free at once. */
  both = p_pool_map (pool, "sleep", g_variant_new_parsed ("[@x 200, 200]"), 1, NULL, &error);
  g_assert_no_error (error);
  pids[0] = worker_pid (pool);
  pids[1] = worker_pid (pool);
  g_assert_true (process_is_running (pids[0]) && process_is_running (pids[1]));
}

static void
test_cancel_running_imap (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PMapIter) iter = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("ax"));

  g_variant_builder_add (&builder, "x", (gint64) 1);
  for (int i = 0; i < 20; i++)
    g_variant_builder_add (&builder, "x", (gint64) 60000);

  iter = p_pool_imap (pool, "wait_for_cancel", g_variant_builder_end (&builder), 1, cancellable);

  /* The first item fails by itself ("never cancelled")... */
  value = p_map_iter_next (iter, -1, &error);
  g_assert_error (error, TEST_ERROR, 1);
  g_clear_error (&error);

  /* ...the others are cancelled: the error once, then the end. */
  g_cancellable_cancel (cancellable);
  value = p_map_iter_next (iter, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  value = p_map_iter_next (iter, -1, &error);
  g_assert_no_error (error);
  g_assert_null (value);

  g_assert_cmpint (worker_pid (pool), >, 0);
}

/* }}} */
/* {{{ Time-outs */

static void
test_task_timeout (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(PResult) slow = NULL;
  g_autoptr(PResult) behind = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  gint64 pid = worker_pid (pool);
  gint64 timeout;

  g_object_set (pool, "task-timeout", (gint64) 300000, NULL);
  g_object_get (pool, "task-timeout", &timeout, NULL);
  g_assert_cmpint (timeout, ==, 300000);

  slow = p_pool_submit (pool, "sleep_deaf", g_variant_new_int64 (60000), NULL);
  behind = p_pool_submit (pool, "square", g_variant_new_int64 (5), NULL);

  value = p_result_get (slow, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (error->message, "sleep_deaf"));
  g_clear_error (&error);

  /* The worker was killed and replaced; what waited behind runs. */
  value = p_result_get (behind, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 25);
  g_assert_true (wait_until_gone (pid, 10));
}

static void
test_task_timeout_counts_from_start (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  PResult *results[4];
  g_autoptr(GError) error = NULL;

  /* Four tasks of 150 ms on one worker: the last waits 450 ms in all,
   * but runs 150 ms, well within 400 ms. */
  g_object_set (pool, "task-timeout", (gint64) 400000, NULL);
  for (int i = 0; i < 4; i++)
    results[i] = p_pool_submit (pool, "sleep", g_variant_new_int64 (150), NULL);

  for (int i = 0; i < 4; i++)
    {
      g_autoptr(GVariant) value = p_result_get (results[i], -1, &error);

      g_assert_no_error (error);
      g_object_unref (results[i]);
    }
}

static void
test_task_timeout_map (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;

  g_object_set (pool, "task-timeout", (gint64) 300000, NULL);

  /* The limit is per item: a chunk of short items passes... */
  value = p_pool_map (pool, "sleep", g_variant_new_parsed ("[@x 100, 100, 100, 100, 100]"), 5, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&value, g_variant_unref);

  /* ...one that hangs does not. */
  value = p_pool_map (pool, "sleep_deaf", g_variant_new_parsed ("[@x 10, 60000, 10]"), 3, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
}

/* }}} */
/* {{{ Retiring workers */

static void
test_max_tasks_per_worker (void)
{
  g_autoptr(PPool) pool = new_pool_with ("processes", 1, "max-tasks-per-worker", 3, NULL);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  gint64 pids[10];
  guint max;

  g_object_get (pool, "max-tasks-per-worker", &max, NULL);
  g_assert_cmpuint (max, ==, 3);

  for (int i = 0; i < 10; i++)
    {
      pids[i] = worker_pid (pool);
      g_hash_table_add (seen, &pids[i]);
    }

  /* Three tasks each, then a new worker. */
  g_assert_cmpuint (g_hash_table_size (seen), ==, 4);
  for (int i = 0; i < 10; i++)
    g_assert_cmpint (pids[i], ==, pids[i - i % 3]);

  /* Retired gracefully: gone, and reaped. */
  for (int i = 0; i < 9; i += 3)
    g_assert_true (wait_until_gone (pids[i], 10));
}

static void
test_max_tasks_per_worker_busy (void)
{
  g_autoptr(PPool) pool = new_pool_with ("processes", 2, "max-tasks-per-worker", 5, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) squares = NULL;

  /* 200 tasks through workers that retire every 5: nothing is lost. */
  squares = p_pool_map (pool, "square", test_range_int64 (200), 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (squares), ==, 200);
  for (gsize i = 0; i < 200; i++)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (squares, i);
      g_autoptr(GVariant) value = g_variant_get_variant (boxed);

      g_assert_cmpint (g_variant_get_int64 (value), ==, (gint64) (i * i));
    }

  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, NULL));
  g_assert_cmpuint (test_count_children (), ==, 0);
}

/* }}} */
/* {{{ Crash loops */

static void
count_start (PPool *pool, guint pid, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_crash_loop_backs_off (void)
{
  const char *argv[] = { "/bin/sh", "-c", "exit 7", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(PResult) result = NULL;
  g_autoptr(GVariant) value = NULL;
  guint starts = 0;
  gint64 end;

  pool = p_pool_new (2, argv, &error);
  g_assert_no_error (error);
  g_signal_connect (pool, "worker-started", G_CALLBACK (count_start), &starts);

  /* Tasks fail, naming the cause... */
  value = p_pool_apply (pool, "square", g_variant_new_int64 (1), NULL, &error);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START);
  g_assert_nonnull (strstr (error->message, "/bin/sh"));
  g_assert_nonnull (strstr (error->message, "status 7"));
  g_clear_error (&error);

  /* ...and over 1.5 s the pool does not spin: without a back-off it would
   * start thousands of workers. */
  end = g_get_monotonic_time () + 1500000;
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  g_assert_cmpuint (starts, <, 20);

  /* New tasks fail at once while it lasts. */
  result = p_pool_submit (pool, "square", g_variant_new_int64 (1), NULL);
  g_assert_true (p_result_ready (result));
  g_assert_false (p_result_successful (result));
}

static void
test_crash_loop_recovers (void)
{
  g_autofree char *marker = g_build_filename (g_get_tmp_dir (), "processing-glib-test-XXXXXX", NULL);
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *script = NULL;
  const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GVariant) value = NULL;
  int fd = g_mkstemp (marker);

  close (fd);
  g_unlink (marker);

  /* Dies at once until the marker exists, then is a real worker. */
  script = g_strdup_printf ("test -e '%s' || exit 3; exec '%s'", marker, self);
  argv[2] = script;

  pool = p_pool_new (1, argv, &error);
  g_assert_no_error (error);

  value = p_pool_apply (pool, "square", g_variant_new_int64 (3), NULL, &error);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START);
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (marker, "", 0, NULL));

  /* Once a worker starts, tasks run again (the back-off is at most a few
   * seconds). */
  for (guint attempt = 0; attempt < 200; attempt++)
    {
      g_clear_pointer (&value, g_variant_unref);
      g_clear_error (&error);
      value = p_pool_apply (pool, "square", g_variant_new_int64 (3), NULL, &error);
      if (value != NULL)
        break;
      g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START);
      g_usleep (50000);
    }

  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 9);
  g_unlink (marker);
}

/* One worker starts, every other one dies as it starts: the ready one
 * serves the work while the pool keeps trying the others. */
static void
test_crash_loop_beside_ready_worker (void)
{
  g_autofree char *marker = g_build_filename (g_get_tmp_dir (), "processing-glib-test-XXXXXX", NULL);
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *script = NULL;
  const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GVariant) value = NULL;
  guint starts = 0;
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  g_assert_nonnull (g_mkdtemp (marker));
  g_rmdir (marker);

  /* The first is a real worker (mkdir is atomic: only one makes it); the
   * others exit at once. */
  script = g_strdup_printf ("mkdir '%s' 2>/dev/null || exit 3; exec '%s'", marker, self);
  argv[2] = script;

  pool = g_initable_new (P_TYPE_POOL, NULL, &error,
                         "processes", 2, "min-processes", 2, "worker-argv", argv, NULL);
  g_assert_no_error (error);
  g_signal_connect (pool, "worker-started", G_CALLBACK (count_start), &starts);

  /* More start failures than the pool tolerates before it fails work
   * while no worker takes it (five; the first and the failures). */
  while (starts < 7 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  g_assert_cmpuint (starts, >=, 7);

  value = p_pool_apply (pool, "square", g_variant_new_int64 (3), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 9);

  p_pool_terminate (pool);
  g_assert_true (p_pool_join (pool, NULL));
  g_rmdir (marker);
}

/* {{{ Errors a channel cannot carry as they are */

static GVariant *
raw_error_args (const char *domain,
                gint32      code,
                const char *message)
{
  return g_variant_new ("(^ayi^ay)", domain, code, message);
}

/* A domain the pool would refuse from a worker (see docs/protocol.md):
 * the task fails with P_POOL_ERROR_FAILED naming it, and the worker, which
 * did nothing wrong, stays. */
static void
test_error_domain_not_sendable (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) items = NULL;
  gint64 pid = worker_pid (pool);

  value = p_pool_apply (pool, "fail_raw", raw_error_args ("My App/Error", 42, "it failed"), NULL, &error);
  g_assert_null (value);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "it failed"));
  g_assert_nonnull (strstr (error->message, "My App/Error"));
  g_assert_nonnull (strstr (error->message, "42"));
  g_clear_error (&error);

  /* The same in a map's chunk. */
  items = g_variant_ref_sink (g_variant_new_array (NULL, (GVariant *[]) { raw_error_args ("a b", 1, "x") }, 1));
  value = p_pool_map (pool, "fail_raw", items, 1, NULL, &error);
  g_assert_null (value);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_FAILED);
  g_clear_error (&error);

  g_assert_cmpint (worker_pid (pool), ==, pid);
}

/* A message that is not UTF-8 keeps its domain and code, and as much of
 * its text as is valid. */
static void
test_error_message_not_utf8 (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  gint64 pid = worker_pid (pool);

  value = p_pool_apply (pool, "fail_raw", raw_error_args ("test-error-quark", 7, "caf\xe9 au lait"), NULL, &error);
  g_assert_null (value);
  g_assert_error (error, g_quark_from_static_string ("test-error-quark"), 7);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_true (g_str_has_prefix (error->message, "caf"));
  g_assert_true (g_str_has_suffix (error->message, " au lait"));
  g_assert_cmpint (worker_pid (pool), ==, pid);
}

/* A message longer than a frame may be is cut, never left unsent (the
 * caller would wait for ever) nor sent from nothing. */
static void
test_error_message_too_long (void)
{
  g_autoptr(PPool) pool = new_pool_with ("processes", 1, "max-message-size", (guint64) 64 * 1024, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autofree char *message = g_strnfill (100 * 1024, 'e');
  gint64 pid = worker_pid (pool);

  value = p_pool_apply (pool, "fail_long", g_variant_new_int64 (100 * 1024), NULL, &error);
  g_assert_null (value);
  g_assert_error (error, g_quark_from_static_string ("test-error-quark"), 3);
  g_assert_cmpuint (strlen (error->message), >, 0);
  g_assert_cmpuint (strlen (error->message), <, 64 * 1024);
  g_assert_true (g_str_has_prefix (message, error->message));
  g_assert_cmpint (worker_pid (pool), ==, pid);
}

/* }}} */
/* }}} */
/* {{{ Hostile workers */

static void
test_hostile_worker (gconstpointer data)
{
  const char *mode = data;
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  gint64 pid = worker_pid (pool);

  value = p_pool_apply (pool, "misbehave", g_variant_new_string (mode), NULL, &error);
  g_assert_null (value);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL);
  g_test_message ("%s: %s", mode, error->message);
  g_clear_error (&error);

  /* Replaced. */
  g_assert_true (wait_until_gone (pid, 10));
  g_assert_cmpint (worker_pid (pool), !=, pid);
}

/* A worker that announces protocol version @version, serving nothing,
 * after @delay, and waits. */
static PPool *
new_pool_of_version_after (guint32     version,
                           const char *delay)
{
  g_autofree char *script = g_strdup_printf ("sleep %s; printf '\\020\\0\\0\\0\\020\\0\\0\\0\\%03o\\0\\0\\0"
                                             "\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0' >&3; sleep 60",
                                             delay, version);
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  g_autoptr(GError) error = NULL;
  PPool *pool = p_pool_new (1, argv, &error);

  g_assert_no_error (error);
  return pool;
}

static PPool *
new_pool_of_version (guint32 version)
{
  return new_pool_of_version_after (version, "0");
}

/* A task for a function no worker serves fails as such even when it was
 * submitted before any worker said what it serves: it is not sent to a
 * worker that cannot run it (this one would never answer). */
static void
test_task_before_hello (void)
{
  g_autoptr(PPool) pool = new_pool_of_version_after (2, "0.5");
  g_autoptr(PResult) early = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  early = p_pool_submit (pool, "square", g_variant_new_int64 (2), NULL);
  value = p_result_get (early, -1, &error);
  g_assert_null (value);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_UNKNOWN_FUNCTION);
}

static void
test_hello_versions (void)
{
  g_autoptr(PPool) old_pool = new_pool_of_version (1);
  g_autoptr(PPool) future_pool = new_pool_of_version (P_PROTOCOL_VERSION + 1);
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *future = g_strdup_printf ("protocol version %u", P_PROTOCOL_VERSION + 1);

  /* Version 1 is still spoken: its HELLO is taken, and the function list
   * it gave (none) is what tasks are checked against. */
  value = p_pool_apply (old_pool, "square", g_variant_new_int64 (2), NULL, &error);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_UNKNOWN_FUNCTION);
  g_clear_error (&error);

  /* A version it does not know is a worker that cannot start. */
  value = p_pool_apply (future_pool, "square", g_variant_new_int64 (2), NULL, &error);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, future));
}

/* A worker that writes @frames (HELLO, FEATURES, …) at once, then waits;
 * @path keeps them meanwhile. */
static PPool *
new_pool_announcing (GBytes  *frames,
                     char   **path)
{
  g_autofree char *script = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
  int fd = g_file_open_tmp ("announce-XXXXXX", path, &error);
  PPool *pool;

  g_assert_no_error (error);
  g_assert_cmpint (write (fd, g_bytes_get_data (frames, NULL), g_bytes_get_size (frames)), ==,
                   (gssize) g_bytes_get_size (frames));
  close (fd);

  script = g_strdup_printf ("cat '%s' >&3; sleep 60", *path);
  argv[2] = script;
  pool = p_pool_new (1, argv, &error);
  g_assert_no_error (error);

  return pool;
}

static GBytes *
hello_frame (guint32              version,
             const char * const  *functions)
{
  return p_message_encode (P_MESSAGE_HELLO, g_variant_new ("(ux^as)", version, (gint64) 1, functions),
                           P_DEFAULT_MAX_MESSAGE_SIZE, NULL);
}

static GBytes *
features_frame (GVariant *features)
{
  return p_message_encode (P_MESSAGE_FEATURES, g_variant_new_tuple (&features, 1),
                           P_DEFAULT_MAX_MESSAGE_SIZE, NULL);
}

static GBytes *
concat (GBytes *first,
        GBytes *second)
{
  g_autoptr(GByteArray) both = g_byte_array_new ();

  g_byte_array_append (both, g_bytes_get_data (first, NULL), g_bytes_get_size (first));
  g_byte_array_append (both, g_bytes_get_data (second, NULL), g_bytes_get_size (second));
  g_bytes_unref (first);
  g_bytes_unref (second);

  return g_byte_array_free_to_bytes (g_steal_pointer (&both));
}

/* From version 4, FEATURES follows HELLO, once: anywhere else it is a
 * worker that cannot start. Keys the pool does not know are let be. */
static void
test_features (void)
{
  const char * const none[] = { NULL };
  const char * const square[] = { "square", NULL };
  struct {
    GBytes *frames;
    GQuark domain;
    int code;
    const char *says;
  } cases[] = {
    /* A version-3 worker has none to send. */
    { concat (hello_frame (3, square), features_frame (g_variant_new_parsed ("@a{sv} {}"))),
      P_POOL_ERROR, P_POOL_ERROR_WORKER_START, "FEATURES out of turn" },
    /* Before HELLO. */
    { concat (features_frame (g_variant_new_parsed ("@a{sv} {}")), hello_frame (4, square)),
      P_POOL_ERROR, P_POOL_ERROR_WORKER_START, "FEATURES out of turn" },
    /* A key of a later version: taken, and the worker serves (nothing). */
    { concat (hello_frame (4, none),
              features_frame (g_variant_new_parsed ("{'descriptors': <false>, 'from-the-future': <42>}"))),
      P_POOL_ERROR, P_POOL_ERROR_UNKNOWN_FUNCTION, "square" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = NULL;
      g_autoptr(PPool) pool = new_pool_announcing (cases[i].frames, &path);
      g_autoptr(GVariant) value = NULL;
      g_autoptr(GError) error = NULL;

      value = p_pool_apply (pool, "square", g_variant_new_int64 (2), NULL, &error);
      g_assert_error (error, cases[i].domain, cases[i].code);
      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, error->message);
      g_assert_nonnull (strstr (error->message, cases[i].says));

      g_bytes_unref (cases[i].frames);
      g_unlink (path);
    }
}

static void
test_frame_limit (void)
{
  g_autoptr(PPool) pool = new_pool_with ("processes", 1, "max-message-size", (guint64) 64 * 1024, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autofree guint8 *data = g_malloc0 (100 * 1024);
  guint64 limit;

  g_object_get (pool, "max-message-size", &limit, NULL);
  g_assert_cmpuint (limit, ==, 64 * 1024);

  value = p_pool_apply (pool, "echo", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, 100 * 1024, 1), NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);

  /* The worker knows the limit too. */
  value = p_pool_apply (pool, "make_bytes", g_variant_new_int64 (100 * 1024), NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);

  value = p_pool_apply (pool, "make_bytes", g_variant_new_int64(60 * 1024), NULL, &error);
  g_assert_no_error (error);
}

/* }}} */
/* {{{ A pool that is killed */

/* Run in a child: a pool whose worker pids are printed, then a wait to
 * be killed. */
static void
hold_pool_and_wait (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GVariant) pids = NULL;
  g_autoptr(GError) error = NULL;

  /* Make sure both workers are up: two tasks at once. */
  pids = p_pool_map (pool, "sleep", g_variant_new_parsed ("[@x 100, 100]"), 1, NULL, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 2; i++)
    g_print ("%" G_GINT64_FORMAT "\n", worker_pid (pool));
  g_print ("ready\n");

  for (;;)
    pause ();
}

static void
test_pool_killed (void)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autoptr(GSubprocess) holder = NULL;
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GHashTable) pids = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GError) error = NULL;
  gint64 seen[8];
  guint n_seen = 0;
  char *line;

  g_subprocess_launcher_setenv (launcher, "TEST_HOLD_POOL", "1", TRUE);
  holder = g_subprocess_launcher_spawn (launcher, &error, self, NULL);
  g_assert_no_error (error);

  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (holder));
  while ((line = g_data_input_stream_read_line (lines, NULL, NULL, &error)))
    {
      gboolean ready = g_str_equal (line, "ready");

      if (!ready && n_seen < G_N_ELEMENTS (seen))
        seen[n_seen++] = g_ascii_strtoll (line, NULL, 10);
      g_free (line);
      if (ready)
        break;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (n_seen, >=, 1);

  /* No chance to clean up... */
  g_subprocess_send_signal (holder, SIGKILL);
  g_subprocess_wait (holder, NULL, &error);
  g_assert_no_error (error);

  /* ...and still the workers go. */
  for (guint i = 0; i < n_seen; i++)
    g_assert_true (wait_until_gone (seen[i], 10));
}

/* }}} */

int
main (int   argc,
      char *argv[])
{
  const char *hostile_modes[] = {
    "oversize", "unknown-kind", "pool-kind", "wrong-type", "not-normal",
    "bad-padding", "unknown-id", "hello-again", "random", "truncated",
    "sealed-no-fd", "sealed-unsealed", "sealed-beyond", "sealed-bad-type", "sealed-misaligned", "sealed-wrong-kind",
    "fd-flood",
  };

  test_functions_serve_if_requested ();

  if (g_getenv ("TEST_HOLD_POOL") != NULL)
    {
      g_unsetenv ("TEST_HOLD_POOL");
      hold_pool_and_wait ();
    }

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/robustness/cancel/running-cooperative", test_cancel_running_cooperative);
  g_test_add_func ("/robustness/cancel/running-deaf", test_cancel_running_deaf);
  g_test_add_func ("/robustness/cancel/running-map", test_cancel_running_map);
  g_test_add_func ("/robustness/cancel/running-imap", test_cancel_running_imap);
  g_test_add_func ("/robustness/timeout/task", test_task_timeout);
  g_test_add_func ("/robustness/timeout/from-start", test_task_timeout_counts_from_start);
  g_test_add_func ("/robustness/timeout/map", test_task_timeout_map);
  g_test_add_func ("/robustness/retire/max-tasks", test_max_tasks_per_worker);
  g_test_add_func ("/robustness/retire/busy", test_max_tasks_per_worker_busy);
  g_test_add_func ("/robustness/crash-loop/backs-off", test_crash_loop_backs_off);
  g_test_add_func ("/robustness/crash-loop/recovers", test_crash_loop_recovers);
  g_test_add_func ("/robustness/crash-loop/beside-ready-worker", test_crash_loop_beside_ready_worker);
  for (gsize i = 0; i < G_N_ELEMENTS (hostile_modes); i++)
    {
      g_autofree char *path = g_strdup_printf ("/robustness/hostile/%s", hostile_modes[i]);
      g_test_add_data_func (path, hostile_modes[i], test_hostile_worker);
    }
  g_test_add_func ("/robustness/error/domain-not-sendable", test_error_domain_not_sendable);
  g_test_add_func ("/robustness/error/message-not-utf8", test_error_message_not_utf8);
  g_test_add_func ("/robustness/error/message-too-long", test_error_message_too_long);
  g_test_add_func ("/robustness/hostile/frame-limit", test_frame_limit);
  g_test_add_func ("/robustness/hostile/hello-versions", test_hello_versions);
  g_test_add_func ("/robustness/hostile/task-before-hello", test_task_before_hello);
  g_test_add_func ("/robustness/hostile/features", test_features);
  g_test_add_func ("/robustness/pool-killed", test_pool_killed);

  return g_test_run ();
}
