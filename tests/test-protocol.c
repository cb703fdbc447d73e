/* test-protocol.c: the protocol's rules beyond each message's type
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "test-support.h"
#include "normal-form-oracle.h"
#include "p-error.h"

static void
test_env (void)
{
  gsize max;
  GPid pid;
  int fd;

  g_assert_true (p_channel_parse_env ("3:1234:536870912", &fd, &pid, &max));
  g_assert_cmpint (fd, ==, 3);
  g_assert_cmpint (pid, ==, 1234);
  g_assert_cmpuint (max, ==, 536870912);

  g_assert_false (p_channel_parse_env (NULL, &fd, &pid, &max));
  g_assert_false (p_channel_parse_env ("", &fd, &pid, &max));
  g_assert_false (p_channel_parse_env ("3:1234", &fd, &pid, &max));
  g_assert_false (p_channel_parse_env ("3:1234:100", &fd, &pid, &max));
  g_assert_false (p_channel_parse_env ("x:1234:536870912", &fd, &pid, &max));
  g_assert_false (p_channel_parse_env ("3:1234:536870912:7", &fd, &pid, &max));
  g_assert_false (p_channel_parse_env ("-3:1234:536870912", &fd, &pid, &max));
}

static void
test_error_domains (void)
{
  g_autofree char *long_domain = g_strnfill (200, 'a');
  g_autofree char *longest_domain = g_strnfill (127, 'a');
  g_autofree char *one_too_long = g_strnfill (128, 'a');

  g_assert_true (p_error_domain_is_valid ("g-io-error-quark"));
  g_assert_true (p_error_domain_is_valid ("my_app.Error:1"));
  g_assert_false (p_error_domain_is_valid (""));
  g_assert_false (p_error_domain_is_valid ("with space"));
  g_assert_false (p_error_domain_is_valid ("\xff"));
  g_assert_false (p_error_domain_is_valid (long_domain));
  g_assert_true (p_error_domain_is_valid (longest_domain));
  g_assert_false (p_error_domain_is_valid (one_too_long));
}

static void
test_chunk_results (void)
{
  static const struct {
    const char *values;
    const char *errors;
    guint n_items;
    gboolean map, imap;
  } cases[] = {
    { "[<1>, <2>, <3>]", "@a(usis) []", 3, TRUE, TRUE },
    { "[<1>, <2>]", "@a(usis) []", 3, FALSE, FALSE },
    /* A failure in the middle: an imap goes on, a map stops there. */
    { "[<1>, <3>]", "[(@u 1, 'd', 0, 'm')]", 3, FALSE, TRUE },
    { "[<1>]", "[(@u 1, 'd', 0, 'm')]", 3, TRUE, FALSE },
    { "[<1>, <2>]", "[(@u 2, 'd', 0, 'm')]", 3, TRUE, TRUE },
    { "@av []", "[(@u 0, 'd', 0, 'm'), (1, 'd', 0, 'm')]", 2, FALSE, TRUE },
    /* Out of order, repeated, out of range, or a made-up domain. */
    { "@av []", "[(@u 1, 'd', 0, 'm'), (0, 'd', 0, 'm')]", 2, FALSE, FALSE },
    { "@av []", "[(@u 0, 'd', 0, 'm'), (0, 'd', 0, 'm')]", 2, FALSE, FALSE },
    { "[<1>]", "[(@u 5, 'd', 0, 'm')]", 2, FALSE, FALSE },
    { "[<1>]", "[(@u 1, 'no spaces', 0, 'm')]", 2, FALSE, FALSE },
    { "[<1>, <2>, <3>, <4>]", "@a(usis) []", 3, FALSE, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GVariant) values = g_variant_ref_sink (g_variant_new_parsed (cases[i].values));
      g_autoptr(GVariant) errors = g_variant_ref_sink (g_variant_new_parsed (cases[i].errors));

      g_assert_cmpint (p_chunk_result_is_valid (values, errors, cases[i].n_items, P_CHUNK_RULE_MAP), ==, cases[i].map);
      g_assert_cmpint (p_chunk_result_is_valid (values, errors, cases[i].n_items, P_CHUNK_RULE_IMAP), ==, cases[i].imap);
      g_assert_cmpint (p_chunk_result_is_valid (values, errors, cases[i].n_items, P_CHUNK_RULE_EITHER), ==,
                       cases[i].map || cases[i].imap);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/protocol/env", test_env);
  g_test_add_func ("/protocol/error-domains", test_error_domains);
  g_test_add_func ("/protocol/chunk-result-rules", test_chunk_results);

  return g_test_run ();
}
