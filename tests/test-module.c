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

/* s path → t: the file's size (a sandboxed worker may not read most) */
static GVariant *
module_read_file (GVariant      *args,
                  GCancellable  *cancellable,
                  gpointer       user_data,
                  GError       **error)
{
  g_autofree char *contents = NULL;
  gsize length;

  if (!g_file_get_contents (g_variant_get_string (args, NULL), &contents, &length, error))
    return NULL;

  return g_variant_new_uint64 (length);
}

void
p_module_register (PWorker *worker)
{
  p_worker_add_function (worker, "module_cube", module_cube, NULL, NULL);
  p_worker_add_function (worker, "module_read_file", module_read_file, NULL, NULL);
}
