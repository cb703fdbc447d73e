/* test-pool-payload.c: large arguments and results through the public API: sealed memfds, sizes up to the limit
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
  g_autoptr(PPool) pool = new_pool_of_ready (2);
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

int
main (int   argc,
      char *argv[])
{
  test_functions_serve_if_requested ();

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pool/sealed/echo", test_sealed_echo);
  g_test_add_func ("/pool/sealed/made-and-part", test_sealed_made_and_part);
  g_test_add_func ("/pool/sealed/map", test_sealed_map);
  g_test_add_func ("/pool/sealed/worker-fds", test_sealed_worker_fds);
  g_test_add_func ("/pool/sealed/worker-deaths", test_sealed_worker_deaths);
  g_test_add_func ("/pool/payload/sizes", test_payload_sizes);
  g_test_add_func ("/pool/payload/map", test_payload_map);
  g_test_add_func ("/pool/payload/256mib", test_payload_256mib);
  g_test_add_func ("/pool/payload/too-large", test_payload_too_large);

  return g_test_run ();
}
