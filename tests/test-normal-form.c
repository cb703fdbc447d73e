/* test-normal-form.c: the normal-form check, against GLib
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
test_normal_form_differential (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  guint rounds = g_test_slow () ? 20000 : 2000;

  for (guint round = 0; round < rounds; round++)
    {
      g_autofree char *type_string = random_type (rand, 0);
      const GVariantType *type = G_VARIANT_TYPE (type_string);
      g_autoptr(GVariant) value = g_variant_ref_sink (random_value (rand, type, 0));
      g_autoptr(GBytes) bytes = g_variant_get_data_as_bytes (value);

      assert_same_verdict (type, bytes, TRUE);

      /* Damaged copies: GLib and we must agree on every one. */
      for (int mutation = 0; mutation < 8; mutation++)
        {
          g_autoptr(GBytes) damaged = damaged_copy (rand, bytes, -1);

          assert_same_verdict (type, damaged, FALSE);
        }
    }
}

static void
test_normal_form_bulk (void)
{
  g_autofree guint8 *data = g_malloc (1 << 20);
  g_autoptr(GVariant) bytes = NULL;
  g_autoptr(GVariant) message = NULL;
  g_autoptr(GVariant) bools = NULL;
  guint8 two_bools[2] = { 1, 2 };

  memset (data, 0xab, 1 << 20);
  bytes = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, 1 << 20, 1));
  message = g_variant_ref_sink (g_variant_new ("(tsv)", (guint64) 1, "echo", bytes));

  {
    g_autoptr(GBytes) serialized = g_variant_get_data_as_bytes (message);
    assert_same_verdict (G_VARIANT_TYPE ("(tsv)"), serialized, TRUE);
  }

  /* Booleans must be 0 or 1, even in bulk. */
  bools = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("ab"), two_bools, 2, FALSE, NULL, NULL));
  g_assert_false (variant_is_normal_form_walking (bools));
}

/* Values in variants nested right up to GLib's depth limit, where GLib
 * counts a type's depth its own way: the unit tuple is 0 deep and a
 * dictionary entry's key does not count. (The fuzz target found the unit
 * tuple: its regression input is in tests/fuzz/corpus.) */
static void
test_normal_form_depth_limit (void)
{
  const char *innermost[] = { "()", "a()", "(())", "m()", "{s()}", "a{s()}", "{sai}", "i", "ay", "(ys)" };

  for (gsize t = 0; t < G_N_ELEMENTS (innermost); t++)
    for (gsize n_maybes = 118; n_maybes <= 128; n_maybes++)
      for (gsize n_zeros = 0; n_zeros <= 3; n_zeros++)
        {
          g_autofree char *maybes = g_strnfill (n_maybes, 'm');
          g_autofree char *type_string = g_strconcat (maybes, innermost[t], NULL);
          g_autoptr(GByteArray) serialized = g_byte_array_new ();
          const guint8 zero = 0;

          /* "just just ... nothing" (as many justs as zeros), in a variant:
           * its bytes, a zero byte, its type. */
          for (gsize i = 0; i < n_zeros; i++)
            g_byte_array_append (serialized, &zero, 1);
          g_byte_array_append (serialized, &zero, 1);
          g_byte_array_append (serialized, (const guint8 *) type_string, strlen (type_string));

          /* In up to three more variants, alone and in a task. */
          for (int n_variants = 1; n_variants <= 4; n_variants++)
            {
              g_autoptr(GBytes) bytes = g_bytes_new (serialized->data, serialized->len);
              g_autoptr(GVariant) boxed = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARIANT, bytes, FALSE));
              GVariant *members[3];
              g_autoptr(GVariant) task = NULL;
              g_autoptr(GBytes) task_bytes = NULL;

              assert_same_verdict (G_VARIANT_TYPE_VARIANT, bytes, FALSE);

              members[0] = g_variant_new_uint64 (n_variants);
              members[1] = g_variant_new_string ("f");
              members[2] = boxed;
              task = g_variant_ref_sink (g_variant_new_tuple (members, 3));
              task_bytes = g_variant_get_data_as_bytes (task);
              assert_envelope_verdict (P_MESSAGE_TASK, task_bytes, FALSE);

              g_byte_array_append (serialized, &zero, 1);
              g_byte_array_append (serialized, (const guint8 *) "v", 1);
            }
        }
}

/* Tuples in tuples, each with a variable-size member so that the walk
 * goes down every level: checked in a number of steps that grows with
 * their size, not 2^depth, and normal up to GLib's limit. (Deeper, GLib
 * itself aborts when asked for a child of such a value.) */
static void
test_normal_form_deep_tuples (void)
{
  g_autoptr(GVariant) deep = g_variant_ref_sink (g_variant_new_string ("bottom"));

  for (int level = 1; level < 128; level++)
    {
      GVariant *members[3] = { g_variant_new_string ("s"), deep, g_variant_new_byte (level) };
      GVariant *outer = g_variant_ref_sink (g_variant_new_tuple (members, 3));
      g_autoptr(GBytes) bytes = NULL;

      g_variant_unref (deep);
      deep = outer;
      bytes = g_variant_get_data_as_bytes (deep);

      assert_same_verdict (g_variant_get_type (deep), bytes, TRUE);
      g_assert_true (variant_is_normal_form_walking (deep));
      g_assert_true (p_variant_is_normal_form (deep));
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/normal-form/differential", test_normal_form_differential);
  g_test_add_func ("/normal-form/bulk", test_normal_form_bulk);
  g_test_add_func ("/normal-form/depth-limit", test_normal_form_depth_limit);
  g_test_add_func ("/normal-form/deep-tuples", test_normal_form_deep_tuples);

  return g_test_run ();
}
