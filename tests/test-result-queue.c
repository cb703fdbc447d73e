/* test-result-queue.c: PResultQueue
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <processing-glib/processing-glib.h>

#include "test-functions.h"

static PResult *
submit_sleep (PPool  *pool,
              gint64  ms)
{
  return p_pool_submit (pool, "sleep", g_variant_new_int64 (ms), NULL);
}

static gint64
value_of (PResult *result)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = p_result_get (result, 0, &error);

  g_assert_no_error (error);
  return g_variant_get_int64 (value);
}

/* The first to finish comes out first, whatever the order they were added
 * in; results of two pools share a queue. */
static void
test_order (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(PPool) other_pool = new_pool (1);
  g_autoptr(PResultQueue) queue = p_result_queue_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PResult) slow = p_pool_submit (pool, "sleep", g_variant_new_int64 (60000), cancellable);
  g_autoptr(PResult) fast = submit_sleep (other_pool, 1);
  g_autoptr(PResult) first = NULL;
  g_autoptr(PResult) second = NULL;

  p_result_queue_add (queue, slow);
  p_result_queue_add (queue, fast);
  g_assert_cmpuint (p_result_queue_get_pending (queue), >=, 1);

  first = p_result_queue_pop (queue, -1);
  g_assert_true (first == fast);
  g_assert_cmpint (value_of (first), ==, 1);

  /* The slow one ends only when cancelled. */
  g_assert_null (p_result_queue_pop (queue, 1000));
  g_cancellable_cancel (cancellable);
  second = p_result_queue_pop (queue, -1);
  g_assert_true (second == slow);
  g_assert_false (p_result_successful (second));

  /* Nothing left to wait for: NULL at once, even with no timeout. */
  g_assert_cmpuint (p_result_queue_get_pending (queue), ==, 0);
  g_assert_null (p_result_queue_pop (queue, -1));
}

/* A result ready before it is added goes in at once; a failed one too. */
static void
test_ready_before (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(PResultQueue) queue = p_result_queue_new ();
  g_autoptr(PResult) failed = p_pool_submit (pool, "fail", g_variant_new ("(sis)", "test-error-quark", 3, "no"), NULL);
  g_autoptr(PResult) popped = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (p_result_wait (failed, -1));
  p_result_queue_add (queue, failed);
  g_assert_cmpuint (p_result_queue_get_pending (queue), ==, 0);
  popped = p_result_queue_pop (queue, 0);
  g_assert_true (popped == failed);
  value = p_result_get (popped, 0, &error);
  g_assert_nonnull (error);
  g_assert_null (value);
}

static void
test_timeout (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(PResultQueue) queue = p_result_queue_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PResult) result = p_pool_submit (pool, "sleep", g_variant_new_int64 (60000), cancellable);
  g_autoptr(PResult) popped = NULL;

  p_result_queue_add (queue, result);
  g_assert_null (p_result_queue_pop (queue, 0));
  g_assert_null (p_result_queue_pop (queue, 1000));
  g_assert_cmpuint (p_result_queue_get_pending (queue), ==, 1);

  /* A cancelled task is ready at once, with its error. */
  g_cancellable_cancel (cancellable);
  popped = p_result_queue_pop (queue, -1);
  g_assert_true (popped == result);
}

static void
test_added_twice (void)
{
  g_autoptr(PPool) pool = new_pool (1);
  g_autoptr(PResultQueue) queue = p_result_queue_new ();
  g_autoptr(PResultQueue) other = p_result_queue_new ();
  g_autoptr(PResult) result = submit_sleep (pool, 1);
  g_autoptr(PResult) popped = NULL;

  p_result_queue_add (queue, result);
  g_test_expect_message ("processing-glib", G_LOG_LEVEL_CRITICAL, "*added to a queue already*");
  p_result_queue_add (other, result);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (p_result_queue_get_pending (other), ==, 0);

  popped = p_result_queue_pop (queue, -1);
  g_assert_true (popped == result);
}

typedef struct
{
  PResultQueue *queue;
  guint n;
} Popper;

static gpointer
pop_all (gpointer data)
{
  Popper *popper = data;
  guint popped = 0;

  while (popped < popper->n)
    {
      PResult *result = p_result_queue_pop (popper->queue, G_USEC_PER_SEC);

      if (result != NULL)
        {
          popped++;
          g_object_unref (result);
        }
    }

  return GUINT_TO_POINTER (popped);
}

/* Another thread pops while this one adds: every result comes out once,
 * and the queue outlives nothing it needs. */
static void
test_threads (void)
{
  g_autoptr(PPool) pool = new_pool (2);
  g_autoptr(PResultQueue) queue = p_result_queue_new ();
  Popper popper = { queue, 2000 };
  GThread *thread = g_thread_new ("popper", pop_all, &popper);

  for (guint i = 0; i < popper.n; i++)
    {
      g_autoptr(PResult) result = p_pool_submit (pool, "square", g_variant_new_int64 (i), NULL);

      p_result_queue_add (queue, result);
    }

  g_assert_cmpuint (GPOINTER_TO_UINT (g_thread_join (thread)), ==, popper.n);
  g_assert_null (p_result_queue_pop (queue, 0));
}

int
main (int   argc,
      char *argv[])
{
  test_functions_serve_if_requested ();

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/result-queue/order", test_order);
  g_test_add_func ("/result-queue/ready-before", test_ready_before);
  g_test_add_func ("/result-queue/timeout", test_timeout);
  g_test_add_func ("/result-queue/added-twice", test_added_twice);
  g_test_add_func ("/result-queue/threads", test_threads);

  return g_test_run ();
}
