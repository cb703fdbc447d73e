/* test-pool.c: PPool, PResult and PMapIter through the public API
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

#include "p-map-iter-private.h"
#include "test-functions.h"

static PPool *
new_pool (guint processes)
{
  g_autoptr(GError) error = NULL;
  PPool *pool = p_pool_new (processes, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (pool);

  return pool;
}

static gint64
apply_int64 (PPool      *pool,
             const char *function,
             gint64      x)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = p_pool_apply (pool, function, g_variant_new_int64 (x), NULL, &error);

  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (result, G_VARIANT_TYPE_INT64));

  return g_variant_get_int64 (result);
}

static void
assert_squares (GVariant *av,
                gsize     n)
{
  g_assert_cmpstr (g_variant_get_type_string (av), ==, "av");
  g_assert_cmpuint (g_variant_n_children (av), ==, n);

  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (av, i);
      g_autoptr(GVariant) value = g_variant_get_variant (boxed);

      g_assert_cmpint (g_variant_get_int64 (value), ==, (gint64) (i * i));
    }
}

/* {{{ Construction */

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

/* }}} */
/* {{{ apply, submit, PResult */

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

/* {{{ Sealed messages: large values in shared memory */

#define LARGE ((gsize) 1024 * 1024)

static GVariant *
random_bytes (gsize size)
{
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = g_random_int ();

  return g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size, TRUE, g_free, data);
}

/* How many of this process's mappings are sealed messages' files. */
static guint
count_sealed_mappings (void)
{
  g_autofree char *maps = NULL;
  guint count = 0;

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  for (const char *at = maps; (at = strstr (at, "processing-glib-sealed")) != NULL; at++)
    count++;

  return count;
}

static guint
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint count = 0;

  while (g_dir_read_name (dir) != NULL)
    count++;

  return count;
}

/* What @count_func counts once it is @expected, or after 10 s: the pool's
 * thread lets go of a message just after the caller has its result, and
 * replacement workers take a moment to start. */
static guint
wait_for_count (guint (*count_func) (void),
                guint   expected)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  guint count;

  while ((count = count_func ()) != expected && g_get_monotonic_time () < deadline)
    g_usleep (1000);

  return count;
}

static void
assert_bytes_equal (GVariant *value,
                    GVariant *expected)
{
  gsize size, expected_size;
  const guint8 *data = g_variant_get_fixed_array (value, &size, 1);
  const guint8 *expected_data = g_variant_get_fixed_array (expected, &expected_size, 1);

  g_assert_true (g_variant_is_of_type (value, G_VARIANT_TYPE_BYTESTRING));
  g_assert_cmpmem (data, size, expected_data, expected_size);
}

/* A large value a worker returns as it was given comes back in the memory
 * the pool sent it in: shared, not copied, and let go with the result. */
static void
test_sealed_echo (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GVariant) payload = g_variant_ref_sink (random_bytes (LARGE));
  g_autoptr(GError) error = NULL;
  guint fds_before, mappings_before;

  g_assert_cmpint (apply_int64 (pool, "square", 2), ==, 4);
  fds_before = count_fds ();
  mappings_before = count_sealed_mappings ();

  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(GVariant) echoed = p_pool_apply (pool, "echo", payload, NULL, &error);

      g_assert_no_error (error);
      assert_bytes_equal (echoed, payload);
      g_assert_cmpuint (count_sealed_mappings (), >, mappings_before);
    }

  g_assert_cmpuint (wait_for_count (count_sealed_mappings, mappings_before), ==, mappings_before);
  g_assert_cmpuint (count_fds (), ==, fds_before);
}

/* A large value made by the function, and one that is part of what it was
 * given (at an offset in the task's memory), come back whole; small ones
 * stay in the stream. */
static void
test_sealed_made_and_part (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GVariant) made = NULL;
  g_autoptr(GVariant) small = NULL;
  g_autoptr(GVariant) part = NULL;
  g_autoptr(GVariant) large = g_variant_ref_sink (random_bytes (LARGE + 3));
  g_autoptr(GError) error = NULL;
  GVariant *pair[2];
  gsize size;
  const guint8 *data;

  made = p_pool_apply (pool, "make_bytes", g_variant_new_int64 (LARGE), NULL, &error);
  g_assert_no_error (error);
  data = g_variant_get_fixed_array (made, &size, 1);
  g_assert_cmpuint (size, ==, LARGE);
  for (gsize i = 0; i < size; i++)
    if (data[i] != i % 251)
      g_error ("byte %" G_GSIZE_FORMAT " differs", i);

  small = p_pool_apply (pool, "make_bytes", g_variant_new_int64 (1000), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_get_size (small), ==, 1000);

  pair[0] = g_variant_new_string ("before it");
  pair[1] = large;
  part = p_pool_apply (pool, "second", g_variant_new_tuple (pair, 2), NULL, &error);
  g_assert_no_error (error);
  assert_bytes_equal (part, large);
}

/* Large items go sealed in chunks too (a chunk's reply in the stream),
 * and in chunks of one; none is lost nor left mapped. */
static void
test_sealed_map (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GPtrArray) items = g_ptr_array_new ();
  g_autoptr(GVariant) array = NULL;
  guint mappings_before = count_sealed_mappings ();

  for (guint i = 0; i < 7; i++)
    g_ptr_array_add (items, random_bytes (300 * 1024 + i));
  array = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_BYTESTRING,
                                                   (GVariant **) items->pdata, items->len));

  for (guint chunksize = 1; chunksize <= 3; chunksize++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) results = p_pool_map (pool, "echo", array, chunksize, NULL, &error);

      g_assert_no_error (error);
      /* The results are read where the worker wrote them: chunks of one
       * in the tasks' files, larger chunks' in files of their own. */
      g_assert_cmpuint (count_sealed_mappings (), >, mappings_before);
      g_assert_cmpuint (g_variant_n_children (results), ==, 7);
      for (guint i = 0; i < 7; i++)
        {
          g_autoptr(GVariant) boxed = g_variant_get_child_value (results, i);
          g_autoptr(GVariant) value = g_variant_get_variant (boxed);
          g_autoptr(GVariant) expected = g_variant_get_child_value (array, i);

          assert_bytes_equal (value, expected);
        }
    }

  g_assert_cmpuint (wait_for_count (count_sealed_mappings, mappings_before), ==, mappings_before);
}

/* Workers that die with sealed tasks in hand and sealed results on the
 * way: every task but the ones that killed them succeeds (what was sent
 * and not started runs elsewhere, as a new sealed message), and the pool
 * is left with no descriptor nor mapping of theirs. */
static void
test_sealed_worker_deaths (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GVariant) payload = g_variant_ref_sink (random_bytes (512 * 1024));
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func (g_object_unref);
  guint fds_before, mappings_before;

  g_assert_cmpint (apply_int64 (pool, "square", 2), ==, 4);
  g_assert_cmpint (apply_int64 (pool, "square", 3), ==, 9);
  fds_before = count_fds ();
  mappings_before = count_sealed_mappings ();

  for (guint i = 0; i < 40; i++)
    g_ptr_array_add (results, i % 10 == 5 ? p_pool_submit (pool, "die", g_variant_new_int32 (SIGKILL), NULL)
                                          : p_pool_submit (pool, "echo", payload, NULL));

  for (guint i = 0; i < results->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = p_result_get (results->pdata[i], -1, &error);

      if (i % 10 == 5)
        g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
      else
        {
          g_assert_no_error (error);
          assert_bytes_equal (value, payload);
        }
    }

  g_ptr_array_set_size (results, 0);
  g_assert_cmpint (apply_int64 (pool, "square", 4), ==, 16);
  g_assert_cmpuint (wait_for_count (count_sealed_mappings, mappings_before), ==, mappings_before);
  /* Once the replacements have started, as many as before. */
  g_assert_cmpuint (wait_for_count (count_fds, fds_before), ==, fds_before);
}

/* A worker keeps no descriptor of the tasks it has done. */
static void
test_sealed_worker_fds (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GVariant) payload = g_variant_ref_sink (random_bytes (LARGE));
  g_autoptr(GVariant) before = NULL;
  g_autoptr(GVariant) after = NULL;
  g_autoptr(GError) error = NULL;

  before = p_pool_apply (pool, "list_fds", NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 10; i++)
    {
      g_autoptr(GVariant) echoed = p_pool_apply (pool, "echo", payload, NULL, &error);

      g_assert_no_error (error);
    }
  after = p_pool_apply (pool, "list_fds", NULL, NULL, &error);
  g_assert_no_error (error);

  g_assert_cmpuint (g_variant_n_children (after), ==, g_variant_n_children (before));
}

/* }}} */

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
test_result_notify (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(PResult) result = NULL;
  AsyncData data = { loop };

  result = p_pool_submit (pool, "sleep", g_variant_new_int64 (50), NULL);
  g_signal_connect (result, "notify::is-ready", G_CALLBACK (on_ready_notify), &data);
  g_main_loop_run (loop);

  g_assert_cmpuint (data.count, ==, 1);
  g_assert_true (data.thread == g_thread_self ());
}

/* }}} */
/* {{{ map */

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

/* }}} */
/* {{{ imap */

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

typedef struct
{
  GMainLoop *loop;
  GVariant *value;
  GError *error;
} LateCancelData;

static void
late_cancelled_next_done (GObject      *source,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  LateCancelData *data = user_data;

  data->value = p_map_iter_next_finish (P_MAP_ITER (source), result, &data->error);
  g_main_loop_quit (data->loop);
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

/* }}} */
/* {{{ PMapIter fed by hand, as the pool thread feeds it */

/* What an iterator yields, as text: a value's number, "E" for an error
 * (which must be @expected_error), "." at the end. */
static char *
drain_iter (PMapIter     *iter,
            const GError *expected_error)
{
  g_autoptr(GString) yielded = g_string_new (NULL);

  for (int i = 0; i < 100; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = p_map_iter_next (iter, 0, &error);

      if (value != NULL)
        g_string_append_printf (yielded, "%" G_GINT64_FORMAT " ", g_variant_get_int64 (value));
      else if (error != NULL)
        {
          g_assert_error (error, expected_error->domain, expected_error->code);
          g_string_append (yielded, "E ");
        }
      else
        {
          g_string_append (yielded, ".");
          break;
        }
    }

  return g_string_free (g_steal_pointer (&yielded), FALSE);
}

typedef struct
{
  GString *yielded;
  const GError *expected_error;
  gboolean ended;
} AsyncDrain;

static void
drain_next_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  AsyncDrain *drain = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = p_map_iter_next_finish (P_MAP_ITER (source), result, &error);

  if (value != NULL)
    g_string_append_printf (drain->yielded, "%" G_GINT64_FORMAT " ", g_variant_get_int64 (value));
  else if (error != NULL)
    {
      g_assert_error (error, drain->expected_error->domain, drain->expected_error->code);
      g_string_append (drain->yielded, "E ");
    }
  else
    {
      g_string_append (drain->yielded, ".");
      drain->ended = TRUE;
      return;
    }

  p_map_iter_next_async (P_MAP_ITER (source), NULL, drain_next_done, drain);
}

/* The iterator of an operation of @n_items that failed with @error after
 * the items in @arrived (ended by -1) had come, each with its index as
 * its value. With @async_waiting, a next_async call waits meanwhile. */
static char *
fail_and_drain (gboolean     ordered,
                guint        n_items,
                const int   *arrived,
                gboolean     async_waiting)
{
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
  g_autoptr(PMapIter) iter = p_map_iter_new (NULL, ordered, n_items);
  AsyncDrain drain = { g_string_new (NULL), error, FALSE };

  if (async_waiting)
    p_map_iter_next_async (iter, NULL, drain_next_done, &drain);

  for (gsize i = 0; arrived[i] >= 0; i++)
    p_map_iter_push_value (iter, arrived[i], g_variant_ref_sink (g_variant_new_int64 (arrived[i])));
  p_map_iter_fail (iter, error);

  if (!async_waiting)
    {
      g_string_free (drain.yielded, TRUE);
      return drain_iter (iter, error);
    }

  while (!drain.ended)
    g_main_context_iteration (NULL, TRUE);

  return g_string_free (drain.yielded, FALSE);
}

/* When the whole operation fails, what had arrived is still returned: in
 * an imap, an item that had not arrived before one that had yields the
 * error in its place, so that every result keeps its position; the items
 * missing at the end yield the error once. */
static void
test_map_iter_fail_after_gap (void)
{
  static const struct {
    gboolean ordered;
    guint n_items;
    int arrived[8];
    const char *expected;
  } cases[] = {
    /* Item 1 missing, then 2 and 3 there, then 4 and 5 missing. */
    { TRUE, 6, { 0, 3, 2, -1 }, "0 E 2 3 E ." },
    /* Only the first missing: the error takes its place, once. */
    { TRUE, 3, { 2, 1, -1 }, "E 1 2 ." },
    /* Two gaps. */
    { TRUE, 6, { 4, 1, -1 }, "E 1 E E 4 E ." },
    /* No gap: the error once, for the rest. */
    { TRUE, 4, { 0, 1, -1 }, "0 1 E ." },
    { TRUE, 4, { -1 }, "E ." },
    /* imap_unordered: what arrived, in the order it did, then the error. */
    { FALSE, 6, { 0, 3, 2, -1 }, "0 3 2 E ." },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    for (int async_waiting = 0; async_waiting <= 1; async_waiting++)
      {
        g_autofree char *yielded = fail_and_drain (cases[i].ordered, cases[i].n_items,
                                                   cases[i].arrived, async_waiting);

        g_test_message ("case %" G_GSIZE_FORMAT " (%s): %s", i, async_waiting ? "async" : "blocking", yielded);
        g_assert_cmpstr (yielded, ==, cases[i].expected);
      }
}

typedef struct
{
  PMapIter *iter;
  GMutex mutex;
  GCond cond;
  gboolean pushed;
  gboolean pushed_during_cancel;
} CancelRace;

/* The pool thread's part: the item arrives, and is handed to the waiting
 * call. */
static gpointer
push_item_main (gpointer data)
{
  CancelRace *race = data;

  p_map_iter_push_value (race->iter, 0, g_variant_ref_sink (g_variant_new_int64 (42)));

  g_mutex_lock (&race->mutex);
  race->pushed = TRUE;
  g_cond_signal (&race->cond);
  g_mutex_unlock (&race->mutex);

  return NULL;
}

/* In the thread that cancels, before the iterator's own handler: the item
 * arrives meanwhile, from another thread. */
static void
push_while_cancelling (GCancellable *cancellable,
                       gpointer      user_data)
{
  CancelRace *race = user_data;
  gint64 end_time = g_get_monotonic_time () + G_USEC_PER_SEC / 10;
  GThread *thread = g_thread_new ("pool", push_item_main, race);

  g_mutex_lock (&race->mutex);
  while (!race->pushed)
    if (!g_cond_wait_until (&race->cond, &race->mutex, end_time))
      break;
  race->pushed_during_cancel = race->pushed;
  g_mutex_unlock (&race->mutex);

  g_thread_unref (thread);
}

/* A next_async call whose item arrives (in the pool thread) while its
 * cancellable is being cancelled (in another): the call completes once,
 * and what watched the cancellable for it is let go only once the cancel
 * is over. A GCancellableSource let go during the cancel leaks in GLib
 * 2.74 (its dispose keeps a reference that nothing drops), which the
 * valgrind and sanitizer runs report. */
static void
test_map_iter_next_async_served_while_cancelled (void)
{
  g_autoptr(PMapIter) iter = p_map_iter_new (NULL, TRUE, 1);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  /* A context of its own, freed at the end, so that a leaked source is
   * lost, not still reachable from the global default context. */
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (context, FALSE);
  LateCancelData data = { loop, NULL, NULL };
  CancelRace race = { iter, };

  g_mutex_init (&race.mutex);
  g_cond_init (&race.cond);
  g_main_context_push_thread_default (context);

  /* Connected first, so that it runs before the iterator's handler. */
  g_signal_connect (cancellable, "cancelled", G_CALLBACK (push_while_cancelling), &race);
  p_map_iter_next_async (iter, cancellable, late_cancelled_next_done, &data);
  g_cancellable_cancel (cancellable);
  g_main_loop_run (loop);

  /* The pool thread waited for the cancel to end before it let the
   * waiter go. */
  g_assert_false (race.pushed_during_cancel);

  g_mutex_lock (&race.mutex);
  while (!race.pushed)
    g_cond_wait (&race.cond, &race.mutex);
  g_mutex_unlock (&race.mutex);
  while (g_main_context_iteration (context, FALSE))
    ;

  /* The item, or, if the pool thread came late, the cancel and then the
   * item for the next call. */
  if (data.value != NULL)
    {
      g_assert_no_error (data.error);
      g_assert_cmpint (g_variant_get_int64 (data.value), ==, 42);
      g_clear_pointer (&data.value, g_variant_unref);
    }
  else
    {
      g_autoptr(GVariant) value = NULL;

      g_test_message ("the item came after the cancel");
      g_assert_error (data.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_clear_error (&data.error);
      value = p_map_iter_next (iter, 0, NULL);
      g_assert_cmpint (g_variant_get_int64 (value), ==, 42);
    }
  g_assert_null (p_map_iter_next (iter, 0, NULL));

  g_main_context_pop_thread_default (context);
  g_mutex_clear (&race.mutex);
  g_cond_clear (&race.cond);
}

/* }}} */
/* {{{ Cancellation */

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

/* Until both workers are ready: a map of two items then runs one on each. */
static void
wait_for_two_workers (PPool *pool)
{
  for (int attempt = 0; attempt < 1000; attempt++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) pids = p_pool_map (pool, "pid", g_variant_new_parsed ("[@x 0, 0]"), 1, NULL, &error);
      g_autoptr(GVariant) first = NULL;
      g_autoptr(GVariant) second = NULL;

      g_assert_no_error (error);
      g_variant_get_child (pids, 0, "v", &first);
      g_variant_get_child (pids, 1, "v", &second);
      if (g_variant_get_int64 (first) != g_variant_get_int64 (second))
        return;
      g_usleep (10000);
    }

  g_assert_not_reached ();
}

/* An imap cancelled while its first item runs and the second is back:
 * the second is still returned, in its place, after the error that takes
 * the first one's. */
static void
test_imap_cancel_after_gap (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PMapIter) iter = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  wait_for_two_workers (pool);

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

/* }}} */
/* {{{ Threads */

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

/* }}} */
/* {{{ Payloads */

static void
check_big_payload (PPool *pool,
                   gsize  size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) bytes = NULL;
  g_autoptr(GVariant) echoed = NULL;
  g_autoptr(GVariant) made = NULL;
  guint8 *data = g_malloc (size);
  const guint8 *back;
  gsize length;

  for (gsize i = 0; i < size; i++)
    data[i] = (i * 7 + (i >> 12)) & 0xff;
  bytes = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size, TRUE, g_free, data));

  echoed = p_pool_apply (pool, "echo", bytes, NULL, &error);
  g_assert_no_error (error);
  back = g_variant_get_fixed_array (echoed, &length, 1);
  g_assert_cmpuint (length, ==, size);
  g_assert_true (size == 0 || memcmp (back, data, size) == 0);

  /* Big results, made in the worker. */
  made = p_pool_apply (pool, "make_bytes", g_variant_new_int64 (size), NULL, &error);
  g_assert_no_error (error);
  back = g_variant_get_fixed_array (made, &length, 1);
  g_assert_cmpuint (length, ==, size);
  for (gsize i = 0; i < size; i += 4093)
    g_assert_cmpuint (back[i], ==, i % 251);
}

static void
test_payload_sizes (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  gsize sizes[] = { 0, 1, 7, 8, 9, 4095, 32 * 1024 - 8, 32 * 1024, 32 * 1024 + 1,
                    64 * 1024, 1024 * 1024 + 3, 17 * 1024 * 1024 };

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    check_big_payload (pool, sizes[i]);
}

/* A map's large results are kept where they arrived rather than copied
 * into one array; they must come back the same, in order, whatever the
 * chunks. */
static void
test_payload_map (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GVariantBuilder) builder = g_variant_builder_new (G_VARIANT_TYPE ("aay"));
  g_autoptr(GVariant) items = NULL;
  const gsize sizes[] = { 64 * 1024, 20 * 1024, 0, 1, 300 * 1024, 16 * 1024 };

  for (gsize k = 0; k < G_N_ELEMENTS (sizes); k++)
    {
      guint8 *data = g_malloc (sizes[k]);

      if (sizes[k] > 0)  /* g_malloc (0) is NULL, which memset must not see */
        memset (data, (int) k + 1, sizes[k]);
      g_variant_builder_add_value (builder, g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, sizes[k],
                                                                     TRUE, g_free, data));
    }
  items = g_variant_ref_sink (g_variant_builder_end (builder));

  for (guint chunk_size = 1; chunk_size <= 4; chunk_size++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) echoed = p_pool_map (pool, "echo", items, chunk_size, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (g_variant_n_children (echoed), ==, G_N_ELEMENTS (sizes));
      for (gsize k = 0; k < G_N_ELEMENTS (sizes); k++)
        {
          g_autoptr(GVariant) boxed = g_variant_get_child_value (echoed, k);
          g_autoptr(GVariant) value = g_variant_get_variant (boxed);
          g_autoptr(GVariant) item = g_variant_get_child_value (items, k);

          g_assert_cmpvariant (value, item);
        }
    }
}

static void
test_payload_256mib (void)
{
  g_autoptr(PPool) pool = NULL;

  if (g_getenv ("P_TEST_UNDER_VALGRIND") != NULL)
    {
      g_test_skip ("Too slow under valgrind; sizes up to 17 MiB are checked");
      return;
    }

  pool = new_pool (1);

  check_big_payload (pool, 256 * 1024 * 1024);
}

static void
test_payload_too_large (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = NULL;
  gsize size = (gsize) 512 * 1024 * 1024 + 1;
  guint8 *data = g_malloc0 (size);

  /* Over the limit on the way in... */
  result = p_pool_apply (pool, "echo",
                         g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size, TRUE, g_free, data),
                         NULL, &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);

  /* ...and on the way out: the worker says so instead. */
  result = p_pool_apply (pool, "make_bytes", g_variant_new_int64 (size), NULL, &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);

  g_assert_cmpint (apply_int64 (pool, "square", 6), ==, 36);
}

/* }}} */
/* {{{ Lifecycle */

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

  for (int i = 0; i < 6; i++)
    {
      g_autoptr(GVariant) value = p_result_get (running[i], 0, &error);

      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_clear_error (&error);
      g_object_unref (running[i]);
    }

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
  PPool *pool = new_pool (3);
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

static void
test_signals (void)
{
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  struct { GThread *thread; guint counts[2]; } data = { g_thread_self (), { 0, 0 } };
  g_autoptr(GVariant) value = NULL;

  pool = g_initable_new (P_TYPE_POOL, NULL, &error, "processes", 2, NULL);
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

/* }}} */
/* {{{ Worker death */

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

/* }}} */
/* {{{ Bad worker commands */

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

/* }}} */
/* {{{ What workers inherit */

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

/* }}} */
/* {{{ Stock worker */

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

/* }}} */

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
  g_test_add_func ("/pool/sealed/echo", test_sealed_echo);
  g_test_add_func ("/pool/sealed/made-and-part", test_sealed_made_and_part);
  g_test_add_func ("/pool/sealed/map", test_sealed_map);
  g_test_add_func ("/pool/sealed/worker-fds", test_sealed_worker_fds);
  g_test_add_func ("/pool/sealed/worker-deaths", test_sealed_worker_deaths);
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
  g_test_add_func ("/pool/imap/timeout", test_imap_timeout);
  g_test_add_func ("/pool/imap/async", test_imap_async);
  g_test_add_func ("/pool/imap/async-outstanding", test_imap_async_outstanding);
  g_test_add_func ("/pool/imap/next-async-cancel", test_imap_next_async_cancel);
  g_test_add_func ("/pool/imap/next-async-cancel-late", test_imap_next_async_cancel_late);
  g_test_add_func ("/pool/cancel/queued", test_cancel_queued);
  g_test_add_func ("/pool/recall-behind-long-task", test_recall_behind_long_task);
  g_test_add_func ("/pool/cancel/before-submit", test_cancel_before_submit);
  g_test_add_func ("/pool/imap/cancel-after-gap", test_imap_cancel_after_gap);
  g_test_add_func ("/map-iter/fail-after-gap", test_map_iter_fail_after_gap);
  g_test_add_func ("/map-iter/next-async-served-while-cancelled", test_map_iter_next_async_served_while_cancelled);
  g_test_add_func ("/pool/cancel/map-queued", test_cancel_map_queued);
  g_test_add_func ("/pool/threads", test_threads);
  g_test_add_func ("/pool/payload/sizes", test_payload_sizes);
  g_test_add_func ("/pool/payload/map", test_payload_map);
  g_test_add_func ("/pool/payload/256mib", test_payload_256mib);
  g_test_add_func ("/pool/payload/too-large", test_payload_too_large);
  g_test_add_func ("/pool/lifecycle/shutdown", test_shutdown);
  g_test_add_func ("/pool/lifecycle/terminate", test_terminate);
  g_test_add_func ("/pool/lifecycle/join-running", test_join_running);
  g_test_add_func ("/pool/lifecycle/unref-reaps", test_unref_reaps);
  g_test_add_func ("/pool/lifecycle/dropped-handles", test_dropped_handles);
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
  g_test_add_func ("/pool/modules", test_modules);


  return g_test_run ();
}
