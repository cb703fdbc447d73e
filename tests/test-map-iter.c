/* test-map-iter.c: PMapIter fed by hand, as the pool thread feeds it
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

int
main (int   argc,
      char *argv[])
{
  test_functions_serve_if_requested ();

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/map-iter/fail-after-gap", test_map_iter_fail_after_gap);
  g_test_add_func ("/map-iter/next-async-served-while-cancelled", test_map_iter_next_async_served_while_cancelled);

  return g_test_run ();
}
