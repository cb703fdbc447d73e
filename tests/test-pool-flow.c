/* test-pool-flow.c: flow through the public API: room for work
 * (max-queued), an elastic pool (min-processes, idle-timeout), what the
 * pool reports of itself (p_pool_get_stats())
 *
 * The test program is its own worker: pools re-execute it, and
 * test_functions_serve_if_requested() serves tests/test-functions.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <string.h>

#include "test-functions.h"

static PPool *
new_pool_with (const char *first_property,
               ...)
{
  g_autoptr(GError) error = NULL;
  PPool *pool;
  va_list args;

  va_start (args, first_property);
  pool = (PPool *) g_initable_new_valist (P_TYPE_POOL, first_property, args, NULL, &error);
  va_end (args);
  g_assert_no_error (error);

  return pool;
}

static guint64
stats_get_uint64 (PPool      *pool,
                  const char *key)
{
  g_autoptr(GVariant) stats = p_pool_get_stats (pool);
  guint64 value = 0;

  g_assert_true (g_variant_lookup (stats, key, "t", &value));
  return value;
}

/* {{{ Room for work */

#define N_THREADS 8
#define N_PER_THREAD 100

typedef struct
{
  PPool *pool;
  guint index;
} Submitter;

/* Submits its share all at once, then takes the results. */
static gpointer
submitter_main (gpointer user_data)
{
  Submitter *submitter = user_data;
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < N_PER_THREAD; i++)
    {
      gint64 x = submitter->index * N_PER_THREAD + i;

      /* Blocking and asynchronous calls alike. */
      if (i % 10 == 0)
        g_assert_cmpint (apply_int64 (submitter->pool, "square", x), ==, x * x);
      else
        g_ptr_array_add (results, p_pool_submit (submitter->pool, "square", g_variant_new_int64 (x), NULL));
    }

  for (guint i = 0, k = 0; i < N_PER_THREAD; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = NULL;
      gint64 x = submitter->index * N_PER_THREAD + i;

      if (i % 10 == 0)
        continue;

      value = p_result_get (results->pdata[k++], -1, &error);
      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int64 (value), ==, x * x);
    }

  return NULL;
}

/* With room for two tasks, eight threads submitting at once: nothing is
 * dropped, nobody waits for ever, and every result is right. */
static void
test_max_queued_threads (void)
{
  g_autoptr(PPool) pool = new_pool_with ("processes", 2, "max-queued", 2, NULL);
  Submitter submitters[N_THREADS];
  GThread *threads[N_THREADS];
  guint max_queued;

  g_object_get (pool, "max-queued", &max_queued, NULL);
  g_assert_cmpuint (max_queued, ==, 2);

  for (guint i = 0; i < N_THREADS; i++)
    {
      submitters[i] = (Submitter) { pool, i };
      threads[i] = g_thread_new ("submitter", submitter_main, &submitters[i]);
    }
  for (guint i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);

  g_assert_cmpuint (stats_get_uint64 (pool, "completed"), ==, N_THREADS * N_PER_THREAD);
  g_assert_cmpuint (stats_get_uint (pool, "queued"), ==, 0);
}

/* Work that waits for room is counted as queued, and cancelling it fails
 * it at once: it never runs, and what came after it still does. */
static void
test_max_queued_cancel_held (void)
{
  g_autoptr(PPool) pool = new_pool_with ("processes", 1, "max-queued", 1, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PResult) running = NULL;
  g_autoptr(PResult) sent = NULL;
  g_autoptr(PResult) waiting = NULL;
  g_autoptr(PResult) held = NULL;
  g_autoptr(PResult) after = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  /* One runs (a minute, unless cancelled), one is sent behind it, one
   * waits for the worker, the next two wait for room. */
  running = p_pool_submit (pool, "wait_for_cancel", g_variant_new_int64 (60000), cancellable);
  sent = p_pool_submit (pool, "square", g_variant_new_int64 (1), NULL);
  waiting = p_pool_submit (pool, "square", g_variant_new_int64 (2), NULL);
  held = p_pool_submit (pool, "square", g_variant_new_int64 (3), cancellable);
  after = p_pool_submit (pool, "square", g_variant_new_int64 (4), NULL);
  while (stats_get_uint (pool, "busy") < 1)
    g_usleep (1000);
  g_assert_cmpuint (stats_get_uint (pool, "queued"), ==, 3);

  g_cancellable_cancel (cancellable);
  value = p_result_get (held, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  value = p_result_get (running, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  value = p_result_get (sent, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 1);
  g_clear_pointer (&value, g_variant_unref);
  value = p_result_get (waiting, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 4);
  g_clear_pointer (&value, g_variant_unref);
  value = p_result_get (after, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 16);

  /* The held task never ran: only the three squares did. */
  g_assert_cmpuint (stats_get_uint64 (pool, "completed"), ==, 3);
}

/* }}} */
/* {{{ An elastic pool */

static void
count_exit (PPool    *pool,
            guint     pid,
            int       wait_status,
            gpointer  user_data)
{
  guint *n_clean_exits = user_data;

  /* An idle worker exits cleanly, when told to. */
  g_assert_true (WIFEXITED (wait_status) && WEXITSTATUS (wait_status) == 0);
  (*n_clean_exits)++;
}

/* Workers above min-processes exit once idle that long; work started
 * again on demand; min-processes and idle-timeout apply while the pool
 * runs. */
static void
test_elastic_idle (void)
{
  g_autoptr(PPool) pool = new_pool_with ("processes", 2, "min-processes", 2, NULL);
  guint n_clean_exits = 0;
  guint min_processes;
  gint64 idle_timeout;

  g_signal_connect (pool, "worker-exited", G_CALLBACK (count_exit), &n_clean_exits);

  /* Two are kept. */
  while (stats_get_uint (pool, "idle") < 2)
    g_usleep (1000);
  g_assert_cmpint (apply_int64 (pool, "square", 3), ==, 9);

  /* None need be: both exit once idle for 50 ms. */
  g_object_set (pool, "min-processes", 0, "idle-timeout", (gint64) 50000, NULL);
  g_object_get (pool, "min-processes", &min_processes, "idle-timeout", &idle_timeout, NULL);
  g_assert_cmpuint (min_processes, ==, 0);
  g_assert_cmpint (idle_timeout, ==, 50000);
  while (stats_get_uint (pool, "workers") > 0)
    g_usleep (5000);
  while (n_clean_exits < 2)
    g_main_context_iteration (NULL, TRUE);

  /* Work comes: a worker starts for it. */
  g_assert_cmpint (apply_int64 (pool, "square", 4), ==, 16);
  g_assert_cmpuint (stats_get_uint (pool, "workers"), >=, 1);
  g_assert_cmpuint (stats_get_uint64 (pool, "failed"), ==, 0);
}

/* A pool made with min-processes starts that many without work, and never
 * more than processes. */
static void
test_elastic_min (void)
{
  g_autoptr(PPool) pool = new_pool_with ("processes", 3, "min-processes", 5, NULL);

  while (stats_get_uint (pool, "idle") < 3)
    g_usleep (1000);
  g_usleep (50000);
  g_assert_cmpuint (stats_get_uint (pool, "workers"), ==, 3);
}

/* }}} */
/* {{{ Statistics */

typedef struct
{
  PPool *pool;
  gint stop;
  guint n_samples;
} Sampler;

/* Reads the statistics while tasks run: they always agree. */
static gpointer
sampler_main (gpointer user_data)
{
  Sampler *sampler = user_data;
  guint64 last_completed = 0;

  while (!g_atomic_int_get (&sampler->stop))
    {
      g_autoptr(GVariant) stats = p_pool_get_stats (sampler->pool);
      g_autoptr(GVariant) per_worker = NULL;
      guint32 workers, busy, idle, starting, queued;
      guint64 completed, failed;
      guint n_busy = 0;
      guint n_live = 0;

      g_assert_true (g_variant_lookup (stats, "workers", "u", &workers));
      g_assert_true (g_variant_lookup (stats, "busy", "u", &busy));
      g_assert_true (g_variant_lookup (stats, "idle", "u", &idle));
      g_assert_true (g_variant_lookup (stats, "starting", "u", &starting));
      g_assert_true (g_variant_lookup (stats, "queued", "u", &queued));
      g_assert_true (g_variant_lookup (stats, "completed", "t", &completed));
      g_assert_true (g_variant_lookup (stats, "failed", "t", &failed));
      per_worker = g_variant_lookup_value (stats, "per-worker", G_VARIANT_TYPE ("aa{sv}"));
      g_assert_nonnull (per_worker);

      g_assert_cmpuint (busy + idle + starting, <=, workers);
      g_assert_cmpuint (g_variant_n_children (per_worker), ==, workers);
      g_assert_cmpuint (completed, >=, last_completed);
      last_completed = completed;

      for (gsize i = 0; i < g_variant_n_children (per_worker); i++)
        {
          g_autoptr(GVariant) worker = g_variant_get_child_value (per_worker, i);
          guint32 pid, in_flight;
          const char *state;
          gint64 age;

          g_assert_true (g_variant_lookup (worker, "pid", "u", &pid));
          g_assert_true (g_variant_lookup (worker, "state", "&s", &state));
          /* Never more than processes take tasks; one that died may
           * still be reaped beside its replacement. */
          n_live += g_str_equal (state, "starting") || g_str_equal (state, "ready");
          g_assert_true (g_variant_lookup (worker, "in-flight", "u", &in_flight));
          g_assert_true (g_variant_lookup (worker, "task-age", "x", &age));
          g_assert_cmpuint (pid, >, 0);
          g_assert_true ((in_flight > 0) == (age >= 0));
          n_busy += in_flight > 0;
        }
      g_assert_cmpuint (n_busy, ==, busy);
      g_assert_cmpuint (n_live, <=, 2);

      sampler->n_samples++;
      g_usleep (500);
    }

  return NULL;
}

/* Under load and through worker deaths, the statistics agree with each
 * other and, at the end, with what happened: every task completed but the
 * ones that killed their worker, which failed. */
static void
test_stats_load_and_deaths (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func (g_object_unref);
  Sampler sampler = { pool, FALSE, 0 };
  GThread *thread = g_thread_new ("sampler", sampler_main, &sampler);
  guint n_deaths = 0;

  for (guint i = 0; i < 400; i++)
    {
      gboolean dies = i % 100 == 50;

      n_deaths += dies;
      g_ptr_array_add (results, dies ? p_pool_submit (pool, "die", g_variant_new_int32 (SIGKILL), NULL)
                                     : p_pool_submit (pool, "square", g_variant_new_int64 (i), NULL));
    }

  for (guint i = 0; i < results->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = p_result_get (results->pdata[i], -1, &error);

      if (i % 100 == 50)
        g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
      else
        g_assert_no_error (error);
    }

  g_atomic_int_set (&sampler.stop, TRUE);
  g_thread_join (thread);
  g_test_message ("%u samples", sampler.n_samples);
  g_assert_cmpuint (sampler.n_samples, >, 0);

  g_assert_cmpuint (stats_get_uint64 (pool, "completed"), ==, 400 - n_deaths);
  g_assert_cmpuint (stats_get_uint64 (pool, "failed"), ==, n_deaths);
  g_assert_cmpuint (stats_get_uint (pool, "busy"), ==, 0);
  g_assert_cmpuint (stats_get_uint (pool, "queued"), ==, 0);

  /* After the pool ended, too. */
  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, NULL));
  g_assert_cmpuint (stats_get_uint (pool, "workers"), ==, 0);
  g_assert_cmpuint (stats_get_uint64 (pool, "completed"), ==, 400 - n_deaths);
}

/* }}} */

int
main (int   argc,
      char *argv[])
{
  test_functions_serve_if_requested ();

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pool/flow/max-queued/threads", test_max_queued_threads);
  g_test_add_func ("/pool/flow/max-queued/cancel-held", test_max_queued_cancel_held);
  g_test_add_func ("/pool/flow/elastic/idle", test_elastic_idle);
  g_test_add_func ("/pool/flow/elastic/min", test_elastic_min);
  g_test_add_func ("/pool/flow/stats/load-and-deaths", test_stats_load_and_deaths);

  return g_test_run ();
}
