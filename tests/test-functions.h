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

G_END_DECLS
