/* test-pool.c: PPool, PResult and PMapIter through the public API: making pools, apply, submit, map, imap, cancelling, threads
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
test_new (void)
{
  g_autoptr(PPool) pool = new_pool (3);
  g_autoptr(PPool) default_pool = new_pool (0);
  g_auto(GStrv) argv = NULL;
  guint processes;

  g_assert_cmpuint (p_pool_get_processes (pool), ==, 3);
  g_assert_cmpuint (p_pool_get_processes (default_pool), ==, g_get_num_processors ());

  g_object_get (pool, "processes", &processes, "worker-argv", &argv, NULL);
  g_assert_cmpuint (processes, ==, 3);
  g_assert_null (argv);
}

/* A programming error, as GLib reports those: a critical, and no pool. */
static void
test_new_too_many_processes (void)
{
  g_autoptr(GError) error = NULL;
  PPool *pool;

  g_test_expect_message ("processing-glib", G_LOG_LEVEL_CRITICAL, "*processes <= MAX_PROCESSES*");
  pool = p_pool_new (5000, NULL, &error);
  g_test_assert_expected_messages ();
  g_assert_null (pool);
  g_assert_no_error (error);
}

static void
test_new_initable (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GVariant) result = NULL;

  /* As bindings build it. */
  pool = g_initable_new (P_TYPE_POOL, NULL, &error, "processes", 1, NULL);
  g_assert_no_error (error);

  result = p_pool_apply (pool, "square", g_variant_new_int64 (7), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (result), ==, 49);
}

static void
test_new_missing_command (void)
{
  const char *argv[] = { "/nonexistent/processing-glib-worker", "--flag", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PPool) pool = NULL;

  pool = p_pool_new (2, argv, &error);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START);
  g_assert_null (pool);
  /* It names the command and the reason. */
  g_assert_nonnull (strstr (error->message, "/nonexistent/processing-glib-worker"));
  g_assert_nonnull (strstr (error->message, "No such file or directory"));
  g_assert_cmpuint (test_count_children (), ==, 0);
}

static void
test_new_empty_command (void)
{
  const char *argv[] = { NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PPool) pool = p_pool_new (1, argv, &error);

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_null (pool);
}

static void
test_reexec (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) exe = NULL;
  g_autofree char *own_exe = g_file_read_link ("/proc/self/exe", NULL);

  exe = p_pool_apply (pool, "exe", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (exe, NULL), ==, own_exe);
  g_assert_cmpint (apply_int64 (pool, "pid", 0), !=, getpid ());
}

static void
test_apply (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) unit = NULL;
  g_autoptr(GVariant) tuple = NULL;
  g_autoptr(GVariant) floating = g_variant_new ("(sai)", "x", NULL);

  g_assert_cmpint (apply_int64 (pool, "square", 12), ==, 144);

  /* NULL arguments are an empty tuple. */
  unit = p_pool_apply (pool, "echo", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_type_string (unit), ==, "()");

  /* A floating reference is sunk; a full one is left to the caller. */
  g_variant_ref_sink (floating);
  tuple = p_pool_apply (pool, "echo", floating, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_equal (tuple, floating));
  g_assert_false (g_variant_is_floating (tuple));
}

static void
test_apply_types (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  const char *values[] = {
    "true", "byte 7", "int16 -3", "uint16 3", "-5", "uint32 5", "int64 -9", "uint64 9",
    "3.25", "'text'", "objectpath '/a/b'", "signature 'a{sv}'", "<@ai [1, 2]>",
    "@ms nothing", "just 'x'", "[1, 2, 3]", "@as []", "{'a': <1>, 'b': <'two'>}",
    "('tuple', [<(1, 2.5)>], @mv nothing)", "b'bytes\\x01'", "[[[['deep']]]]",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = g_variant_parse (NULL, values[i], NULL, NULL, &error);
      g_autoptr(GVariant) echoed = NULL;

      g_assert_no_error (error);
      echoed = p_pool_apply (pool, "echo", value, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (g_variant_equal (echoed, value));
    }

  /* Tuples in tuples, as deep as a task's value may go (its variant sits
   * one level down in the message). Their checks once took 2^depth steps. */
  {
    g_autoptr(GVariant) deep = g_variant_ref_sink (g_variant_new ("(is)", 0, "bottom"));
    g_autoptr(GVariant) echoed = NULL;
    g_autoptr(GError) error = NULL;

    for (int level = 1; level < 125; level++)
      {
        GVariant *members[2] = { deep, g_variant_new_int32 (level) };
        GVariant *outer = g_variant_ref_sink (g_variant_new_tuple (members, 2));

        g_variant_unref (deep);
        deep = outer;
      }

    echoed = p_pool_apply (pool, "echo", deep, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (g_variant_equal (echoed, deep));
  }
}

/* Tuples in tuples, @levels deep in all. */
static GVariant *
nested_tuples (int levels)
{
  GVariant *value = g_variant_new_int32 (0);

  for (int level = 1; level < levels; level++)
    value = g_variant_new_tuple (&value, 1);

  return value;
}

/* A value too deep for GVariant to read back in a message fails at once,
 * with an error that says so, in the caller or in the worker (for a
 * result), rather than as a protocol violation that kills the worker. */
static void
test_apply_too_deep (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  gint64 pid = apply_int64 (pool, "pid", 0);
  g_autoptr(GVariant) items = NULL;
  g_autoptr(GVariant) results = NULL;
  g_autoptr(PMapIter) iter = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *value;

  /* 126 levels, two down in the message, reach GLib's 128th: the last. */
  {
    g_autoptr(GVariant) deepest = g_variant_ref_sink (nested_tuples (126));
    g_autoptr(GVariant) echoed = p_pool_apply (pool, "echo", deepest, NULL, &error);

    g_assert_no_error (error);
    g_assert_true (g_variant_equal (echoed, deepest));
  }

  /* One more, by type or by variants in it. */
  value = p_pool_apply (pool, "echo", nested_tuples (127), NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_null (value);
  g_clear_error (&error);

  {
    GVariant *deep = g_variant_new_int32 (0);

    for (int level = 1; level < 127; level++)
      deep = g_variant_new_variant (deep);
    value = p_pool_apply (pool, "echo", deep, NULL, &error);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_assert_null (value);
    g_clear_error (&error);
  }

  /* Too deep an item fails a map; its items sit one level further down. */
  {
    GVariant *mixed[2] = { g_variant_new_variant (g_variant_new_int32 (1)),
                           g_variant_new_variant (nested_tuples (125)) };

    results = p_pool_map (pool, "echo", g_variant_new_array (G_VARIANT_TYPE_VARIANT, mixed, 2), 2, NULL, &error);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_assert_null (results);
    g_clear_error (&error);
  }

  /* A function's result too deep fails its task only. */
  value = p_pool_apply (pool, "nest", g_variant_new_int32 (127), NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_null (value);
  g_clear_error (&error);

  {
    gint32 levels[] = { 1, 127, 2 };

    items = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_INT32, levels, 3, sizeof (gint32)));
    iter = p_pool_imap (pool, "nest", items, 3, NULL);
    for (gsize i = 0; i < 3; i++)
      {
        g_autoptr(GVariant) item = p_map_iter_next (iter, -1, &error);

        if (i == 1)
          {
            g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
            g_clear_error (&error);
          }
        else
          {
            g_assert_no_error (error);
            g_assert_nonnull (item);
          }
      }
  }

  /* And the same worker served all of it. */
  g_assert_cmpint (apply_int64 (pool, "pid", 0), ==, pid);
}

static void
test_task_error (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = NULL;

  /* A task's error keeps its domain, code and message... */
  result = p_pool_apply (pool, "fail", g_variant_new ("(sis)", "test-error-quark", 42, "it went wrong"), NULL, &error);
  g_assert_null (result);
  g_assert_error (error, TEST_ERROR, 42);
  g_assert_cmpstr (error->message, ==, "it went wrong");
  g_clear_error (&error);

  /* ...for a domain this process has never seen, too. */
  result = p_pool_apply (pool, "fail", g_variant_new ("(sis)", "some-other-domain-quark", 7, "other"), NULL, &error);
  g_assert_null (result);
  g_assert_cmpstr (g_quark_to_string (error->domain), ==, "some-other-domain-quark");
  g_assert_cmpint (error->code, ==, 7);
  g_clear_error (&error);

  /* NULL without an error. */
  result = p_pool_apply (pool, "null", NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "null"));
  g_clear_error (&error);

  /* The worker is fine afterwards. */
  g_assert_cmpint (apply_int64 (pool, "square", 3), ==, 9);
}

static void
test_unknown_function (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = NULL;
  g_autoptr(PResult) early = NULL;

  /* Submitted before the worker announced its functions... */
  early = p_pool_submit (pool, "no_such_function", NULL, NULL);
  result = p_result_get (early, -1, &error);
  g_assert_null (result);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_UNKNOWN_FUNCTION);
  g_assert_nonnull (strstr (error->message, "no_such_function"));
  g_clear_error (&error);

  /* ...and after. */
  result = p_pool_apply (pool, "no_such_function", NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_UNKNOWN_FUNCTION);
  g_clear_error (&error);

  result = p_pool_map (pool, "no_such_function", test_range_int64 (10), 0, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_UNKNOWN_FUNCTION);
}

/* No worker can serve a name that is not UTF-8 (p_worker_add_function()
 * refuses it): such a task fails as unknown at once, whether or not the
 * workers announced their functions yet, and harms no worker. */
static void
test_function_name_not_utf8 (void)
{
  const char *latin1 = "caf\xe9";
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = NULL;
  g_autoptr(PResult) early = NULL;
  g_autoptr(PMapIter) iter = NULL;
  gint64 pid;

  early = p_pool_submit (pool, latin1, NULL, NULL);
  result = p_result_get (early, -1, &error);
  g_assert_null (result);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_UNKNOWN_FUNCTION);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_clear_error (&error);

  pid = apply_int64 (pool, "pid", 0);
  result = p_pool_apply (pool, latin1, g_variant_new_int64 (1), NULL, &error);
  g_assert_null (result);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_UNKNOWN_FUNCTION);
  g_clear_error (&error);

  result = p_pool_map (pool, latin1, test_range_int64 (10), 0, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_UNKNOWN_FUNCTION);
  g_clear_error (&error);

  iter = p_pool_imap (pool, latin1, test_range_int64 (3), 1, NULL);
  result = p_map_iter_next (iter, -1, &error);
  g_assert_null (result);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_UNKNOWN_FUNCTION);
  g_clear_error (&error);

  /* The same worker serves on. */
  g_assert_cmpint (apply_int64 (pool, "square", 3), ==, 9);
  g_assert_cmpint (apply_int64 (pool, "pid", 0), ==, pid);
}

static void
test_submit (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(PResult) result = NULL;
  g_autoptr(PResult) failing = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) again = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ready;

  result = p_pool_submit (pool, "sleep", g_variant_new_int64 (200), NULL);
  g_assert_false (p_result_ready (result));
  g_object_get (result, "is-ready", &ready, NULL);
  g_assert_false (ready);

  /* A wait that runs out does not cancel the task. */
  g_assert_false (p_result_wait (result, 0));
  value = p_result_get (result, 1000, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_null (value);
  g_clear_error (&error);

  g_assert_true (p_result_wait (result, -1));
  g_assert_true (p_result_ready (result));
  g_assert_true (p_result_successful (result));
  g_object_get (result, "is-ready", &ready, NULL);
  g_assert_true (ready);

  value = p_result_get (result, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 200);

  /* It can be read again: the same value, made once. */
  again = p_result_get (result, -1, &error);
  g_assert_no_error (error);
  g_assert_true (again == value);

  failing = p_pool_submit (pool, "square_or_fail", g_variant_new_int64 (-3), NULL);
  g_assert_true (p_result_wait (failing, -1));
  g_assert_false (p_result_successful (failing));
  g_assert_null (p_result_get (failing, 0, &error));
  g_assert_error (error, TEST_ERROR, 3);
}

static void
test_result_successful_not_ready (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(PPool) pool = new_pool (1);
      g_autoptr(PResult) result = p_pool_submit (pool, "sleep", g_variant_new_int64 (2000), NULL);

      p_result_successful (result);
      p_pool_terminate (pool);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*p_result_ready*");
}

typedef struct
{
  GMainLoop *loop;
  GVariant *value;
  GError *error;
  GThread *thread;
  guint count;
} AsyncData;

static void
apply_done (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  AsyncData *data = user_data;

  data->thread = g_thread_self ();
  data->value = p_pool_apply_finish (P_POOL (source), result, &data->error);
  g_main_loop_quit (data->loop);
}

static void
test_apply_async (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  AsyncData data = { loop };

  p_pool_apply_async (pool, "square", g_variant_new_int64 (9), NULL, apply_done, &data);
  g_main_loop_run (loop);

  g_assert_no_error (data.error);
  g_assert_cmpint (g_variant_get_int64 (data.value), ==, 81);
  g_assert_true (data.thread == g_thread_self ());
  g_clear_pointer (&data.value, g_variant_unref);

  p_pool_apply_async (pool, "fail", g_variant_new ("(sis)", "test-error-quark", 5, "five"), NULL, apply_done, &data);
  g_main_loop_run (loop);
  g_assert_null (data.value);
  g_assert_error (data.error, TEST_ERROR, 5);
  g_clear_error (&data.error);
}

/* Completions come in the thread-default context of the calling thread. */
static gpointer
apply_async_thread (gpointer user_data)
{
  PPool *pool = user_data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (context, FALSE);
  AsyncData data = { loop };

  g_main_context_push_thread_default (context);
  p_pool_apply_async (pool, "square", g_variant_new_int64 (5), NULL, apply_done, &data);
  g_main_loop_run (loop);
  g_main_context_pop_thread_default (context);

  g_assert_no_error (data.error);
  g_assert_cmpint (g_variant_get_int64 (data.value), ==, 25);
  g_assert_true (data.thread == g_thread_self ());
  g_variant_unref (data.value);

  return NULL;
}

static void
test_apply_async_other_context (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  GThread *thread = g_thread_new ("async", apply_async_thread, pool);

  g_thread_join (thread);
}

static void
on_ready_notify (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  AsyncData *data = user_data;

  g_assert_true (p_result_ready (P_RESULT (object)));
  data->thread = g_thread_self ();
  data->count++;
  g_main_loop_quit (data->loop);
}

static void
on_any_notify (GObject    *object,
               GParamSpec *pspec,
               gpointer    user_data)
{
  if (g_str_equal (pspec->name, "is-ready"))
    on_ready_notify (object, pspec, user_data);
}

static void
test_result_notify (void)
{
  g_autoptr(PPool) pool = new_pool (1);

  /* A handler of every property's notify is a listener too. */
  for (guint all_properties = 0; all_properties < 2; all_properties++)
    {
      g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
      g_autoptr(PResult) result = NULL;
      AsyncData data = { loop };
      gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

      result = p_pool_submit (pool, "sleep", g_variant_new_int64 (50), NULL);
      if (all_properties)
        g_signal_connect (result, "notify", G_CALLBACK (on_any_notify), &data);
      else
        g_signal_connect (result, "notify::is-ready", G_CALLBACK (on_ready_notify), &data);

      /* Fails rather than hangs if nothing comes; then, nothing more. */
      while (data.count == 0 && g_get_monotonic_time () < deadline)
        if (!g_main_context_iteration (NULL, FALSE))
          g_usleep (1000);
      while (g_main_context_pending (NULL))
        g_main_context_iteration (NULL, FALSE);

      g_assert_cmpuint (data.count, ==, 1);
      g_assert_true (data.thread == g_thread_self ());
    }
}

static void
test_map (void)
{
  g_autoptr(PPool) pool = new_pool (3);
  guint chunksizes[] = { 0, 1, 3, 7, 1000, 5000 };

  for (gsize i = 0; i < G_N_ELEMENTS (chunksizes); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) squares = NULL;

      squares = p_pool_map (pool, "square", test_range_int64 (1000), chunksizes[i], NULL, &error);
      g_assert_no_error (error);
      assert_squares (squares, 1000);
    }
}

static void
test_map_item_types (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  const char *arrays[] = {
    "[true, false, true]", "[byte 1, 2, 3, 4, 5]", "@an [1, -2, 3]", "@aq [1, 2]",
    "[1, 2, 3, 4, 5, 6, 7]", "@au [7, 8]", "@at [1, 2, 3]", "[1.5, 2.5]",
    "['a', 'bb', '', 'dddd']", "[<1>, <'x'>, <[1.5]>]", "[(1, 'a'), (2, 'b')]",
    "[{'k': 1}, @a{si} {}]", "@aas [['x'], [], ['y', 'z']]", "[@mi 5, nothing]",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (arrays); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) items = g_variant_parse (NULL, arrays[i], NULL, NULL, &error);
      g_autoptr(GVariant) echoed = NULL;

      g_assert_no_error (error);
      for (guint chunksize = 0; chunksize < 4; chunksize++)
        {
          g_clear_pointer (&echoed, g_variant_unref);
          echoed = p_pool_map (pool, "echo", items, chunksize, NULL, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (g_variant_n_children (echoed), ==, g_variant_n_children (items));

          for (gsize j = 0; j < g_variant_n_children (items); j++)
            {
              g_autoptr(GVariant) item = g_variant_get_child_value (items, j);
              g_autoptr(GVariant) boxed = g_variant_get_child_value (echoed, j);
              g_autoptr(GVariant) value = g_variant_get_variant (boxed);

              g_assert_true (g_variant_equal (item, value));
            }
        }
    }
}

static void
test_map_empty (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = NULL;

  result = p_pool_map (pool, "square", g_variant_new_array (G_VARIANT_TYPE_INT64, NULL, 0), 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_type_string (result), ==, "av");
  g_assert_cmpuint (g_variant_n_children (result), ==, 0);
}

static void
test_map_not_array (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = NULL;
  g_autoptr(PMapIter) iter = NULL;
  g_autoptr(GVariant) next = NULL;

  result = p_pool_map (pool, "square", g_variant_new_int64 (10), 0, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  result = p_pool_map (pool, "square", g_variant_new ("(ii)", 1, 2), 0, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  iter = p_pool_imap (pool, "square", g_variant_new_string ("no"), 0, NULL);
  next = p_map_iter_next (iter, -1, &error);
  g_assert_null (next);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* Then the end. */
  next = p_map_iter_next (iter, -1, &error);
  g_assert_no_error (error);
  g_assert_null (next);
}

static void
test_map_first_error (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("ax"));
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = NULL;

  for (gint64 i = 0; i < 100; i++)
    g_variant_builder_add (&builder, "x", i == 37 ? (gint64) -37 : i);

  result = p_pool_map (pool, "square_or_fail", g_variant_builder_end (&builder), 5, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, TEST_ERROR, 37);
  g_assert_cmpstr (error->message, ==, "negative: -37");

  /* The pool goes on. */
  g_assert_cmpint (apply_int64 (pool, "square", 4), ==, 16);
}

static void
map_done (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  AsyncData *data = user_data;

  data->thread = g_thread_self ();
  data->value = p_pool_map_finish (P_POOL (source), result, &data->error);
  g_main_loop_quit (data->loop);
}

static void
test_map_async (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  AsyncData data = { loop };

  p_pool_map_async (pool, "square", test_range_int64 (500), 0, NULL, map_done, &data);
  g_main_loop_run (loop);
  g_assert_no_error (data.error);
  g_assert_true (data.thread == g_thread_self ());
  assert_squares (data.value, 500);
  g_clear_pointer (&data.value, g_variant_unref);

  p_pool_map_async (pool, "square", g_variant_new_boolean (TRUE), 0, NULL, map_done, &data);
  g_main_loop_run (loop);
  g_assert_error (data.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&data.error);
}

static gpointer
get_result_thread (gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  GVariant *value = p_result_get (user_data, -1, &error);

  g_assert_no_error (error);
  return value;
}

/* Threads that wait for one result at once all get the one value (a small
 * value is made by the first to read it). */
static void
test_submit_concurrent_get (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(PResult) result = p_pool_submit (pool, "sleep", g_variant_new_int64 (50), NULL);
  GThread *threads[4];
  GVariant *values[G_N_ELEMENTS (threads)];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("get", get_result_thread, result);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    values[i] = g_thread_join (threads[i]);

  g_assert_cmpint (g_variant_get_int64 (values[0]), ==, 50);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      g_assert_true (values[i] == values[0]);
      g_variant_unref (values[i]);
    }
}

static void
test_submit_map (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(PResult) result = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  result = p_pool_submit_map (pool, "square", test_range_int64 (300), 0, NULL);
  g_assert_true (p_result_wait (result, -1));
  g_assert_true (p_result_successful (result));
  value = p_result_get (result, 0, &error);
  g_assert_no_error (error);
  assert_squares (value, 300);
}

static void
test_imap (void)
{
  g_autoptr(PPool) pool = new_pool (3);
  guint chunksizes[] = { 0, 1, 4, 50, 1000 };

  for (gsize c = 0; c < G_N_ELEMENTS (chunksizes); c++)
    {
      g_autoptr(PMapIter) iter = p_pool_imap (pool, "square", test_range_int64 (200), chunksizes[c], NULL);
      g_autoptr(GError) error = NULL;

      for (gint64 i = 0; i < 200; i++)
        {
          g_autoptr(GVariant) value = p_map_iter_next (iter, -1, &error);

          g_assert_no_error (error);
          g_assert_cmpint (g_variant_get_int64 (value), ==, i * i);
        }

      /* The end, for good. */
      for (int k = 0; k < 2; k++)
        {
          g_assert_null (p_map_iter_next (iter, -1, &error));
          g_assert_no_error (error);
        }
    }
}

static void
test_imap_unordered (void)
{
  g_autoptr(PPool) pool = new_pool (3);
  guint chunksizes[] = { 0, 1, 7 };

  for (gsize c = 0; c < G_N_ELEMENTS (chunksizes); c++)
    {
      g_autoptr(PMapIter) iter = p_pool_imap_unordered (pool, "square", test_range_int64 (1000), chunksizes[c], NULL);
      g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
      g_autofree gint64 *values = g_new (gint64, 1000);
      g_autoptr(GError) error = NULL;
      GVariant *value;
      guint n = 0;

      while ((value = p_map_iter_next (iter, -1, &error)))
        {
          g_assert_cmpuint (n, <, 1000);
          values[n] = g_variant_get_int64 (value);
          /* Exactly once. */
          g_assert_false (g_hash_table_contains (seen, &values[n]));
          g_hash_table_add (seen, &values[n]);
          g_variant_unref (value);
          n++;
        }

      g_assert_no_error (error);
      g_assert_cmpuint (n, ==, 1000);
      for (gint64 i = 0; i < 1000; i++)
        {
          gint64 square = i * i;
          g_assert_true (g_hash_table_contains (seen, &square));
        }
    }
}

static void
test_imap_item_errors (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("ax"));
  g_autoptr(GVariant) items = NULL;

  for (gint64 i = 0; i < 30; i++)
    g_variant_builder_add (&builder, "x", i % 10 == 3 ? -i : i);
  items = g_variant_ref_sink (g_variant_builder_end (&builder));

  for (guint chunksize = 1; chunksize <= 4; chunksize += 3)
    {
      g_autoptr(PMapIter) iter = p_pool_imap (pool, "square_or_fail", items, chunksize, NULL);

      /* Every item in its place, failures included, then the end. */
      for (gint64 i = 0; i < 30; i++)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(GVariant) value = p_map_iter_next (iter, -1, &error);

          if (i % 10 == 3)
            {
              g_assert_null (value);
              g_assert_error (error, TEST_ERROR, (int) i);
            }
          else
            {
              g_assert_no_error (error);
              g_assert_cmpint (g_variant_get_int64 (value), ==, i * i);
            }
        }

      g_assert_null (p_map_iter_next (iter, -1, NULL));
    }
}

/* {{{ Chunk functions */

/* A map through a chunk function: the results in order, whatever the
 * chunks, and the pool's "av", as through a function of one item. */
static void
test_chunk_function_map (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  guint chunksizes[] = { 0, 1, 3, 7, 1000, 5000 };

  for (gsize i = 0; i < G_N_ELEMENTS (chunksizes); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) squares = NULL;

      squares = p_pool_map (pool, "chunk_square_or_fail", test_range_int64 (1000), chunksizes[i], NULL, &error);
      g_assert_no_error (error);
      assert_squares (squares, 1000);
    }

  /* Results of several types, in an "av" of its own. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) mixed = p_pool_map (pool, "chunk_mixed", test_range_int64 (5), 2, NULL, &error);
    g_autofree char *printed = NULL;

    g_assert_no_error (error);
    printed = g_variant_print (mixed, FALSE);
    g_assert_cmpstr (printed, ==, "[<int64 0>, <'1'>, <int64 2>, <'3'>, <int64 4>]");
  }

  /* Applied, it gets an array of the one argument. */
  g_assert_cmpint (apply_int64 (pool, "chunk_square_or_fail", 9), ==, 81);
}

/* Its error fails the whole chunk: the map with it, and in an imap every
 * item of that chunk; the other chunks' results keep their places. */
static void
test_chunk_function_errors (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("ax"));
  g_autoptr(GVariant) items = NULL;
  g_autoptr(PMapIter) iter = NULL;
  g_autoptr(GVariant) result = NULL;
  g_autoptr(GError) error = NULL;

  for (gint64 i = 0; i < 20; i++)
    g_variant_builder_add (&builder, "x", i == 13 ? (gint64) -13 : i);
  items = g_variant_ref_sink (g_variant_builder_end (&builder));

  result = p_pool_map (pool, "chunk_square_or_fail", items, 5, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, TEST_ERROR, 13);
  g_clear_error (&error);

  iter = p_pool_imap (pool, "chunk_square_or_fail", items, 5, NULL);
  for (gint64 i = 0; i < 20; i++)
    {
      g_autoptr(GVariant) value = p_map_iter_next (iter, -1, &error);

      if (i >= 10 && i < 15)
        {
          g_assert_error (error, TEST_ERROR, 13);
          g_clear_error (&error);
        }
      else
        {
          g_assert_no_error (error);
          g_assert_cmpint (g_variant_get_int64 (value), ==, i * i);
        }
    }
  g_assert_null (p_map_iter_next (iter, -1, &error));
  g_assert_no_error (error);

  /* What is not an array of one result per item fails, saying so. */
  result = p_pool_map (pool, "chunk_one_short", test_range_int64 (10), 5, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "4 results for 5 items"));
  g_clear_error (&error);

  result = p_pool_map (pool, "chunk_not_array", test_range_int64 (10), 5, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "not an array"));
  g_clear_error (&error);

  /* The pool goes on. */
  g_assert_cmpint (apply_int64 (pool, "square", 4), ==, 16);
}

/* Cancelling a map stops the chunk function that runs it. */
static void
test_chunk_function_cancel (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PResult) result = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  gint64 pid = apply_int64 (pool, "pid", 0);

  result = p_pool_submit_map (pool, "chunk_wait_for_cancel", test_range_int64 (10), 10, cancellable);
  g_usleep (20000);
  g_cancellable_cancel (cancellable);
  value = p_result_get (result, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* The worker stopped it, and was not killed for it. */
  g_assert_cmpint (apply_int64 (pool, "pid", 0), ==, pid);
}

/* }}} */

static void
test_imap_timeout (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("ax"));
  g_autoptr(PMapIter) iter = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  g_variant_builder_add (&builder, "x", (gint64) 300);
  g_variant_builder_add (&builder, "x", (gint64) 1);
  iter = p_pool_imap (pool, "sleep", g_variant_builder_end (&builder), 1, NULL);

  value = p_map_iter_next (iter, 0, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_null (value);
  g_clear_error (&error);

  value = p_map_iter_next (iter, 10000, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);

  /* Nothing was lost by the timeouts. */
  value = p_map_iter_next (iter, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 300);
  g_clear_pointer (&value, g_variant_unref);

  value = p_map_iter_next (iter, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 1);
  g_clear_pointer (&value, g_variant_unref);

  g_assert_null (p_map_iter_next (iter, 0, &error));
  g_assert_no_error (error);
}

typedef struct
{
  GMainLoop *loop;
  PMapIter *iter;
  GArray *values;
  GError *error;
  gboolean ended;
  GThread *thread;
} IterData;

static void
next_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  IterData *data = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = p_map_iter_next_finish (P_MAP_ITER (source), result, &error);

  g_assert_true (data->thread == g_thread_self ());
  g_assert_no_error (error);

  if (value == NULL)
    {
      data->ended = TRUE;
      g_main_loop_quit (data->loop);
      return;
    }

  g_array_append_val (data->values, *(gint64[]) { g_variant_get_int64 (value) });
  p_map_iter_next_async (data->iter, NULL, next_done, data);
}

static void
test_imap_async (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(PMapIter) iter = p_pool_imap (pool, "square", test_range_int64 (100), 3, NULL);
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (gint64));
  IterData data = { loop, iter, values, NULL, FALSE, g_thread_self () };

  p_map_iter_next_async (iter, NULL, next_done, &data);
  g_main_loop_run (loop);

  g_assert_true (data.ended);
  g_assert_cmpuint (values->len, ==, 100);
  for (guint i = 0; i < 100; i++)
    g_assert_cmpint (g_array_index (values, gint64, i), ==, (gint64) i * i);
}

static void
several_next_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  IterData *data = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = p_map_iter_next_finish (P_MAP_ITER (source), result, &error);

  g_assert_no_error (error);
  if (value != NULL)
    g_array_append_val (data->values, *(gint64[]) { g_variant_get_int64 (value) });
  else
    data->ended = TRUE;

  if (data->values->len + data->ended == 11)
    g_main_loop_quit (data->loop);
}

static void
test_imap_async_outstanding (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(PMapIter) iter = p_pool_imap (pool, "square", test_range_int64 (10), 1, NULL);
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (gint64));
  IterData data = { loop, iter, values, NULL, FALSE, g_thread_self () };

  /* Eleven calls at once: ten items then the end, served in order. */
  for (int i = 0; i < 11; i++)
    p_map_iter_next_async (iter, NULL, several_next_done, &data);
  g_main_loop_run (loop);

  g_assert_true (data.ended);
  g_assert_cmpuint (values->len, ==, 10);
  for (guint i = 0; i < 10; i++)
    g_assert_cmpint (g_array_index (values, gint64, i), ==, (gint64) i * i);
}

static void
cancelled_next_done (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  IterData *data = user_data;
  g_autoptr(GVariant) value = p_map_iter_next_finish (P_MAP_ITER (source), result, &data->error);

  g_assert_null (value);
  g_main_loop_quit (data->loop);
}

static void
test_imap_next_async_cancel (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PMapIter) iter = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  IterData data = { loop, NULL, NULL, NULL, FALSE, g_thread_self () };
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("ax"));

  g_variant_builder_add (&builder, "x", (gint64) 200);
  iter = p_pool_imap (pool, "sleep", g_variant_builder_end (&builder), 1, NULL);

  p_map_iter_next_async (iter, cancellable, cancelled_next_done, &data);
  g_cancellable_cancel (cancellable);
  g_main_loop_run (loop);
  g_assert_error (data.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&data.error);

  /* The item was not lost. */
  value = p_map_iter_next (iter, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 200);
}

/* A cancel that comes after the item was handed to the call, before its
 * callback ran, is too late: the item is returned, never dropped. Had it
 * come before, the call fails and the item goes to the next one. */
static void
test_imap_next_async_cancel_late (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PMapIter) iter = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (gint64));
  LateCancelData data = { loop, NULL, NULL };
  GVariant *value;

  iter = p_pool_imap (pool, "square", test_range_int64 (3), 1, NULL);

  /* The main loop does not run while the item arrives. */
  p_map_iter_next_async (iter, cancellable, late_cancelled_next_done, &data);
  g_usleep (G_USEC_PER_SEC / 5);
  g_cancellable_cancel (cancellable);
  g_main_loop_run (loop);

  if (data.value != NULL)
    {
      g_assert_no_error (data.error);
      g_array_append_val (values, (gint64) { g_variant_get_int64 (data.value) });
      g_clear_pointer (&data.value, g_variant_unref);
    }
  else
    {
      g_test_message ("the item came after the cancel");
      g_assert_error (data.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_clear_error (&data.error);
    }

  while ((value = p_map_iter_next (iter, -1, &error)) != NULL)
    {
      g_array_append_val (values, (gint64) { g_variant_get_int64 (value) });
      g_variant_unref (value);
    }
  g_assert_no_error (error);

  /* Nothing lost. */
  g_assert_cmpuint (values->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (g_array_index (values, gint64, i), ==, (gint64) i * i);
}

static void
test_cancel_queued (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  PResult *busy[3];
  g_autoptr(PResult) queued = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  /* Keep the only worker busy, and its pipeline full. */
  for (int i = 0; i < 3; i++)
    busy[i] = p_pool_submit (pool, "sleep", g_variant_new_int64 (300), NULL);

  queued = p_pool_submit (pool, "square", g_variant_new_int64 (3), cancellable);
  g_usleep (20000);
  g_assert_false (p_result_ready (queued));

  g_cancellable_cancel (cancellable);
  value = p_result_get (queued, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (value);
  /* At once: not after the busy tasks. */
  g_assert_false (p_result_ready (busy[2]));
  g_clear_error (&error);

  for (int i = 0; i < 3; i++)
    {
      g_autoptr(GVariant) done = p_result_get (busy[i], -1, &error);
      g_assert_no_error (error);
      g_object_unref (busy[i]);
    }
}

/* Short tasks sent to a worker behind a task that then runs for long are
 * given back, and run by the other worker: none waits for the long one. */
static void
test_recall_behind_long_task (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PResult) long_task = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  PResult *short_tasks[400];

  /* Short tasks first: the workers learn to hold many at once. */
  for (int round = 0; round < 5; round++)
    {
      for (guint i = 0; i < G_N_ELEMENTS (short_tasks); i++)
        short_tasks[i] = p_pool_submit (pool, "square", g_variant_new_int64 (i), NULL);
      for (guint i = 0; i < G_N_ELEMENTS (short_tasks); i++)
        {
          g_autoptr(GVariant) square = p_result_get (short_tasks[i], -1, &error);

          g_assert_no_error (error);
          g_object_unref (short_tasks[i]);
        }
    }

  /* Then one that runs until it is cancelled, with short ones after it,
   * some of which go to its worker's queue. */
  long_task = p_pool_submit (pool, "wait_for_cancel", g_variant_new_int64 (120000), cancellable);
  for (guint i = 0; i < G_N_ELEMENTS (short_tasks); i++)
    short_tasks[i] = p_pool_submit (pool, "square", g_variant_new_int64 (i), NULL);

  for (guint i = 0; i < G_N_ELEMENTS (short_tasks); i++)
    {
      g_autoptr(GVariant) square = NULL;

      /* A bound, so that a failure is not a hang. */
      g_assert_true (p_result_wait (short_tasks[i], 60 * G_USEC_PER_SEC));
      square = p_result_get (short_tasks[i], 0, &error);
      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int64 (square), ==, (gint64) i * i);
      g_object_unref (short_tasks[i]);
    }

  g_assert_false (p_result_ready (long_task));
  g_cancellable_cancel (cancellable);
  value = p_result_get (long_task, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (value);
}

/* An imap cancelled while its first item runs and the second is back:
 * the second is still returned, in its place, after the error that takes
 * the first one's. */
static void
test_imap_cancel_after_gap (void)
{
  /* Both idle: the map's two items then go one to each. */
  g_autoptr(PPool) pool = new_pool_of_ready (2);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PMapIter) iter = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  /* Breadth first: the first item goes to one worker, the second to the
   * other, which then runs the apply; its reply follows the second
   * item's on that worker's channel, so the item is back by then. */
  iter = p_pool_imap (pool, "sleep", g_variant_new_parsed ("[@x 60000, 7]"), 1, cancellable);
  g_assert_cmpint (apply_int64 (pool, "square", 3), ==, 9);
  g_cancellable_cancel (cancellable);

  value = p_map_iter_next (iter, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (value);
  g_clear_error (&error);

  value = p_map_iter_next (iter, -1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (value);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 7);
  g_clear_pointer (&value, g_variant_unref);

  /* The error took the missing item's place: it does not come again. */
  g_assert_null (p_map_iter_next (iter, -1, &error));
  g_assert_no_error (error);
}

static void
test_cancel_before_submit (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PMapIter) iter = NULL;

  g_cancellable_cancel (cancellable);

  value = p_pool_apply (pool, "square", g_variant_new_int64 (2), cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (value);
  g_clear_error (&error);

  value = p_pool_map (pool, "square", test_range_int64 (10), 0, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  iter = p_pool_imap (pool, "square", test_range_int64 (10), 0, cancellable);
  value = p_map_iter_next (iter, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_null (p_map_iter_next (iter, -1, &error));
  g_assert_no_error (error);

  g_assert_cmpint (apply_int64 (pool, "square", 2), ==, 4);
}

static void
test_cancel_map_queued (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PResult) busy = NULL;
  g_autoptr(PResult) map = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;

  busy = p_pool_submit (pool, "sleep", g_variant_new_int64 (300), NULL);
  map = p_pool_submit_map (pool, "square", test_range_int64 (100), 10, cancellable);
  g_usleep (20000);
  g_cancellable_cancel (cancellable);

  value = p_result_get (map, 200000, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  value = p_result_get (busy, -1, &error);
  g_assert_no_error (error);
  g_clear_pointer (&value, g_variant_unref);
  g_assert_cmpint (apply_int64 (pool, "square", 5), ==, 25);
}

#define N_THREADS 8
#define N_PER_THREAD 200

static gpointer
submitter_thread (gpointer user_data)
{
  PPool *pool = user_data;
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 base = GPOINTER_TO_INT (g_thread_self ()) % 1000;

  /* Blocking calls, with no main loop anywhere... */
  for (gint64 i = 0; i < N_PER_THREAD / 4; i++)
    g_assert_cmpint (apply_int64 (pool, "square", base + i), ==, (base + i) * (base + i));

  /* ...handles... */
  for (gint64 i = 0; i < N_PER_THREAD; i++)
    g_ptr_array_add (results, p_pool_submit (pool, "square", g_variant_new_int64 (i), NULL));

  for (gint64 i = 0; i < N_PER_THREAD; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = p_result_get (results->pdata[i], -1, &error);

      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int64 (value), ==, i * i);
    }

  /* ...and maps. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) squares = p_pool_map (pool, "square", test_range_int64 (N_PER_THREAD), 0, NULL, &error);

    g_assert_no_error (error);
    assert_squares (squares, N_PER_THREAD);
  }

  return NULL;
}

static void
test_threads (void)
{
  g_autoptr(PPool) pool = new_pool (3);
  GThread *threads[N_THREADS];

  for (int i = 0; i < N_THREADS; i++)
    threads[i] = g_thread_new ("submitter", submitter_thread, pool);
  for (int i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);
}

/* CPU time that process @pid has used, in microseconds. */
static gint64
process_cpu_usec (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *contents = NULL;
  g_auto(GStrv) fields = NULL;
  const char *name_end;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  /* After the name, which may hold spaces: fields 3 (state) onwards. */
  name_end = strrchr (contents, ')');
  g_assert_nonnull (name_end);
  fields = g_strsplit (name_end + 2, " ", -1);
  g_assert_cmpuint (g_strv_length (fields), >, 13);

  /* utime and stime, fields 14 and 15, in clock ticks. */
  return (g_ascii_strtoll (fields[11], NULL, 10) + g_ascii_strtoll (fields[12], NULL, 10)) *
         G_USEC_PER_SEC / sysconf (_SC_CLK_TCK);
}

/* A loop of applies makes the pool's thread and the worker poll for a
 * moment before they sleep; once the loop ends, they stop: an idle pool
 * uses no processor time. */
static void
test_idle_does_not_spin (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  GPid worker = apply_int64 (pool, "pid", 0);
  gint64 pool_before, worker_before;

  for (gint64 i = 0; i < 2000; i++)
    g_assert_cmpint (apply_int64 (pool, "square", i), ==, i * i);

  pool_before = process_cpu_usec (getpid ());
  worker_before = process_cpu_usec (worker);
  g_usleep (G_USEC_PER_SEC / 2);

  /* A thread that kept spinning would have used about 500 ms. */
  g_assert_cmpint (process_cpu_usec (getpid ()) - pool_before, <, 100000);
  g_assert_cmpint (process_cpu_usec (worker) - worker_before, <, 100000);
}

/* Resident memory of process @pid, in KiB. */
static gint64
process_rss_kib (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *contents = NULL;
  const char *line;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  line = strstr (contents, "\nVmRSS:");
  g_assert_nonnull (line);

  return g_ascii_strtoll (line + strlen ("\nVmRSS:"), NULL, 10);
}

/* Runs @n tasks and a map of @n items on @pool, in batches. */
static void
run_tasks_and_map (PPool *pool,
                   guint  n)
{
  const guint batch = 5000;

  for (guint first = 0; first < n; first += batch)
    {
      g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr(GVariant) squares = NULL;
      g_autoptr(GError) error = NULL;
      GVariantBuilder items;

      for (guint i = first; i < first + batch; i++)
        g_ptr_array_add (results, p_pool_submit (pool, "square", g_variant_new_int64 (i), NULL));
      for (guint i = 0; i < batch; i++)
        {
          g_autoptr(GVariant) value = p_result_get (results->pdata[i], -1, &error);

          g_assert_no_error (error);
          g_assert_cmpint (g_variant_get_int64 (value), ==, (gint64) (first + i) * (first + i));
        }

      g_variant_builder_init (&items, G_VARIANT_TYPE ("ax"));
      for (guint i = first; i < first + batch; i++)
        g_variant_builder_add (&items, "x", (gint64) i);
      squares = p_pool_map (pool, "square", g_variant_builder_end (&items), 0, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_variant_n_children (squares), ==, batch);
    }
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ADDRESS_SANITIZER
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ADDRESS_SANITIZER
#endif
#endif

/* A worker's memory stays what it was after a first round of tasks: each
 * task's arguments and result are freed (a worker once kept every TASK's
 * result, and no other test saw it: a worker is not under valgrind). */
static void
test_worker_memory_is_bounded (void)
{
  g_autoptr(PPool) pool = NULL;
  guint n = g_getenv ("P_TEST_UNDER_VALGRIND") ? 20000 : 100000;
  gint64 before;
  GPid worker;

#ifdef UNDER_ADDRESS_SANITIZER
  /* Its quarantine holds what is freed; LeakSanitizer checks workers. */
  g_test_skip ("Memory freed under AddressSanitizer stays resident");
  return;
#endif

  pool = new_pool (1);
  worker = apply_int64 (pool, "pid", 0);

  /* Memory the worker keeps once it has it: queues, buffers, slabs. */
  run_tasks_and_map (pool, 20000);
  before = process_rss_kib (worker);

  run_tasks_and_map (pool, n);

  /* With that leak back, 100 000 tasks took 15 MiB more. */
  g_assert_cmpint (process_rss_kib (worker) - before, <, 1024);
  g_assert_cmpint (apply_int64 (pool, "pid", 0), ==, worker);
}

static void
test_modules (void)
{
  const char *module = g_getenv ("TEST_MODULE_PATH");
  const char *modules[] = { module, NULL };
  const char *missing[] = { "/nonexistent/module.so", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(PPool) broken = NULL;
  g_autoptr(GVariant) value = NULL;

  if (module == NULL || g_getenv ("PROCESSING_GLIB_WORKER") == NULL)
    {
      g_test_skip ("TEST_MODULE_PATH and PROCESSING_GLIB_WORKER are not set");
      return;
    }

  pool = p_pool_new_for_modules (2, modules, &error);
  g_assert_no_error (error);

  value = p_pool_apply (pool, "module_cube", g_variant_new_int64 (3), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 27);
  g_clear_pointer (&value, g_variant_unref);

  value = p_pool_map (pool, "module_cube", test_range_int64 (10), 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (value), ==, 10);
  g_clear_pointer (&value, g_variant_unref);

  /* A module that cannot load makes workers fail to start. */
  broken = p_pool_new_for_modules (1, missing, &error);
  g_assert_no_error (error);
  value = p_pool_apply (broken, "module_cube", g_variant_new_int64 (3), NULL, &error);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START);
}

int
main (int   argc,
      char *argv[])
{
  test_functions_serve_if_requested ();

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pool/new", test_new);
  g_test_add_func ("/pool/new/initable", test_new_initable);
  g_test_add_func ("/pool/new/too-many-processes", test_new_too_many_processes);
  g_test_add_func ("/pool/new/missing-command", test_new_missing_command);
  g_test_add_func ("/pool/new/empty-command", test_new_empty_command);
  g_test_add_func ("/pool/new/reexec", test_reexec);
  g_test_add_func ("/pool/apply", test_apply);
  g_test_add_func ("/pool/apply/types", test_apply_types);
  g_test_add_func ("/pool/apply/task-error", test_task_error);
  g_test_add_func ("/pool/apply/too-deep", test_apply_too_deep);
  g_test_add_func ("/pool/apply/unknown-function", test_unknown_function);
  g_test_add_func ("/pool/apply/function-name-not-utf8", test_function_name_not_utf8);
  g_test_add_func ("/pool/apply/async", test_apply_async);
  g_test_add_func ("/pool/apply/async-other-context", test_apply_async_other_context);
  g_test_add_func ("/pool/apply/idle-does-not-spin", test_idle_does_not_spin);
  g_test_add_func ("/pool/apply/worker-memory-is-bounded", test_worker_memory_is_bounded);
  g_test_add_func ("/pool/submit", test_submit);
  g_test_add_func ("/pool/submit/concurrent-get", test_submit_concurrent_get);
  g_test_add_func ("/pool/submit/notify", test_result_notify);
  g_test_add_func ("/pool/submit/successful-not-ready", test_result_successful_not_ready);
  g_test_add_func ("/pool/map", test_map);
  g_test_add_func ("/pool/map/item-types", test_map_item_types);
  g_test_add_func ("/pool/map/empty", test_map_empty);
  g_test_add_func ("/pool/map/not-array", test_map_not_array);
  g_test_add_func ("/pool/map/first-error", test_map_first_error);
  g_test_add_func ("/pool/map/async", test_map_async);
  g_test_add_func ("/pool/map/submit", test_submit_map);
  g_test_add_func ("/pool/imap", test_imap);
  g_test_add_func ("/pool/imap/unordered", test_imap_unordered);
  g_test_add_func ("/pool/imap/item-errors", test_imap_item_errors);
  g_test_add_func ("/pool/chunk-function/map", test_chunk_function_map);
  g_test_add_func ("/pool/chunk-function/errors", test_chunk_function_errors);
  g_test_add_func ("/pool/chunk-function/cancel", test_chunk_function_cancel);
  g_test_add_func ("/pool/imap/timeout", test_imap_timeout);
  g_test_add_func ("/pool/imap/async", test_imap_async);
  g_test_add_func ("/pool/imap/async-outstanding", test_imap_async_outstanding);
  g_test_add_func ("/pool/imap/next-async-cancel", test_imap_next_async_cancel);
  g_test_add_func ("/pool/imap/next-async-cancel-late", test_imap_next_async_cancel_late);
  g_test_add_func ("/pool/cancel/queued", test_cancel_queued);
  g_test_add_func ("/pool/recall-behind-long-task", test_recall_behind_long_task);
  g_test_add_func ("/pool/cancel/before-submit", test_cancel_before_submit);
  g_test_add_func ("/pool/imap/cancel-after-gap", test_imap_cancel_after_gap);
  g_test_add_func ("/pool/cancel/map-queued", test_cancel_map_queued);
  g_test_add_func ("/pool/threads", test_threads);
  g_test_add_func ("/pool/modules", test_modules);

  return g_test_run ();
}
