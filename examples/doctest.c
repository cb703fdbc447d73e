/* doctest.c: the processing.Pool doctest, in C
 *
 *   >>> pool = Pool(4)
 *   >>> result = pool.apply_async(square, [4])
 *   >>> result.wait(); print(result.ready(), result.successful(), result.get())
 *   True True 16
 *   >>> print(pool.map(square, range(10)))
 *   [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]
 *   >>> it = pool.imap(square, range(10))
 *   >>> print(next(it)); print(next(it))
 *   0
 *   1
 *
 * The program is its own worker: the pool starts it again, and
 * p_worker_is_requested() tells it to serve "square" instead.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <processing-glib/processing-glib.h>

static GVariant *
square (GVariant      *args,
        GCancellable  *cancellable,
        gpointer       user_data,
        GError       **error)
{
  gint64 x;

  if (!g_variant_is_of_type (args, G_VARIANT_TYPE_INT64))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "square() takes an int64, not a %s", g_variant_get_type_string (args));
      return NULL;
    }

  x = g_variant_get_int64 (args);
  return g_variant_new_int64 (x * x);
}

static GVariant *
range (gint64 n)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("ax"));

  for (gint64 i = 0; i < n; i++)
    g_variant_builder_add (&builder, "x", i);

  return g_variant_builder_end (&builder);
}

static void
print_list (GVariant *av)
{
  GString *line = g_string_new ("[");

  for (gsize i = 0; i < g_variant_n_children (av); i++)
    {
      g_autoptr(GVariant) item = g_variant_get_child_value (av, i);
      g_autoptr(GVariant) value = g_variant_get_variant (item);

      g_string_append_printf (line, "%s%" G_GINT64_FORMAT, i ? ", " : "", g_variant_get_int64 (value));
    }

  g_print ("%s]\n", line->str);
  g_string_free (line, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(PPool) pool = NULL;
  g_autoptr(PResult) result = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) squares = NULL;
  g_autoptr(PMapIter) iter = NULL;
  g_autoptr(GError) error = NULL;

  if (p_worker_is_requested ())
    {
      g_autoptr(PWorker) worker = p_worker_new ();

      p_worker_add_function (worker, "square", square, NULL, NULL);
      if (!p_worker_run (worker, &error))
        {
          g_printerr ("worker: %s\n", error->message);
          return 1;
        }
      return 0;
    }

  pool = p_pool_new (4, NULL, &error);
  if (pool == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  result = p_pool_submit (pool, "square", g_variant_new_int64 (4), NULL);
  p_result_wait (result, -1);
  value = p_result_get (result, G_USEC_PER_SEC, &error);
  g_assert_no_error (error);
  g_print ("%s %s %" G_GINT64_FORMAT "\n",
           p_result_ready (result) ? "True" : "False",
           p_result_successful (result) ? "True" : "False",
           g_variant_get_int64 (value));

  squares = p_pool_map (pool, "square", range (10), 0, NULL, &error);
  g_assert_no_error (error);
  print_list (squares);

  iter = p_pool_imap (pool, "square", range (10), 0, NULL);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GVariant) next = p_map_iter_next (iter, -1, &error);

      g_assert_no_error (error);
      g_print ("%" G_GINT64_FORMAT "\n", g_variant_get_int64 (next));
    }

  p_pool_shutdown (pool);
  if (!p_pool_join (pool, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  return 0;
}
