/* p-i18n-private.c: the library's message catalog
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "p-i18n-private.h"

/* Binds the library's gettext domain, once per process. Every class calls it
 * from class_init, so that messages are translated whichever class is used
 * first; a program that binds the domain elsewhere afterwards (a test, to
 * the catalogs in the build tree) keeps its own binding. */
void
p_i18n_init (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
      bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
      g_once_init_leave (&initialized, 1);
    }
}
