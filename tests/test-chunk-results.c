/* test-chunk-results.c: a map chunk's results, gathered and joined
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

/* A chunk's results gathered one by one: packed while they share a
 * fixed-size type, given back as they were when another type comes. */
static void
test_chunk_results_gathered (void)
{
  const char *cases[] = {
    "[<@x 1>, <@x 2>, <@x 3>]", "[<@x 1>, <@i 2>, <@x 3>]", "[<@x 1>, <@x 2>, <'three'>]",
    "[<'one'>, <@x 2>]", "[<(1, 2.5)>, <(3, 4.5)>]", "[<@y 1>, <true>]", "[<<1>>, <<2>>]",
    "[<@x 1>, <<@x 2>>]", "[<@x 7>]", "@av []",
  };
  /* A boolean serialized as 2: not in normal form. */
  static const guint8 two = 2;

  for (gsize c = 0; c <= G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(GVariant) boxed = NULL;
      g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
      g_autoptr(PChunkResults) results = p_chunk_results_new ();
      g_autoptr(GVariant) errors = g_variant_ref_sink (g_variant_new_parsed ("[(@u 9, 'd', 0, 'm')]"));

      if (c < G_N_ELEMENTS (cases))
        {
          boxed = g_variant_ref_sink (g_variant_new_parsed (cases[c]));
          for (gsize i = 0; i < g_variant_n_children (boxed); i++)
            {
              g_autoptr(GVariant) child = g_variant_get_child_value (boxed, i);

              g_ptr_array_add (values, g_variant_get_variant (child));
            }
        }
      else
        {
          g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_boolean (TRUE)));
          g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE_BOOLEAN, &two, 1,
                                                                                FALSE, NULL, NULL)));
        }

      for (guint i = 0; i < values->len; i++)
        g_assert_true (p_chunk_results_add (results, g_variant_ref (values->pdata[i]), NULL));
      g_assert_cmpuint (p_chunk_results_get_count (results), ==, values->len);

      /* What goes out is in normal form. */
      for (guint i = 0; i < values->len; i++)
        {
          GVariant *value = values->pdata[i];

          values->pdata[i] = g_variant_get_normal_form (value);
          g_variant_unref (value);
        }
      assert_same_frame (p_message_encode_chunk_result (4, results, errors, TEST_MAX_MESSAGE_SIZE, NULL),
                         encode (P_MESSAGE_CHUNK_RESULT,
                                 message_new_chunk_result (4, (GVariant **) values->pdata, values->len, errors)));
    }
}

/* An array of @n byte strings of @size bytes, the k-th filled with k + @first. */
static GVariant *
byte_strings (guint n,
              gsize size,
              guint first)
{
  g_autoptr(GVariantBuilder) builder = g_variant_builder_new (G_VARIANT_TYPE ("aay"));

  for (guint k = 0; k < n; k++)
    {
      guint8 *data = g_malloc (size);

      if (size > 0)  /* g_malloc (0) is NULL, which memset must not see */
        memset (data, (int) (k + first), size);
      g_variant_builder_add_value (builder, g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size,
                                                                     TRUE, g_free, data));
    }

  return g_variant_ref_sink (g_variant_builder_end (builder));
}

/* Adds @value (a full reference, taken) to @builder of an "av". */
static void
add_boxed (GVariantBuilder *builder,
           GVariant        *value)
{
  g_variant_builder_add_value (builder, g_variant_new_variant (value));
  g_variant_unref (value);
}

/* A map's result is every item of every chunk, boxed, in order, whether
 * small items are copied into one array or large ones referenced. */
static void
test_join (void)
{
  static const struct {
    const char *chunks[3];
  } cases[] = {
    { { "[@x 1, 4, 9]", "[@x 16]", NULL } },
    { { "[<1>, <'two'>]", "@ax [3, 4]", "[('five', @u 5)]" } },
    { { "[<<@ay [1, 2]>>]", "@av []", NULL } },
    { { "@ax []", NULL } },
  };
  static const struct { guint n; gsize size; } large[] = {
    { 3, 20 * 1024 }, { 1, 1024 * 1024 }, { 4, 1000 },
  };

  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      GVariant *chunks[3];
      g_autoptr(GVariantBuilder) expected = g_variant_builder_new (G_VARIANT_TYPE ("av"));
      g_autoptr(GVariant) joined = NULL;
      g_autoptr(GVariant) wanted = NULL;
      guint n = 0;

      for (; n < 3 && cases[c].chunks[n] != NULL; n++)
        {
          GVariantIter iter;
          GVariant *item;

          /* Serialized, as received. */
          g_autoptr(GVariant) parsed = g_variant_ref_sink (g_variant_new_parsed (cases[c].chunks[n]));
          g_autoptr(GBytes) bytes = g_variant_get_data_as_bytes (parsed);

          chunks[n] = g_variant_ref_sink (g_variant_new_from_bytes (g_variant_get_type (parsed), bytes, TRUE));
          g_variant_iter_init (&iter, chunks[n]);
          while ((item = g_variant_iter_next_value (&iter)))
            {
              add_boxed (expected, g_variant_is_of_type (chunks[n], G_VARIANT_TYPE ("av"))
                                   ? g_variant_get_variant (item) : g_variant_ref (item));
              g_variant_unref (item);
            }
        }

      joined = p_variant_join_boxed (chunks, n);
      wanted = g_variant_ref_sink (g_variant_builder_end (expected));
      g_assert_cmpvariant (joined, wanted);
      for (guint i = 0; i < n; i++)
        g_variant_unref (chunks[i]);
    }

  /* Many numbers of several sizes: framing offsets of 1, 2 and 4 bytes. */
  for (gsize total = 10; total <= 100000; total *= 100)
    {
      g_autofree guint8 *bytes = g_malloc (total);
      g_autofree guint16 *shorts = g_new (guint16, total);
      g_autofree double *doubles = g_new (double, total);
      g_autoptr(GVariantBuilder) expected = g_variant_builder_new (G_VARIANT_TYPE ("av"));
      g_autoptr(GVariant) joined = NULL;
      g_autoptr(GVariant) wanted = NULL;
      GVariant *chunks[3];

      for (gsize i = 0; i < total; i++)
        {
          bytes[i] = i;
          shorts[i] = i * 7;
          doubles[i] = i / 3.0;
        }
      chunks[0] = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, bytes, total, 1));
      chunks[1] = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_UINT16, shorts, total, 2));
      chunks[2] = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_DOUBLE, doubles, total, 8));
      for (gsize i = 0; i < total; i++)
        add_boxed (expected, g_variant_ref_sink (g_variant_new_byte (bytes[i])));
      for (gsize i = 0; i < total; i++)
        add_boxed (expected, g_variant_ref_sink (g_variant_new_uint16 (shorts[i])));
      for (gsize i = 0; i < total; i++)
        add_boxed (expected, g_variant_ref_sink (g_variant_new_double (doubles[i])));

      joined = p_variant_join_boxed (chunks, 3);
      wanted = g_variant_ref_sink (g_variant_builder_end (expected));
      g_assert_true (g_variant_is_normal_form (joined));
      g_assert_cmpvariant (joined, wanted);
      for (guint i = 0; i < 3; i++)
        g_variant_unref (chunks[i]);
    }

  /* Large items: byte strings, and the same boxed, beside a small one. */
  for (gsize c = 0; c < G_N_ELEMENTS (large); c++)
    {
      g_autoptr(GVariant) strings = byte_strings (large[c].n, large[c].size, 1);
      g_autoptr(GVariantBuilder) boxed_builder = g_variant_builder_new (G_VARIANT_TYPE ("av"));
      g_autoptr(GVariantBuilder) expected = g_variant_builder_new (G_VARIANT_TYPE ("av"));
      g_autoptr(GVariant) boxed = NULL;
      g_autoptr(GVariant) joined = NULL;
      g_autoptr(GVariant) wanted = NULL;
      GVariant *chunks[2];

      for (guint k = 0; k < large[c].n; k++)
        add_boxed (boxed_builder, g_variant_get_child_value (strings, k));
      g_variant_builder_add (boxed_builder, "v", g_variant_new_int32 (7));
      boxed = g_variant_ref_sink (g_variant_builder_end (boxed_builder));

      for (guint round = 0; round < 2; round++)
        for (guint k = 0; k < large[c].n; k++)
          add_boxed (expected, g_variant_get_child_value (strings, k));
      g_variant_builder_add (expected, "v", g_variant_new_int32 (7));

      chunks[0] = strings;
      chunks[1] = boxed;
      joined = p_variant_join_boxed (chunks, 2);
      wanted = g_variant_ref_sink (g_variant_builder_end (expected));
      g_assert_cmpvariant (joined, wanted);
      g_assert_cmpuint (g_variant_n_children (joined), ==, 2 * large[c].n + 1);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/chunk-results/gathered", test_chunk_results_gathered);
  g_test_add_func ("/chunk-results/join", test_join);

  return g_test_run ();
}
