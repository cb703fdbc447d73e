/* test-stress.c: many threads submit tens of thousands of tasks while
 * workers are killed at random; every task completes exactly once.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <unistd.h>

#include "p-map-iter-private.h"
#include "test-functions.h"

#define N_SUBMITTERS 4

typedef struct
{
  PPool *pool;
  guint n_tasks;
  gint *stop_killing;
  /* Outcomes, per thread. */
  guint succeeded;
  guint died;           /* the task's worker was killed */
  guint not_started;    /* workers were killed as they started, often */
} Submitter;

/* A task may fail only because its worker was killed (at start, too). */
static void
check_outcome (Submitter *submitter,
               GVariant  *value,
               GError    *error,
               gint64     x)
{
  if (value != NULL)
    {
      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int64 (value), ==, x * x);
      submitter->succeeded++;
      return;
    }

  if (g_error_matches (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED))
    submitter->died++;
  else if (g_error_matches (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START))
    submitter->not_started++;
  else
    g_error ("task %" G_GINT64_FORMAT " failed with %s (%s %d)", x, error->message,
             g_quark_to_string (error->domain), error->code);
}

static gpointer
submitter_main (gpointer user_data)
{
  Submitter *submitter = user_data;
  guint done = 0;

  while (done < submitter->n_tasks)
    {
      guint batch = MIN (500, submitter->n_tasks - done);
      g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr(PMapIter) iter = NULL;
      g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
      g_autofree gint64 *squares = g_new (gint64, batch);
      g_autoptr(GError) error = NULL;
      GVariant *value;
      guint n_items = 0;

      /* Handles, then waiting for each exactly once... */
      for (guint i = 0; i < batch; i++)
        g_ptr_array_add (results, p_pool_submit (submitter->pool, "square", g_variant_new_int64 (done + i), NULL));
      for (guint i = 0; i < batch; i++)
        {
          g_autoptr(GVariant) result = p_result_get (results->pdata[i], 120 * G_USEC_PER_SEC, &error);

          /* Not a hang: a time-out here fails the test. */
          g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
          check_outcome (submitter, result, error, done + i);
          g_clear_error (&error);
        }

      /* ...and an unordered map, whose every item comes exactly once. */
      iter = p_pool_imap_unordered (submitter->pool, "square", test_range_int64 (batch), 1, NULL);
      for (;;)
        {
          value = p_map_iter_next (iter, 120 * G_USEC_PER_SEC, &error);
          if (value == NULL && error == NULL)
            break;
          g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
          n_items++;
          if (value != NULL)
            {
              squares[n_items - 1] = g_variant_get_int64 (value);
              g_assert_false (g_hash_table_contains (seen, &squares[n_items - 1]));
              g_hash_table_add (seen, &squares[n_items - 1]);
              submitter->succeeded++;
              g_variant_unref (value);
            }
          else if (g_error_matches (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START))
            {
              /* Workers kept dying as they started: the map as a whole
               * failed, and what had not come never will. */
              g_clear_error (&error);
              g_assert_null (p_map_iter_next (iter, 0, &error));
              g_assert_no_error (error);
              submitter->not_started += batch - (n_items - 1);
              n_items = batch;
              break;
            }
          else
            {
              check_outcome (submitter, NULL, error, -1);
              g_clear_error (&error);
            }
        }
      g_assert_cmpuint (n_items, ==, batch);

      done += batch;
    }

  return NULL;
}

static gpointer
killer_main (gpointer user_data)
{
  gint *stop = user_data;
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  guint kills = 0;

  while (!g_atomic_int_get (stop))
    {
      g_autoptr(GArray) children = test_list_children ();

      if (children->len > 0)
        {
          GPid victim = g_array_index (children, GPid, g_rand_int_range (rand, 0, children->len));

          if (kill (victim, SIGKILL) == 0)
            kills++;
        }
      g_usleep (g_rand_int_range (rand, 5000, 40000));
    }

  return GUINT_TO_POINTER (kills);
}

static void
test_stress (void)
{
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  Submitter submitters[N_SUBMITTERS];
  GThread *threads[N_SUBMITTERS];
  GThread *killer;
  gint stop_killing = 0;
  guint tasks_per_thread = g_test_slow () ? 25000 : g_getenv ("P_TEST_UNDER_VALGRIND") ? 1000 : 5000;
  guint succeeded = 0, died = 0, not_started = 0, kills;

  pool = p_pool_new (3, NULL, &error);
  g_assert_no_error (error);

  killer = g_thread_new ("killer", killer_main, &stop_killing);
  for (int i = 0; i < N_SUBMITTERS; i++)
    {
      submitters[i] = (Submitter) { pool, tasks_per_thread, &stop_killing, 0, 0, 0 };
      threads[i] = g_thread_new ("submitter", submitter_main, &submitters[i]);
    }

  for (int i = 0; i < N_SUBMITTERS; i++)
    {
      g_thread_join (threads[i]);
      succeeded += submitters[i].succeeded;
      died += submitters[i].died;
      not_started += submitters[i].not_started;
    }

  g_atomic_int_set (&stop_killing, 1);
  kills = GPOINTER_TO_UINT (g_thread_join (killer));

  /* Everything came back exactly once... */
  g_test_message ("%u tasks: %u results, %u lost to %u kills, %u failed while workers could not start",
                  succeeded + died + not_started, succeeded, died, kills, not_started);
  g_assert_cmpuint (succeeded + died + not_started, ==, N_SUBMITTERS * tasks_per_thread * 2);
  /* ...and a killed worker cost at most the task it ran. */
  g_assert_cmpuint (died, <=, kills);

  /* The pool still works, and winds down cleanly. If the last kills hit
   * workers as they started, new tasks fail at once until the pool's
   * back-off brings one up (a few seconds at most): that is the contract,
   * so wait for it, within a bound that fails the test rather than hang. */
  {
    g_autoptr(GVariant) value = NULL;
    gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
    guint refused = 0;

    while ((value = p_pool_apply (pool, "square", g_variant_new_int64 (9), NULL, &error)) == NULL &&
           g_error_matches (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START) &&
           g_get_monotonic_time () < deadline)
      {
        g_clear_error (&error);
        refused++;
        g_usleep (20000);
      }
    if (refused > 0)
      g_test_message ("the pool refused %u tasks while it brought workers back", refused);

    g_assert_no_error (error);
    g_assert_cmpint (g_variant_get_int64 (value), ==, 81);
  }
  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, &error));
  g_assert_cmpuint (test_count_children (), ==, 0);
}

/* {{{ Recalls: short tasks behind long ones, cancelled at random */

typedef struct
{
  PPool *pool;
  guint n_rounds;
  guint seed;
} Mixer;

static gpointer
mixer_main (gpointer user_data)
{
  Mixer *mixer = user_data;
  g_autoptr(GRand) rand = g_rand_new_with_seed (mixer->seed);

  for (guint round = 0; round < mixer->n_rounds; round++)
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr(PResult) long_task = NULL;
      g_autoptr(PMapIter) iter = NULL;
      g_autoptr(GVariant) squares = NULL;
      g_autoptr(GVariant) slept = NULL;
      g_autoptr(GError) error = NULL;
      guint n_short = g_rand_int_range (rand, 50, 300);
      gint64 nap = g_rand_int_range (rand, 5, 30);
      GVariant *value;
      guint n_items = 0;

      /* A long task, then short ones, some of which can be cancelled
       * while queued, recalled, or both. */
      long_task = p_pool_submit (mixer->pool, "sleep", g_variant_new_int64 (nap), NULL);
      for (guint i = 0; i < n_short; i++)
        g_ptr_array_add (results, p_pool_submit (mixer->pool, "square", g_variant_new_int64 (i),
                                                 i % 7 == 3 ? cancellable : NULL));
      if (g_rand_boolean (rand))
        g_usleep (g_rand_int_range (rand, 0, 4000));
      g_cancellable_cancel (cancellable);

      for (guint i = 0; i < n_short; i++)
        {
          g_autoptr(GVariant) square = p_result_get (results->pdata[i], 120 * G_USEC_PER_SEC, &error);

          g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
          if (i % 7 == 3 && square == NULL)
            {
              g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
              g_clear_error (&error);
              continue;
            }
          g_assert_no_error (error);
          g_assert_cmpint (g_variant_get_int64 (square), ==, (gint64) i * i);
        }

      /* Chunks and single items behind long tasks too. */
      iter = p_pool_imap (mixer->pool, "square", test_range_int64 (100), g_rand_int_range (rand, 1, 4), NULL);
      while ((value = p_map_iter_next (iter, 120 * G_USEC_PER_SEC, &error)) != NULL)
        {
          g_assert_cmpint (g_variant_get_int64 (value), ==, (gint64) n_items * n_items);
          g_variant_unref (value);
          n_items++;
        }
      g_assert_no_error (error);
      g_assert_cmpuint (n_items, ==, 100);

      squares = p_pool_map (mixer->pool, "square", test_range_int64 (200), 4, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_variant_n_children (squares), ==, 200);

      slept = p_result_get (long_task, 120 * G_USEC_PER_SEC, &error);
      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int64 (slept), ==, nap);
    }

  return NULL;
}

static void
test_recall (void)
{
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  Mixer mixers[3];
  GThread *threads[3];
  guint n_rounds = g_test_slow () ? 200 : g_getenv ("P_TEST_UNDER_VALGRIND") ? 5 : 40;

  pool = p_pool_new (2, NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      mixers[i] = (Mixer) { pool, n_rounds, g_test_rand_int () };
      threads[i] = g_thread_new ("mixer", mixer_main, &mixers[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);

  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, &error));
  g_assert_cmpuint (test_count_children (), ==, 0);
}

/* }}} */

/* {{{ next_async cancelled as its item arrives */

typedef struct
{
  PMapIter *iter;
  gint ready;
  gint go;
  guint spins;
} Pusher;

static void
spin (guint n)
{
  for (volatile guint i = 0; i < n; i++)
    ;
}

/* The pool thread's part: the item arrives, and serves a waiting call. */
static gpointer
pusher_main (gpointer data)
{
  Pusher *pusher = data;

  g_atomic_int_set (&pusher->ready, 1);
  /* Yielding: on a loaded machine, the other thread may need this core. */
  while (!g_atomic_int_get (&pusher->go))
    g_thread_yield ();
  spin (pusher->spins);
  p_map_iter_push_value (pusher->iter, 0, g_variant_ref_sink (g_variant_new_int64 (42)));

  return NULL;
}

typedef struct
{
  GVariant *value;
  GError *error;
  guint n_calls;
} Outcome;

static void
racing_next_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Outcome *outcome = user_data;

  outcome->value = p_map_iter_next_finish (P_MAP_ITER (source), result, &outcome->error);
  outcome->n_calls++;
}

/* A next_async call whose cancellable is cancelled while another thread
 * hands it its item: the call completes once, with the item or with
 * G_IO_ERROR_CANCELLED, and then the item goes to the next call. Under
 * valgrind or a sanitizer, nothing leaks and nothing is used after it
 * was freed. */
static void
test_next_async_cancel_race (void)
{
  /* Freed at the end: a source leaked is lost, not still reachable. */
  g_autoptr(GMainContext) context = g_main_context_new ();
  guint n_rounds = g_getenv ("P_TEST_UNDER_VALGRIND") ? 300 : 3000;
  guint n_cancelled = 0;

  g_main_context_push_thread_default (context);

  for (guint round = 0; round < n_rounds; round++)
    {
      g_autoptr(PMapIter) iter = p_map_iter_new (NULL, TRUE, 1);
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) next = NULL;
      Pusher pusher = { iter, 0, 0, g_test_rand_int_range (0, 4000) };
      Outcome outcome = { NULL, NULL, 0 };
      GThread *thread;

      p_map_iter_next_async (iter, cancellable, racing_next_done, &outcome);
      thread = g_thread_new ("pusher", pusher_main, &pusher);

      /* Both start together, each after a random moment. */
      while (!g_atomic_int_get (&pusher.ready))
        g_thread_yield ();
      g_atomic_int_set (&pusher.go, 1);
      spin (g_test_rand_int_range (0, 4000));
      g_cancellable_cancel (cancellable);
      while (outcome.n_calls == 0)
        g_main_context_iteration (context, TRUE);
      g_thread_join (thread);

      /* Once, and nothing left to dispatch for it. */
      while (g_main_context_iteration (context, FALSE))
        ;
      g_assert_cmpuint (outcome.n_calls, ==, 1);

      next = p_map_iter_next (iter, 0, &error);
      g_assert_no_error (error);
      if (outcome.value != NULL)
        {
          g_assert_no_error (outcome.error);
          g_assert_cmpint (g_variant_get_int64 (outcome.value), ==, 42);
          g_assert_null (next);
        }
      else
        {
          g_assert_error (outcome.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          g_assert_nonnull (next);
          g_assert_cmpint (g_variant_get_int64 (next), ==, 42);
          g_assert_null (p_map_iter_next (iter, 0, &error));
          g_assert_no_error (error);
          n_cancelled++;
        }

      g_clear_pointer (&outcome.value, g_variant_unref);
      g_clear_error (&outcome.error);
    }

  g_main_context_pop_thread_default (context);
  g_test_message ("%u of %u calls cancelled before their item came", n_cancelled, n_rounds);
}

/* }}} */

int
main (int   argc,
      char *argv[])
{
  test_functions_serve_if_requested ();

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/stress/submit-while-killing", test_stress);
  g_test_add_func ("/stress/recall", test_recall);
  g_test_add_func ("/stress/map-iter/next-async-cancel-race", test_next_async_cancel_race);

  return g_test_run ();
}
