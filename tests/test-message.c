/* test-message.c: messages written and read: the direct encoders against GLib, deferred values, the envelope parser
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
test_encode_limit (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *data = g_malloc0 (10000);
  GBytes *frame;

  frame = p_message_encode (P_MESSAGE_RESULT,
                            g_variant_new ("(tv)", (guint64) 1,
                                           g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, 10000, 1)),
                            5000, &error);
  g_assert_null (frame);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
}

static void
test_encode_untrusted (void)
{
  /* An int32 in 5 bytes is not normal: the encoder sends the normal form. */
  static const guint8 five[5] = { 1, 0, 0, 0, 9 };
  g_autoptr(GVariant) untrusted = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("ai"), five, 5, FALSE, NULL, NULL));
  g_autoptr(GBytes) frame = encode (P_MESSAGE_RESULT, g_variant_new ("(tv)", (guint64) 1, untrusted));
  g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_POOL, TEST_MAX_MESSAGE_SIZE);
  g_autoptr(PMessage) message = NULL;
  g_autoptr(GVariant) empty = g_variant_ref_sink (g_variant_new_parsed ("@ai []"));
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  p_frame_reader_feed (reader, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
  g_assert_true (p_frame_reader_pop (reader, &message, &error));
  g_assert_no_error (error);
  /* As GLib reads 5 bytes of int32s: no whole array, so an empty one. */
  value = p_message_dup_value (message);
  g_assert_true (g_variant_equal (value, empty));
}

/* What is made from a message outlives it: a small TASK's or RESULT's body
 * is stored in the message itself, a large one in a GBytes of its own. */
static void
test_message_outlived (void)
{
  static const gsize sizes[] = { 24, 100 * 1024 };

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree guint8 *data = g_malloc (sizes[i]);
      g_autoptr(GVariant) sent = NULL;
      g_autoptr(GBytes) frame = NULL;
      g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_WORKER, TEST_MAX_MESSAGE_SIZE);
      PMessage *message = NULL;
      g_autoptr(GVariant) value = NULL;
      g_autoptr(GVariant) boxed = NULL;
      g_autoptr(GVariant) body = NULL;
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GVariant) expected_body = NULL;
      g_autoptr(GError) error = NULL;

      for (gsize j = 0; j < sizes[i]; j++)
        data[j] = (guint8) (j * 7 + i);
      sent = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, sizes[i], 1));
      expected_body = g_variant_ref_sink (g_variant_new ("(tsv)", (guint64) 42, "echo", sent));
      frame = encode (P_MESSAGE_TASK, expected_body);

      p_frame_reader_feed (reader, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
      g_assert_true (p_frame_reader_pop (reader, &message, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (message->id, ==, 42);
      g_assert_cmpstr (message->name, ==, "echo");

      value = p_message_dup_value (message);
      boxed = p_message_dup_boxed_value (message);
      body = message_dup_body (message);
      bytes = p_message_ref_bytes (message);
      p_message_free (message);

      /* Read after the message is gone: valgrind and ASan would see a use
       * of freed memory here. */
      g_assert_true (g_variant_equal (value, sent));
      g_assert_true (g_variant_equal (body, expected_body));
      {
        g_autoptr(GVariant) unboxed = g_variant_get_variant (boxed);

        g_assert_true (g_variant_equal (unboxed, sent));
      }
      g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                       g_variant_get_data (expected_body), g_variant_get_size (expected_body));
    }
}

/* A small RESULT's basic value is checked but not made: it is made where
 * it is read, from the message's storage, which outlives the message. A
 * value of any other type, and a malformed basic value, are not deferred. */
static void
test_deferred_value (void)
{
  const char *values[] = { "int64 -7", "'text'", "objectpath '/a/b'", "true", "@(ix) (1, 2)", "@ai [1, 2]", "<uint16 3>" };

  for (gsize i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autoptr(GVariant) sent = g_variant_ref_sink (g_variant_new_parsed (values[i]));
      g_autoptr(GBytes) frame = encode (P_MESSAGE_RESULT, g_variant_new ("(tv)", (guint64) 5, sent));
      g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_POOL, TEST_MAX_MESSAGE_SIZE);
      PMessage *message = NULL;
      PDeferredValue *deferred;
      g_autoptr(GVariant) now = NULL;
      g_autoptr(GVariant) later = NULL;
      g_autoptr(GError) error = NULL;
      gboolean basic = g_variant_type_is_basic (g_variant_get_type (sent));

      p_frame_reader_feed (reader, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
      g_assert_true (p_frame_reader_pop (reader, &message, &error));
      g_assert_no_error (error);

      g_assert_true ((message->value == NULL) == basic);
      now = p_message_dup_value (message);
      g_assert_cmpvariant (now, sent);

      deferred = p_message_defer_value (message);
      g_assert_true ((deferred != NULL) == basic);
      p_message_free (message);
      if (deferred == NULL)
        continue;

      /* After the message is gone: valgrind and ASan would see a use of
       * freed memory here. */
      later = p_deferred_value_take (deferred);
      g_assert_cmpvariant (later, sent);
      g_assert_true (g_variant_is_normal_form (later));
    }

  /* Checked all the same: a boolean of 2 is refused. */
  {
    g_autoptr(GBytes) valid = encode (P_MESSAGE_RESULT, g_variant_new ("(tv)", (guint64) 5, g_variant_new_boolean (TRUE)));
    g_autofree guint8 *bad = g_memdup2 (g_bytes_get_data (valid, NULL), g_bytes_get_size (valid));
    g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_POOL, TEST_MAX_MESSAGE_SIZE);
    PMessage *message = NULL;
    g_autoptr(GError) error = NULL;

    /* After the 8-byte header and the 8-byte id. */
    g_assert_cmpuint (bad[16], ==, 1);
    bad[16] = 2;
    p_frame_reader_feed (reader, bad, g_bytes_get_size (valid));
    g_assert_false (p_frame_reader_pop (reader, &message, &error));
    g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL);
    g_assert_null (message);
  }
}

/* The frames written directly are the ones GLib would serialize, for
 * offsets of every size, with values copied and shared. */
static void
test_direct_encoding (void)
{
  gsize name_lengths[] = { 1, 6, 7, 8, 200, 300, 70000 };
  gsize payload_sizes[] = { 0, 1, 9, 240, 250, 20000, 70000 };

  for (gsize n = 0; n < G_N_ELEMENTS (name_lengths); n++)
    for (gsize p = 0; p < G_N_ELEMENTS (payload_sizes); p++)
      {
        g_autofree char *name = g_strnfill (name_lengths[n], 'f');
        g_autofree guint8 *data = g_malloc0 (MAX (payload_sizes[p], 1));
        g_autoptr(GVariant) bytes = NULL;
        g_autoptr(GVariant) text = g_variant_ref_sink (g_variant_new_string (name));

        for (gsize i = 0; i < payload_sizes[p]; i++)
          data[i] = i * 3;
        bytes = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, payload_sizes[p], 1));

        assert_same_frame (p_message_encode_task (42, name, bytes, TEST_MAX_MESSAGE_SIZE, NULL),
                           encode (P_MESSAGE_TASK, message_new_task (42, name, bytes)));

        for (int stop = 0; stop < 2; stop++)
          assert_same_frame (p_message_encode_chunk_items (7, name, bytes, 0, g_variant_n_children (bytes), stop,
                                                           TEST_MAX_MESSAGE_SIZE, NULL),
                             encode (P_MESSAGE_CHUNK, message_new_chunk (7, name, bytes, stop)));

        assert_same_frame (p_message_encode_result (9, bytes, TEST_MAX_MESSAGE_SIZE, NULL),
                           encode (P_MESSAGE_RESULT, message_new_result (9, bytes)));
        assert_same_frame (p_message_encode_result (9, text, TEST_MAX_MESSAGE_SIZE, NULL),
                           encode (P_MESSAGE_RESULT, message_new_result (9, text)));
      }

  /* Numbers and booleans made from bytes of the wrong size or value, as a
   * function may return them: sent as GLib reads them (zero; true). */
  {
    static const guint8 short_bytes[5] = { 1, 2, 3, 4, 5 };
    static const guint8 two = 2;
    GVariant *odd[] = {
      g_variant_new_from_data (G_VARIANT_TYPE_INT64, short_bytes, 5, FALSE, NULL, NULL),
      g_variant_new_from_data (G_VARIANT_TYPE_DOUBLE, short_bytes, 5, FALSE, NULL, NULL),
      g_variant_new_from_data (G_VARIANT_TYPE_BOOLEAN, &two, 1, FALSE, NULL, NULL),
    };

    for (gsize i = 0; i < G_N_ELEMENTS (odd); i++)
      {
        g_autoptr(GVariant) value = g_variant_ref_sink (odd[i]);

        assert_same_frame (p_message_encode_result (9, value, TEST_MAX_MESSAGE_SIZE, NULL),
                           encode (P_MESSAGE_RESULT, message_new_result (9, value)));
        assert_same_frame (p_message_encode_task (4, "f", value, TEST_MAX_MESSAGE_SIZE, NULL),
                           encode (P_MESSAGE_TASK, message_new_task (4, "f", value)));
      }
  }
}

/* A task or result of a number is written from its bytes, and a task of
 * an array's item from the array: the frames are the ones GLib serializes,
 * for every number type and for other types, with names on either side of
 * an offset size; the size limit holds for them as for any other. */
static void
test_encode_numbers (void)
{
  const char *values[] = {
    "byte 200", "int16 -2", "uint16 65535", "-7", "uint32 4000000000", "handle 3",
    "int64 -9000000000", "uint64 18000000000000000000", "2.5",
    "true", "'text'", "objectpath '/a'", "(1, 'b')", "<1>", "[1, 2]", "@mx 1", "{1: 2}",
  };
  gsize name_lengths[] = { 1, 7, 200, 300, 70000 };
  g_autofree char *too_long = g_strnfill (P_MIN_MAX_MESSAGE_SIZE, 'f');

  for (gsize v = 0; v < G_N_ELEMENTS (values); v++)
    {
      g_autoptr(GVariant) value = g_variant_parse (NULL, values[v], NULL, NULL, NULL);
      g_autoptr(GVariant) other = NULL;
      g_autoptr(GVariant) array = NULL;
      g_autoptr(GError) error = NULL;
      GVariant *items[2];

      /* As the second item of an array, after another of its type. */
      g_assert_nonnull (value);
      other = g_variant_parse (g_variant_get_type (value), v < 9 ? "1" : values[v], NULL, NULL, NULL);
      g_assert_nonnull (other);
      items[0] = other;
      items[1] = value;
      array = g_variant_ref_sink (g_variant_new_array (NULL, items, 2));

      for (gsize n = 0; n < G_N_ELEMENTS (name_lengths); n++)
        {
          g_autofree char *name = g_strnfill (name_lengths[n], 'f');

          assert_same_frame (p_message_encode_task (3, name, value, TEST_MAX_MESSAGE_SIZE, NULL),
                             encode (P_MESSAGE_TASK, message_new_task (3, name, value)));
          assert_same_frame (p_message_encode_task_item (3, name, array, 1, TEST_MAX_MESSAGE_SIZE, NULL),
                             encode (P_MESSAGE_TASK, message_new_task (3, name, value)));
          assert_same_frame (p_message_encode_task_item (3, name, array, 0, TEST_MAX_MESSAGE_SIZE, NULL),
                             encode (P_MESSAGE_TASK, message_new_task (3, name, other)));
        }

      assert_same_frame (p_message_encode_result (9, value, TEST_MAX_MESSAGE_SIZE, NULL),
                         encode (P_MESSAGE_RESULT, message_new_result (9, value)));

      g_assert_null (p_message_encode_task (3, too_long, value, P_MIN_MAX_MESSAGE_SIZE, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
      g_clear_error (&error);
      g_assert_null (p_message_encode_task_item (3, too_long, array, 1, P_MIN_MAX_MESSAGE_SIZE, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
    }
}

/* Chunks written from a slice of the items, and chunk results. */
static void
test_direct_encoding_arrays (void)
{
  g_autofree guint8 *big = g_malloc (40000);
  const char *arrays[] = {
    "@ax []", "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", "[true, false]", "[1.5, -2.0, 3.25]",
    "['a', '', 'ccc']", "[<1>, <'two'>, <[3.0]>]", "[(1, 'a'), (2, 'bb')]", "[@ay [1, 2], [3]]",
  };
  GVariant *big_items[3];
  g_autoptr(GVariant) big_array = NULL;

  for (gsize i = 0; i < 40000; i++)
    big[i] = i;
  for (int i = 0; i < 3; i++)
    big_items[i] = g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, big, 40000 - i * 17, 1);
  big_array = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_BYTESTRING, big_items, 3));

  for (gsize a = 0; a <= G_N_ELEMENTS (arrays); a++)
    {
      g_autoptr(GVariant) items = a < G_N_ELEMENTS (arrays)
        ? g_variant_parse (NULL, arrays[a], NULL, NULL, NULL)
        : g_variant_ref (big_array);
      gsize n_items = g_variant_n_children (items);

      for (gsize first = 0; first <= n_items; first++)
        for (gsize n = 0; first + n <= n_items; n++)
          {
            g_autoptr(GPtrArray) children = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
            g_autoptr(GVariant) slice = NULL;
            g_auto(GVariantBuilder) errors = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(usis)"));

            for (gsize i = 0; i < n; i++)
              g_ptr_array_add (children, g_variant_get_child_value (items, first + i));
            slice = g_variant_ref_sink (g_variant_new_array (g_variant_type_element (g_variant_get_type (items)),
                                                             (GVariant **) children->pdata, n));

            assert_same_frame (p_message_encode_chunk_items (3, "f", items, first, n, TRUE, TEST_MAX_MESSAGE_SIZE, NULL),
                               encode (P_MESSAGE_CHUNK, message_new_chunk (3, "f", slice, TRUE)));

            if (n > 1)
              g_variant_builder_add (&errors, "(usis)", (guint32) 1, "d", 4, "message");
            {
              GVariant *errors_value = g_variant_ref_sink (g_variant_builder_end (&errors));

              /* (Both take a floating reference, or borrow a full one.) */
              g_autoptr(PChunkResults) results = p_chunk_results_new ();

              for (gsize i = 0; i < n; i++)
                g_assert_true (p_chunk_results_add (results, g_variant_ref (children->pdata[i]), NULL));
              assert_same_frame (p_message_encode_chunk_result (5, results, errors_value, TEST_MAX_MESSAGE_SIZE, NULL),
                                 encode (P_MESSAGE_CHUNK_RESULT,
                                         message_new_chunk_result (5, (GVariant **) children->pdata, n,
                                                                     errors_value)));
              g_variant_unref (errors_value);
            }
          }
    }
}

static void
test_envelope_differential (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  guint rounds = g_test_slow () ? 20000 : 2000;
  /* Long names need 2-byte framing offsets; names must be UTF-8. */
  g_autofree char *long_name = g_strnfill (300, 'f');
  const char *names[] = { "square", "", "\xc3\xa9t\xc3\xa9", "a.b-c_d", long_name };

  for (guint round = 0; round < rounds; round++)
    {
      PMessageKind kind = g_rand_boolean (rand) ? P_MESSAGE_TASK : P_MESSAGE_RESULT;
      g_autofree char *type_string = random_type (rand, 0);
      GVariant *fields[3];
      gsize n_fields = 0;
      g_autoptr(GVariant) body = NULL;
      g_autoptr(GBytes) bytes = NULL;
      gsize size;

      fields[n_fields++] = g_variant_new_uint64 (g_rand_int (rand));
      if (kind == P_MESSAGE_TASK)
        fields[n_fields++] = g_variant_new_string (names[g_rand_int_range (rand, 0, G_N_ELEMENTS (names))]);
      fields[n_fields++] = g_variant_new_variant (random_value (rand, G_VARIANT_TYPE (type_string), 0));
      body = g_variant_ref_sink (g_variant_new_tuple (fields, n_fields));
      bytes = g_variant_get_data_as_bytes (body);
      size = g_bytes_get_size (bytes);

      assert_envelope_verdict (kind, bytes, TRUE);

      /* Damaged copies, many of them near the end, where the value's
       * type and the framing offset are; some with another type. */
      for (int mutation = 0; mutation < 8; mutation++)
        {
          gsize type_end = size - (kind == P_MESSAGE_TASK ? (size > 255 ? 2 : 1) : 0);
          g_autoptr(GBytes) damaged = damaged_copy (rand, bytes, type_end - 1);

          assert_envelope_verdict (kind, damaged, FALSE);
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/message/encode-limit", test_encode_limit);
  g_test_add_func ("/message/encode-untrusted", test_encode_untrusted);
  g_test_add_func ("/message/outlived", test_message_outlived);
  g_test_add_func ("/message/deferred-value", test_deferred_value);
  g_test_add_func ("/message/direct-encoding", test_direct_encoding);
  g_test_add_func ("/message/encode-numbers", test_encode_numbers);
  g_test_add_func ("/message/direct-encoding-arrays", test_direct_encoding_arrays);
  g_test_add_func ("/message/envelope-differential", test_envelope_differential);

  return g_test_run ();
}
