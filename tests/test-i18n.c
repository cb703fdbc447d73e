/* test-i18n.c: the library's messages, translated
 *
 * Errors of the public API come back in the language of LANGUAGE, from
 * the three places they are made: the caller's thread, the pool's thread
 * and a worker. The catalogs are those of the build tree
 * (<builddir>/po/LANG/LC_MESSAGES/processing-glib-1.0.mo), whose directory
 * P_TEST_LOCALEDIR names; it is not set when they are not built (no
 * msgfmt), and the cases are skipped.
 *
 * The locale is C.UTF-8, the one locale a bare Debian has besides C and
 * POSIX: glibc follows LANGUAGE under any locale but C and POSIX.
 *
 * The test program is its own worker (tests/test-functions.c): its
 * workers inherit the environment, and bind the domain as it does.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <locale.h>

#include <glib/gi18n-lib.h>

#include "test-functions.h"

static const char *localedir;

static gboolean
have_catalog (const char *language)
{
  g_autofree char *path = NULL;

  if (localedir == NULL)
    {
      g_test_skip ("No catalogs were built (gettext's msgfmt was not found)");
      return FALSE;
    }

  path = g_build_filename (localedir, language, "LC_MESSAGES", GETTEXT_PACKAGE ".mo", NULL);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));

  return TRUE;
}

/* For a case in a language of its own, in a child process of its own:
 * there, LANGUAGE is set before any thread is started (setenv() is not
 * thread-safe) and before any message is looked up (glibc keeps what it
 * found until the locale is set again). Its workers inherit it. */
static gboolean
in_language (const char *language)
{
  if (g_test_subprocess ())
    {
      g_setenv ("LANGUAGE", language, TRUE);
      setlocale (LC_ALL, "");
      return TRUE;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  return FALSE;
}

/* Made in the caller's thread. */
static void
test_german_caller (void)
{
  const char *argv[] = { NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PPool) pool = NULL;

  if (!have_catalog ("de"))
    return;

  pool = p_pool_new (1, argv, &error);
  g_assert_null (pool);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "Der Befehl für die Arbeitsprozesse ist leer");
}

/* Made in the pool's thread, when the job is accepted. */
static void
test_german_pool_thread (void)
{
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = NULL;

  if (!have_catalog ("de"))
    return;

  pool = new_pool (1);
  result = p_pool_apply (pool, "no_such_function", NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_UNKNOWN_FUNCTION);
  g_assert_cmpstr (error->message, ==, "Kein Arbeitsprozess bietet eine Funktion namens „no_such_function“ an");
}

/* Made in a worker, which inherited LANGUAGE, and sent as text. */
static void
test_german_worker (void)
{
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = NULL;

  if (!have_catalog ("de"))
    return;

  pool = new_pool (1);
  /* Each chunk of 5 items comes back with 4 results. */
  result = p_pool_map (pool, "chunk_one_short", test_range_int64 (5), 5, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==,
                   "Die Stapelfunktion „chunk_one_short“ hat 4 Ergebnisse für 5 Elemente zurückgegeben");
}

static void
test_french (void)
{
  const char *argv[] = { NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GVariant) result = NULL;

  if (!have_catalog ("fr") || !in_language ("fr"))
    return;

  pool = p_pool_new (1, argv, &error);
  g_assert_null (pool);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "La commande des processus de travail est vide");
  g_clear_error (&error);

  /* « » with no-break spaces inside. */
  pool = new_pool (1);
  result = p_pool_apply (pool, "no_such_function", NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_UNKNOWN_FUNCTION);
  g_assert_cmpstr (error->message, ==,
                   "Aucun processus de travail ne fournit de fonction nommée «\u00a0no_such_function\u00a0»");
}

/* No catalog for the language: the English text. */
static void
test_untranslated_language (void)
{
  const char *argv[] = { NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PPool) pool = NULL;

  if (!in_language ("tlh"))
    return;

  pool = p_pool_new (1, argv, &error);
  g_assert_null (pool);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "The worker command is empty");
}

int
main (int   argc,
      char *argv[])
{
  /* Before anything else, and in the workers too (this same program,
   * which keeps the language the test chose): whatever locale the test
   * runs under, LANGUAGE must count. */
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  if (!p_worker_is_requested ())
    g_setenv ("LANGUAGE", "de", TRUE);
  setlocale (LC_ALL, "");

  /* The library binds its domain once, to the installed catalogs, when
   * its first class is initialized (g_type_ensure() would only register
   * the type); the test binds it afterwards to those of the build tree,
   * and keeps that binding. */
  localedir = g_getenv ("P_TEST_LOCALEDIR");
  g_type_class_unref (g_type_class_ref (P_TYPE_POOL));
  if (localedir != NULL)
    bindtextdomain (GETTEXT_PACKAGE, localedir);

  test_functions_serve_if_requested ();

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/i18n/german/caller", test_german_caller);
  g_test_add_func ("/i18n/german/pool-thread", test_german_pool_thread);
  g_test_add_func ("/i18n/german/worker", test_german_worker);
  g_test_add_func ("/i18n/french", test_french);
  g_test_add_func ("/i18n/untranslated-language", test_untranslated_language);

  return g_test_run ();
}
