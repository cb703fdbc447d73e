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
  g_autoptr(PPool) raised = new_pool_with ("processes", 3, NULL);

  while (stats_get_uint (pool, "idle") < 3)
    g_usleep (1000);
  g_usleep (50000);
  g_assert_cmpuint (stats_get_uint (pool, "workers"), ==, 3);

  /* Raised later, it starts the workers at once, with no work. */
  g_object_set (raised, "min-processes", 2, NULL);
  while (stats_get_uint (raised, "idle") < 2)
    g_usleep (1000);
  g_usleep (50000);
  g_assert_cmpuint (stats_get_uint (raised, "workers"), ==, 2);
}

/* }}} */
/* {{{ Lazy maps */

typedef struct
{
  gint64 n_items;          /* -1: endless */
  gint64 fail_at;          /* -1: never */
  gint64 n_pulled;
  gint64 n_taken;          /* results the test took or is taking: how far ahead it is pulled */
  guint max_ahead;
  gint destroyed;          /* atomic: the pool's thread may drop the iterator last */
} Source;

static GVariant *
source_next (gpointer  user_data,
             GError  **error)
{
  Source *source = user_data;

  if (source->n_pulled == source->fail_at)
    {
      g_set_error (error, TEST_ERROR, 99, "the source failed at %" G_GINT64_FORMAT, source->n_pulled);
      return NULL;
    }
  if (source->n_pulled == source->n_items)
    return NULL;

  /* Never more than buffersize submitted and not taken, this one
   * included. */
  source->max_ahead = MAX (source->max_ahead, source->n_pulled + 1 - source->n_taken);

  return g_variant_new_int64 (source->n_pulled++);
}

static void
source_destroyed (gpointer user_data)
{
  g_atomic_int_set (&((Source *) user_data)->destroyed, TRUE);
}

/* The iterator lets its source go once nobody holds it (the pool's thread
 * may have held it last, a moment after the last result). */
static void
wait_until_destroyed (Source *source)
{
  while (!g_atomic_int_get (&source->destroyed))
    g_usleep (1000);
}

/* The source is pulled only as results are taken, at most buffersize
 * ahead; the results come in order, then the end, and the iterator lets
 * the source go. */
static void
test_lazy_ordered (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  Source source = { 1000, -1, 0, 0, 0, FALSE };
  PMapIter *iter;

  iter = p_pool_imap_lazy (pool, "square", source_next, &source, source_destroyed, 4, TRUE, NULL);
  g_assert_cmpint (source.n_pulled, ==, 4);
  g_assert_cmpuint (p_map_iter_get_total (iter), ==, 4);

  for (gint64 i = 0; i < 1000; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = NULL;

      /* Taking it lets the next be pulled, before next() returns. */
      source.n_taken++;
      value = p_map_iter_next (iter, -1, &error);
      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int64 (value), ==, i * i);
    }
  g_assert_null (p_map_iter_next (iter, -1, NULL));
  g_assert_cmpuint (source.max_ahead, <=, 4);
  g_assert_cmpuint (p_map_iter_get_total (iter), ==, 1000);
  g_assert_cmpuint (p_map_iter_get_completed (iter), ==, 1000);

  g_object_unref (iter);
  wait_until_destroyed (&source);
}

/* Out of order, from an endless source, as far as the consumer goes;
 * then it is let go. */
static void
test_lazy_unordered_endless (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  Source source = { -1, -1, 0, 0, 0, FALSE };
  g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autofree gint64 *squares = g_new (gint64, 500);
  PMapIter *iter;

  iter = p_pool_imap_lazy (pool, "square", source_next, &source, source_destroyed, 8, FALSE, NULL);

  for (guint i = 0; i < 500; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = NULL;

      source.n_taken++;
      value = p_map_iter_next (iter, -1, &error);
      g_assert_no_error (error);
      squares[i] = g_variant_get_int64 (value);
      g_assert_true (g_hash_table_add (seen, &squares[i]));
    }
  g_assert_cmpuint (source.max_ahead, <=, 8);
  g_assert_cmpint (source.n_pulled, <=, 500 + 8);

  g_object_unref (iter);
  wait_until_destroyed (&source);
  g_assert_cmpint (apply_int64 (pool, "square", 3), ==, 9);
}

/* A source that fails: the results of the items before, in their order
 * (ordered) or all of them (unordered), then its error, then the end. */
static void
test_lazy_source_error (void)
{
  g_autoptr(PPool) pool = new_pool (2);

  for (int ordered = 0; ordered <= 1; ordered++)
    {
      Source source = { -1, 25, 0, 0, 0, FALSE };
      g_autoptr(PMapIter) iter = p_pool_imap_lazy (pool, "square", source_next, &source, NULL, 3, ordered, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) last = NULL;
      gint64 sum = 0;

      for (gint64 i = 0; i < 25; i++)
        {
          g_autoptr(GVariant) value = p_map_iter_next (iter, -1, &error);

          g_assert_no_error (error);
          if (ordered)
            g_assert_cmpint (g_variant_get_int64 (value), ==, i * i);
          sum += g_variant_get_int64 (value);
        }
      g_assert_cmpint (sum, ==, 24 * 25 * 49 / 6);

      last = p_map_iter_next (iter, -1, &error);
      g_assert_null (last);
      g_assert_error (error, TEST_ERROR, 99);
      g_clear_error (&error);
      g_assert_null (p_map_iter_next (iter, -1, &error));
      g_assert_no_error (error);
    }
}

typedef struct
{
  GMainLoop *loop;
  Source *source;
  guint n_taken;
  gint64 sum;
} LazyDrain;

static void
lazy_next_done (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  LazyDrain *drain = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = p_map_iter_next_finish (P_MAP_ITER (object), result, &error);

  g_assert_no_error (error);
  if (value == NULL)
    {
      g_main_loop_quit (drain->loop);
      return;
    }

  drain->n_taken++;
  drain->sum += g_variant_get_int64 (value);
  drain->source->n_taken++;
  p_map_iter_next_async (P_MAP_ITER (object), NULL, lazy_next_done, drain);
}

/* Taken asynchronously, the items are pulled in the iterator's context;
 * cancelling stops the pulling, and what was pulled fails. */
static void
test_lazy_async_and_cancel (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Source source = { 200, -1, 0, 0, 0, FALSE };
  g_autoptr(PMapIter) iter = p_pool_imap_lazy (pool, "square", source_next, &source, NULL, 5, TRUE, NULL);
  LazyDrain drain = { loop, &source, 0, 0 };

  source.n_taken++;
  p_map_iter_next_async (iter, NULL, lazy_next_done, &drain);
  g_main_loop_run (loop);
  g_assert_cmpuint (drain.n_taken, ==, 200);
  g_assert_cmpint (drain.sum, ==, (gint64) 199 * 200 * 399 / 6);
  g_assert_cmpuint (source.max_ahead, <=, 5);

  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();
    Source endless = { -1, -1, 0, 0, 0, FALSE };
    g_autoptr(PMapIter) cancelled = p_pool_imap_lazy (pool, "sleep", source_next, &endless, NULL, 4, TRUE,
                                                      cancellable);
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) value = NULL;
    guint n_errors = 0;

    g_cancellable_cancel (cancellable);
    /* What was pulled ends with the cancel; nothing more is pulled. */
    while ((value = p_map_iter_next (cancelled, -1, &error)) != NULL || error != NULL)
      {
        g_clear_pointer (&value, g_variant_unref);
        if (error != NULL)
          {
            g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
            n_errors++;
            g_clear_error (&error);
          }
        g_assert_cmpuint (n_errors, <=, 5);
      }
    g_assert_cmpuint (n_errors, >=, 1);
    g_assert_cmpint (endless.n_pulled, <=, 4);
  }
}

/* }}} */
/* {{{ Progress */

typedef struct
{
  GArray *seen;            /* double */
  GPtrArray *messages;
  gboolean ready;
} ProgressSeen;

static void
on_progress (PResult    *result,
             GParamSpec *pspec,
             gpointer    user_data)
{
  ProgressSeen *seen = user_data;
  double progress = p_result_get_progress (result);
  double from_property;

  g_object_get (result, "progress", &from_property, NULL);
  g_assert_cmpfloat (from_property, ==, progress);
  g_array_append_val (seen->seen, progress);
  g_ptr_array_add (seen->messages, p_result_dup_progress_message (result));
}

/* A task's reports are seen in the submitter's main loop, in order, and
 * 1 once it succeeded; a chatty task's flood is not. */
static void
test_progress_in_order (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(PResult) result = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  ProgressSeen seen = { g_array_new (FALSE, FALSE, sizeof (double)),
                        g_ptr_array_new_with_free_func (g_free), FALSE };

  result = p_pool_submit (pool, "report_progress", g_variant_new_int64 (4), NULL);
  g_signal_connect (result, "notify::progress", G_CALLBACK (on_progress), &seen);
  while (!p_result_ready (result) || g_main_context_pending (NULL))
    g_main_context_iteration (NULL, !p_result_ready (result));

  value = p_result_get (result, -1, &error);
  g_assert_no_error (error);
  g_test_message ("%u notifications", seen.seen->len);

  /* Each report 60 ms apart is seen (4), the chatty ones at most a few,
   * then the 1 of success. */
  g_assert_cmpuint (seen.seen->len, >=, 2);
  g_assert_cmpuint (seen.seen->len, <=, 12);
  for (guint i = 1; i < seen.seen->len; i++)
    g_assert_cmpfloat (g_array_index (seen.seen, double, i), >=, g_array_index (seen.seen, double, i - 1));
  g_assert_cmpfloat (g_array_index (seen.seen, double, seen.seen->len - 1), ==, 1.0);
  g_assert_cmpfloat (g_array_index (seen.seen, double, 0), >, 0.0);
  g_assert_true (g_str_has_prefix (seen.messages->pdata[0], "step "));
  g_assert_cmpfloat (p_result_get_progress (result), ==, 1.0);

  g_array_unref (seen.seen);
  g_ptr_array_unref (seen.messages);
}

static void
on_counts (PMapIter   *iter,
           GParamSpec *pspec,
           gpointer    user_data)
{
  guint *last_completed = user_data;
  guint completed = p_map_iter_get_completed (iter);

  g_assert_cmpuint (completed, >=, *last_completed);
  g_assert_cmpuint (completed, <=, p_map_iter_get_total (iter));
  *last_completed = completed;
}

/* A map's result shows the share of its items done; an iterator counts
 * what arrived, notified in the main loop. */
static void
test_progress_of_maps (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(PResult) map = NULL;
  g_autoptr(PMapIter) iter = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  guint last_completed = 0;
  guint total;

  map = p_pool_submit_map (pool, "sleep", g_variant_new_parsed ("[@x 10, 10, 10, 10, 10, 10]"), 1, NULL);
  value = p_result_get (map, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (p_result_get_progress (map), ==, 1.0);
  g_clear_pointer (&value, g_variant_unref);

  /* A handler of every property's notify is a listener too. */
  for (guint all_properties = 0; all_properties < 2; all_properties++)
    {
      g_clear_object (&iter);
      last_completed = 0;
      /* Items of 0 to 49 ms: the handler is connected before the last comes. */
      iter = p_pool_imap (pool, "sleep", test_range_int64 (50), 1, NULL);
      g_signal_connect (iter, all_properties ? "notify" : "notify::completed",
                        G_CALLBACK (on_counts), &last_completed);
      g_object_get (iter, "total", &total, NULL);
      g_assert_cmpuint (total, ==, 50);
      while (p_map_iter_get_completed (iter) < 50)
        if (!g_main_context_iteration (NULL, FALSE))
          g_usleep (1000);
      while (g_main_context_pending (NULL))
        g_main_context_iteration (NULL, FALSE);
      g_assert_cmpuint (last_completed, ==, 50);
    }
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
  g_test_add_func ("/pool/flow/lazy/ordered", test_lazy_ordered);
  g_test_add_func ("/pool/flow/lazy/unordered-endless", test_lazy_unordered_endless);
  g_test_add_func ("/pool/flow/lazy/source-error", test_lazy_source_error);
  g_test_add_func ("/pool/flow/lazy/async-and-cancel", test_lazy_async_and_cancel);
  g_test_add_func ("/pool/flow/progress/in-order", test_progress_in_order);
  g_test_add_func ("/pool/flow/progress/maps", test_progress_of_maps);
  g_test_add_func ("/pool/flow/stats/load-and-deaths", test_stats_load_and_deaths);

  return g_test_run ();
}
