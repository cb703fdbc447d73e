/* processing-glib-worker.c: the stock worker, serving task modules
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <locale.h>

#include <glib/gi18n-lib.h>
#include <gmodule.h>

#include "processing-glib.h"

typedef void (*PModuleRegisterFunc) (PWorker *worker);

static gboolean
load_module (PWorker     *worker,
             const char  *path,
             GError     **error)
{
  PModuleRegisterFunc register_func;
  GModule *module;

  module = g_module_open (path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (module == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("Could not load task module “%s”: %s"), path, g_module_error ());
      return FALSE;
    }

  if (!g_module_symbol (module, "p_module_register", (gpointer *) &register_func))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("Task module “%s” has no p_module_register() function"), path);
      g_module_close (module);
      return FALSE;
    }

  /* Its functions are served until the process exits. */
  g_module_make_resident (module);
  register_func (worker);

  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(PWorker) worker = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) modules = NULL;
  const GOptionEntry entries[] = {
    { "module", 'm', 0, G_OPTION_ARG_FILENAME_ARRAY, &modules,
      /* Translators: PATH is the option's argument, translated below;
       * “--module” may be given more than once. */
      N_("Load the task module at PATH (repeatable)"),
      /* Translators: the argument of --module, as in “--module=PATH”. */
      N_("PATH") },
    { NULL }
  };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");

  context = g_option_context_new (NULL);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, _("Serves the functions of task modules to a processing-glib pool."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("processing-glib-worker: %s\n", error->message);
      return 2;
    }

  if (!p_worker_is_requested ())
    {
      g_printerr ("processing-glib-worker: %s\n",
                  _("This program is started by a processing-glib pool; see p_pool_new_for_modules()."));
      return 2;
    }

  worker = p_worker_new ();

  for (guint i = 0; modules != NULL && modules[i] != NULL; i++)
    {
      if (!load_module (worker, modules[i], &error))
        {
          g_printerr ("processing-glib-worker: %s\n", error->message);
          return 1;
        }
    }

  if (!p_worker_run (worker, &error))
    {
      g_printerr ("processing-glib-worker: %s\n", error->message);
      return 1;
    }

  return 0;
}
