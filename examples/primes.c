/* primes.c: a CPU-bound demo: count the primes below N, serially and
 * with a pool, and print the speed-up.
 *
 *   primes [N] [PROCESSES]
 *
 * The program is its own worker (see doctest.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>

#include <processing-glib/processing-glib.h>

#define N_RANGES 64

static gboolean
is_prime (guint64 n)
{
  if (n < 2)
    return FALSE;
  if (n % 2 == 0)
    return n == 2;
  for (guint64 d = 3; d * d <= n; d += 2)
    if (n % d == 0)
      return FALSE;
  return TRUE;
}

static guint64
count_primes (guint64 start,
              guint64 end)
{
  guint64 count = 0;

  for (guint64 n = start; n < end; n++)
    count += is_prime (n);

  return count;
}

/* (tt) start, end → t the number of primes in [start, end) */
static GVariant *
count_primes_task (GVariant      *args,
                   GCancellable  *cancellable,
                   gpointer       user_data,
                   GError       **error)
{
  guint64 start, end;

  g_variant_get (args, "(tt)", &start, &end);

  return g_variant_new_uint64 (count_primes (start, end));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GVariant) counts = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GVariantBuilder) ranges = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(tt)"));
  guint64 limit = argc > 1 ? g_ascii_strtoull (argv[1], NULL, 10) : 3000000;
  guint processes = argc > 2 ? atoi (argv[2]) : 0;
  guint64 serial_count, pool_count = 0;
  gint64 start;
  double serial_time, pool_time;

  if (p_worker_is_requested ())
    {
      g_autoptr(PWorker) worker = p_worker_new ();

      p_worker_add_function (worker, "count_primes", count_primes_task, NULL, NULL);
      if (!p_worker_run (worker, &error))
        {
          g_printerr ("worker: %s\n", error->message);
          return 1;
        }
      return 0;
    }

  pool = p_pool_new (processes, NULL, &error);
  if (pool == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  start = g_get_monotonic_time ();
  serial_count = count_primes (0, limit);
  serial_time = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;

  /* Many ranges, so that the workers stay busy to the end. */
  for (guint i = 0; i < N_RANGES; i++)
    g_variant_builder_add (&ranges, "(tt)", limit * i / N_RANGES, limit * (i + 1) / N_RANGES);

  start = g_get_monotonic_time ();
  counts = p_pool_map (pool, "count_primes", g_variant_builder_end (&ranges), 1, NULL, &error);
  pool_time = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  if (counts == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  for (gsize i = 0; i < g_variant_n_children (counts); i++)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (counts, i);
      g_autoptr(GVariant) count = g_variant_get_variant (boxed);

      pool_count += g_variant_get_uint64 (count);
    }

  g_print ("primes below %" G_GUINT64_FORMAT ": %" G_GUINT64_FORMAT "\n", limit, pool_count);
  g_print ("serial:     %.3f s\n", serial_time);
  g_print ("pool (%u):   %.3f s\n", p_pool_get_processes (pool), pool_time);
  g_print ("speed-up:   %.2fx\n", serial_time / pool_time);

  if (pool_count != serial_count)
    {
      g_printerr ("the pool counted %" G_GUINT64_FORMAT ", not %" G_GUINT64_FORMAT "\n",
                  pool_count, serial_count);
      return 1;
    }

  p_pool_shutdown (pool);
  return p_pool_join (pool, NULL) ? 0 : 1;
}
