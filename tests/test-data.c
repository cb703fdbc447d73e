/* test-data.c: bytes in and out (p-data.h), p_result_cancel() and
 * p_map_iter_wait()
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <processing-glib/processing-glib.h>

#include "test-functions.h"

/* The bytes reversed; "fail" fails; "sleep" waits for its cancellable. */
static GBytes *
reverse (GBytes        *data,
         GCancellable  *cancellable,
         gpointer       user_data,
         GError       **error)
{
  gsize size;
  const guint8 *in = g_bytes_get_data (data, &size);
  guint8 *out = g_malloc (size);

  if (size == 4 && memcmp (in, "fail", 4) == 0)
    {
      g_free (out);
      g_set_error_literal (error, TEST_ERROR, 11, "asked to fail");
      return NULL;
    }

  if (size == 5 && memcmp (in, "sleep", 5) == 0)
    {
      while (!g_cancellable_is_cancelled (cancellable))
        g_usleep (1000);
    }

  for (gsize i = 0; i < size; i++)
    out[i] = in[size - 1 - i];

  return g_bytes_new_take (out, size);
}

/* reverse() as a PDataFunc; "none" returns nothing without an error. */
static GByteArray *
reverse_data (const guint8  *data,
              gsize          size,
              GCancellable  *cancellable,
              gpointer       user_data,
              GError       **error)
{
  g_autoptr(GBytes) in = g_bytes_new (data, size);
  g_autoptr(GBytes) out = NULL;

  if (size == 4 && memcmp (data, "none", 4) == 0)
    return NULL;

  out = reverse (in, cancellable, user_data, error);
  if (out == NULL)
    return NULL;

  return g_bytes_unref_to_array (g_steal_pointer (&out));
}

static void
serve_if_requested (void)
{
  g_autoptr(PWorker) worker = NULL;
  g_autoptr(GError) error = NULL;

  if (!p_worker_is_requested ())
    return;

  worker = p_worker_new ();
  test_functions_register (worker);
  p_worker_add_bytes_function (worker, "reverse", reverse, NULL, NULL);
  p_worker_add_data_function (worker, "reverse-data", reverse_data, NULL, NULL);
  if (!p_worker_run (worker, &error))
    g_error ("%s", error->message);
  exit (0);
}

static void
assert_bytes (GBytes     *bytes,
              const char *expected,
              gsize       size)
{
  gsize got_size;
  const guint8 *got = g_bytes_get_data (bytes, &got_size);

  g_assert_cmpmem (got, got_size, expected, size);
}

static void
test_round_trip (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(PResult) result = NULL;
  g_autoptr(PResult) empty = NULL;
  g_autoptr(PResult) large = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) no_bytes = NULL;
  g_autoptr(GBytes) large_bytes = NULL;
  g_autoptr(GError) error = NULL;
  const guint8 data[] = { 'a', 0, 'b', 0xff };
  gsize large_size = 1 << 20;
  g_autofree guint8 *large_data = g_malloc (large_size);

  result = p_pool_submit_data (pool, "reverse", data, sizeof data, NULL);
  bytes = p_result_get_bytes (result, -1, &error);
  g_assert_no_error (error);
  assert_bytes (bytes, "\xff" "b\0a", 4);

  empty = p_pool_submit_data (pool, "reverse", NULL, 0, NULL);
  no_bytes = p_result_get_bytes (empty, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (no_bytes), ==, 0);

  /* Large enough to travel in shared memory. */
  for (gsize i = 0; i < large_size; i++)
    large_data[i] = i % 251;
  large = p_pool_submit_data (pool, "echo", large_data, large_size, NULL);
  large_bytes = p_result_get_bytes (large, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (large_bytes, NULL), g_bytes_get_size (large_bytes),
                   large_data, large_size);
}

/* p_result_get_data(): the result's bytes, without a GBytes; a large
 * argument is the caller's to change as soon as it is submitted. */
static void
test_get_data (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(PResult) result = NULL;
  g_autoptr(PResult) empty = NULL;
  g_autoptr(PResult) large = NULL;
  g_autoptr(PResult) not_bytes = NULL;
  g_autoptr(PResult) failed = NULL;
  g_autoptr(GError) error = NULL;
  gsize large_size = 1 << 20;
  g_autofree guint8 *large_data = g_malloc (large_size);
  g_autofree guint8 *expected = NULL;
  const guint8 *got;
  gsize size = 42;

  result = p_pool_submit_data (pool, "reverse", (const guint8 *) "abc", 3, NULL);
  got = p_result_get_data (result, -1, &size, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (got, size, "cba", 3);
  /* The same bytes again: the result keeps them. */
  g_assert_true (p_result_get_data (result, 0, &size, &error) == got);
  g_assert_no_error (error);

  empty = p_pool_submit_data (pool, "reverse", NULL, 0, NULL);
  got = p_result_get_data (empty, -1, &size, &error);
  g_assert_no_error (error);
  g_assert_nonnull (got);
  g_assert_cmpuint (size, ==, 0);

  for (gsize i = 0; i < large_size; i++)
    large_data[i] = i % 253;
  expected = g_memdup2 (large_data, large_size);
  large = p_pool_submit_data (pool, "reverse", large_data, large_size, NULL);
  memset (large_data, 0, large_size);
  got = p_result_get_data (large, -1, &size, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (size, ==, large_size);
  for (gsize i = 0; i < large_size; i++)
    g_assert_cmpuint (got[i], ==, expected[large_size - 1 - i]);

  not_bytes = p_pool_submit (pool, "square", g_variant_new_int64 (3), NULL);
  g_assert_null (p_result_get_data (not_bytes, -1, &size, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_cmpuint (size, ==, 0);
  g_clear_error (&error);

  failed = p_pool_submit_data (pool, "reverse", (const guint8 *) "sleep", 5, NULL);
  g_assert_null (p_result_get_data (failed, 0, &size, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);
  g_assert_true (p_result_cancel (failed));
  g_assert_null (p_result_get_data (failed, -1, &size, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* A PDataFunc: bytes in, bytes out, its error, no value, a wrong argument. */
static void
test_data_function (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(PResult) result = p_pool_submit_data (pool, "reverse-data", (const guint8 *) "abc", 3, NULL);
  g_autoptr(PResult) empty = p_pool_submit_data (pool, "reverse-data", NULL, 0, NULL);
  g_autoptr(PResult) failed = p_pool_submit_data (pool, "reverse-data", (const guint8 *) "fail", 4, NULL);
  g_autoptr(PResult) none = p_pool_submit_data (pool, "reverse-data", (const guint8 *) "none", 4, NULL);
  g_autoptr(PResult) not_bytes = p_pool_submit (pool, "reverse-data", g_variant_new_int64 (3), NULL);
  g_autoptr(GError) error = NULL;
  const guint8 *got;
  gsize size;

  got = p_result_get_data (result, -1, &size, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (got, size, "cba", 3);

  got = p_result_get_data (empty, -1, &size, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (size, ==, 0);

  g_assert_null (p_result_get_data (failed, -1, &size, &error));
  g_assert_error (error, TEST_ERROR, 11);
  g_clear_error (&error);

  g_assert_null (p_result_get_data (none, -1, &size, &error));
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_FAILED);
  g_clear_error (&error);

  g_assert_null (p_result_get_data (not_bytes, -1, &size, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

static void
test_errors (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(PResult) failed = p_pool_submit_data (pool, "reverse", (const guint8 *) "fail", 4, NULL);
  g_autoptr(PResult) not_bytes = p_pool_submit (pool, "square", g_variant_new_int64 (3), NULL);
  g_autoptr(PResult) wrong_argument = p_pool_submit (pool, "reverse", g_variant_new_int64 (3), NULL);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  /* The function's own error. */
  bytes = p_result_get_bytes (failed, -1, &error);
  g_assert_null (bytes);
  g_assert_error (error, TEST_ERROR, 11);
  g_clear_error (&error);

  /* A result that is not bytes. */
  bytes = p_result_get_bytes (not_bytes, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  value = p_result_get (not_bytes, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 9);

  /* An argument that is not bytes, for a bytes function. */
  bytes = p_result_get_bytes (wrong_argument, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);

  /* A timeout. */
  {
    g_autoptr(PResult) sleeping = p_pool_submit_data (pool, "reverse", (const guint8 *) "sleep", 5, NULL);

    bytes = p_result_get_bytes (sleeping, 1000, &error);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
    g_clear_error (&error);
    g_assert_true (p_result_cancel (sleeping));
  }
}

static void
test_cancel (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(PResult) running = p_pool_submit_data (pool, "reverse", (const guint8 *) "sleep", 5, NULL);
  g_autoptr(PResult) queued = p_pool_submit_data (pool, "reverse", (const guint8 *) "ab", 2, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PResult) given = p_pool_submit_data (pool, "reverse", (const guint8 *) "sleep", 5, cancellable);
  g_autoptr(PResult) sibling = p_pool_submit (pool, "square", g_variant_new_int64 (3), cancellable);
  g_autoptr(PResult) plain = p_pool_submit (pool, "sleep", g_variant_new_int64 (60000), NULL);
  g_autoptr(PResult) map = p_pool_submit_map (pool, "sleep", g_variant_new_parsed ("[@x 60000, 60000, 1]"), 1, NULL);
  g_autoptr(GVariant) value = NULL;
  g_autoptr(PResult) after = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (p_result_cancel (queued));
  bytes = p_result_get_bytes (queued, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  g_assert_true (p_result_cancel (running));
  bytes = p_result_get_bytes (running, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (p_result_cancel (running));

  /* Only this result's task: not the others submitted with the same
   * cancellable. */
  g_assert_true (p_result_cancel (given));
  g_assert_false (g_cancellable_is_cancelled (cancellable));
  bytes = p_result_get_bytes (given, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  value = p_result_get (sibling, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 9);

  /* Any result: of p_pool_submit(), running for a minute, and of a map. */
  g_assert_true (p_result_cancel (plain));
  g_clear_pointer (&value, g_variant_unref);
  value = p_result_get (plain, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_true (p_result_cancel (map));
  value = p_result_get (map, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (p_result_cancel (map));

  after = p_pool_submit_data (pool, "reverse", (const guint8 *) "xy", 2, NULL);
  bytes = p_result_get_bytes (after, -1, &error);
  g_assert_no_error (error);
  assert_bytes (bytes, "yx", 2);
}

static void
test_map_iter (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GVariant) items = g_variant_ref_sink (g_variant_new_parsed ("[@ay [0x61, 0x62], [], [0x78, 0x79, 0x7a]]"));
  g_autoptr(PMapIter) iter = p_pool_imap (pool, "reverse", items, 1, NULL);
  g_autoptr(PMapIter) numbers = p_pool_imap (pool, "square", g_variant_new_parsed ("[@x 2]"), 1, NULL);
  const char *expected[] = { "ba", "", "zyx" };
  g_autoptr(GBytes) end = NULL;
  g_autoptr(GBytes) none = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(GBytes) bytes = NULL;

      g_assert_true (p_map_iter_wait (iter, -1));
      bytes = p_map_iter_next_bytes (iter, 0, &error);
      g_assert_no_error (error);
      assert_bytes (bytes, expected[i], strlen (expected[i]));
    }
  g_assert_true (p_map_iter_wait (iter, 0));
  end = p_map_iter_next_bytes (iter, 0, &error);
  g_assert_no_error (error);
  g_assert_null (end);

  none = p_map_iter_next_bytes (numbers, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

/* p_map_iter_next_data(): each result's bytes, an empty one too, then
 * FALSE at the end; an error in an item's place, and the items after it. */
static void
test_map_iter_next_data (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GVariant) items = g_variant_ref_sink (g_variant_new_parsed ("[@ay [0x61, 0x62], [], [0x66, 0x61, 0x69, 0x6c], [0x7a]]"));
  g_autoptr(PMapIter) iter = p_pool_imap (pool, "reverse", items, 1, NULL);
  g_autoptr(PMapIter) numbers = p_pool_imap (pool, "square", g_variant_new_parsed ("[@x 2]"), 1, NULL);
  const char *expected[] = { "ba", "", NULL, "z" };
  g_autoptr(GError) error = NULL;
  guint8 *data = (guint8 *) "unset";
  gsize size = 42;

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autofree guint8 *got = NULL;

      if (expected[i] == NULL)
        {
          g_assert_false (p_map_iter_next_data (iter, -1, &got, &size, &error));
          g_assert_error (error, TEST_ERROR, 11);
          g_assert_null (got);
          g_assert_cmpuint (size, ==, 0);
          g_clear_error (&error);
          continue;
        }
      g_assert_true (p_map_iter_next_data (iter, -1, &got, &size, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (got, size, expected[i], strlen (expected[i]));
    }
  g_assert_false (p_map_iter_next_data (iter, -1, &data, &size, &error));
  g_assert_no_error (error);
  g_assert_null (data);
  g_assert_cmpuint (size, ==, 0);

  g_assert_false (p_map_iter_next_data (numbers, -1, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

/* p_map_iter_next_data_many(): the results that are there in one call, a
 * batch stopping before an item that failed, whose error the next call
 * returns; a result that is not bytes is refused alone too. */
static void
test_map_iter_next_data_many (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GVariant) items = g_variant_ref_sink (g_variant_new_parsed (
    "[@ay [0x61, 0x62], [], [0x63], [0x66, 0x61, 0x69, 0x6c], [0x64, 0x65], [0x66]]"));
  g_autoptr(PMapIter) iter = p_pool_imap (pool, "reverse", items, 1, NULL);
  g_autoptr(PMapIter) numbers = p_pool_imap (pool, "square", g_variant_new_parsed ("[@x 2]"), 1, NULL);
  g_autoptr(GString) got = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  guint n_calls = 0, n_errors = 0, n_items = 0;

  /* Every item has arrived: the batches are as large as allowed. */
  while (p_map_iter_get_completed (iter) < 6)
    g_usleep (1000);

  for (;;)
    {
      g_autofree guint8 *data = NULL;
      g_autofree gsize *ends = NULL;
      gsize size;
      guint n;

      if (!p_map_iter_next_data_many (iter, -1, 2, &data, &size, &ends, &n, &error))
        {
          if (error == NULL)
            break;
          g_assert_error (error, TEST_ERROR, 11);
          g_assert_null (data);
          g_assert_cmpuint (n, ==, 0);
          g_clear_error (&error);
          g_string_append (got, "|!");
          n_errors++;
          n_calls++;
          continue;
        }
      g_assert_cmpuint (n, >=, 1);
      g_assert_cmpuint (n, <=, 2);
      g_assert_cmpuint (ends[n - 1], ==, size);
      for (guint i = 0; i < n; i++)
        {
          gsize start = i > 0 ? ends[i - 1] : 0;

          g_string_append_c (got, '|');
          g_string_append_len (got, (const char *) data + start, ends[i] - start);
        }
      n_items += n;
      n_calls++;
    }

  g_assert_cmpstr (got->str, ==, "|ba||c|!|ed|f");
  g_assert_cmpuint (n_items, ==, 5);
  g_assert_cmpuint (n_errors, ==, 1);
  /* [ba, ""], [c], the error, [ed, f]. */
  g_assert_cmpuint (n_calls, ==, 4);

  {
    g_autofree guint8 *data = NULL;
    g_autofree gsize *ends = NULL;
    gsize size;
    guint n;

    g_assert_false (p_map_iter_next_data_many (numbers, -1, 8, &data, &size, &ends, &n, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  }
}

/* p_map_iter_wait() tells a wait that ran out from an item that timed out. */
static void
test_map_iter_wait (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(PMapIter) iter = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  g_object_set (pool, "task-timeout", (gint64) 100000, NULL);
  iter = p_pool_imap (pool, "sleep_deaf", g_variant_new_parsed ("[@x 60000, 1]"), 1, NULL);

  g_assert_false (p_map_iter_wait (iter, 0));
  g_assert_false (p_map_iter_wait (iter, 1000));
  g_assert_true (p_map_iter_wait (iter, -1));
  value = p_map_iter_next (iter, 0, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);

  g_assert_true (p_map_iter_wait (iter, -1));
  value = p_map_iter_next (iter, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 1);
  g_clear_pointer (&value, g_variant_unref);
  g_assert_true (p_map_iter_wait (iter, -1));
  g_assert_null (p_map_iter_next (iter, 0, &error));
  g_assert_no_error (error);
}

int
main (int   argc,
      char *argv[])
{
  serve_if_requested ();

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/data/round-trip", test_round_trip);
  g_test_add_func ("/data/get-data", test_get_data);
  g_test_add_func ("/data/data-function", test_data_function);
  g_test_add_func ("/data/errors", test_errors);
  g_test_add_func ("/data/cancel", test_cancel);
  g_test_add_func ("/data/map-iter", test_map_iter);
  g_test_add_func ("/data/map-iter-next-data", test_map_iter_next_data);
  g_test_add_func ("/data/map-iter-next-data-many", test_map_iter_next_data_many);
  g_test_add_func ("/map-iter/wait", test_map_iter_wait);

  return g_test_run ();
}
