/* test-functions.h: task functions the test programs serve as workers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <processing-glib/processing-glib.h>

G_BEGIN_DECLS

/* Registers every test function on @worker. */
void test_functions_register      (PWorker *worker);

/* If this process was started by a pool, serves the test functions and
 * exits; otherwise returns. Call first thing in main(). */
void test_functions_serve_if_requested (void);

/* A custom error domain, to check that a task's domain survives. */
#define TEST_ERROR (test_error_quark ())
GQuark test_error_quark (void);

/* Helpers for the tests themselves. */
GVariant *test_range_int64     (gint64 n);
gboolean  test_process_exists  (GPid   pid);
guint     test_count_children  (void);
GArray   *test_list_children   (void);

/* Helpers of the pool suites. */
PPool    *new_pool             (guint       processes);
PPool    *new_pool_of_ready    (guint       processes);
guint     stats_get_uint       (PPool      *pool,
                                const char *key);
gint64    apply_int64          (PPool      *pool,
                                const char *function,
                                gint64      x);
void      assert_squares       (GVariant   *av,
                                gsize       n);
void      assert_all_cancelled_and_unref (PResult **results,
                                          gsize     n);

typedef struct
{
  GMainLoop *loop;
  GVariant *value;
  GError *error;
} LateCancelData;

void      late_cancelled_next_done (GObject      *source,
                                    GAsyncResult *result,
                                    gpointer      user_data);

G_END_DECLS
