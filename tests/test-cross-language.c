/* test-cross-language.c: a C caller, with Python and gjs workers
 * (tests/python/plain-worker.py and tests/js/plain-worker.js) started
 * through worker_argv. Their interpreters come from the environment:
 * PYTHON and GJS, set by meson.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <processing-glib/processing-glib.h>

typedef struct
{
  const char *name;
  const char *error_domain;   /* what a thrown exception comes back as */
} Language;

static PPool *
new_pool_for (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *python_worker = g_test_build_filename (G_TEST_DIST, "python", "plain-worker.py", NULL);
  g_autofree char *js_worker = g_test_build_filename (G_TEST_DIST, "js", "plain-worker.js", NULL);
  const char *python_argv[] = { g_getenv ("PYTHON"), python_worker, NULL };
  const char *gjs_argv[] = { g_getenv ("GJS"), "-m", js_worker, NULL };
  PPool *pool;

  pool = p_pool_new (2, g_str_equal (name, "python") ? python_argv : gjs_argv, &error);
  g_assert_no_error (error);

  return pool;
}

static void
test_calls (gconstpointer data)
{
  const Language *language = data;
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GVariant) squared = NULL;
  g_autoptr(GVariant) joined = NULL;
  g_autoptr(GVariant) squares = NULL;
  g_autoptr(GVariant) failed = NULL;
  g_autoptr(GError) error = NULL;

  if (g_getenv (g_str_equal (language->name, "python") ? "PYTHON" : "GJS") == NULL)
    {
      g_test_skip ("no interpreter");
      return;
    }

  pool = new_pool_for (language->name);

  /* One argument alone; several as a tuple, spread. */
  squared = p_pool_apply (pool, "square", g_variant_new_int64 (7), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (squared), ==, 49);

  joined = p_pool_apply (pool, "concat", g_variant_new ("(ss)", "ab", "cd"), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (joined, NULL), ==, "abcd");

  squares = p_pool_map (pool, "square", g_variant_new_parsed ("[@x 1, 2, 3]"), 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_print (squares, FALSE), ==, "[<int64 1>, <int64 4>, <int64 9>]");

  /* An exception comes back as an error with its message. */
  failed = p_pool_apply (pool, "fail", g_variant_new_string ("no luck"), NULL, &error);
  g_assert_null (failed);
  g_assert_nonnull (error);
  g_assert_cmpstr (g_quark_to_string (error->domain), ==, language->error_domain);
  g_assert_nonnull (strstr (error->message, "no luck"));

  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, NULL));
}

int
main (int   argc,
      char *argv[])
{
  static const Language python = { "python", "processing-python-error-quark" };
  static const Language gjs = { "gjs", "gjs-js-error-quark" };

  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/cross-language/c-caller/python-worker", &python, test_calls);
  g_test_add_data_func ("/cross-language/c-caller/gjs-worker", &gjs, test_calls);

  return g_test_run ();
}
