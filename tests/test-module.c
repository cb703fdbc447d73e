/* test-module.c: a task module for the stock worker
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <processing-glib/processing-glib.h>

void p_module_register (PWorker *worker);

static GVariant *
module_cube (GVariant      *args,
             GCancellable  *cancellable,
             gpointer       user_data,
             GError       **error)
{
  gint64 x = g_variant_get_int64 (args);

  return g_variant_new_int64 (x * x * x);
}

void
p_module_register (PWorker *worker)
{
  p_worker_add_function (worker, "module_cube", module_cube, NULL, NULL);
}
