/* test-channel.c: message framing and the normal-form check
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "p-channel-private.h"
#include "p-error.h"
#include "normal-form-oracle.h"

#define MAX_SIZE ((gsize) 64 * 1024 * 1024)

static GBytes *
encode (PMessageKind  kind,
        GVariant     *body)
{
  g_autoptr(GError) error = NULL;
  GBytes *frame = p_message_encode (kind, body, MAX_SIZE, &error);

  g_assert_no_error (error);
  g_assert_nonnull (frame);

  return frame;
}

static GBytes *
raw_frame (guint32       size,
           guint32       kind,
           const guint8 *body,
           gsize         body_size)
{
  GByteArray *frame = g_byte_array_new ();
  guint32 header[2] = { size, kind };

  g_byte_array_append (frame, (const guint8 *) header, sizeof header);
  if (body_size > 0)
    g_byte_array_append (frame, body, body_size);

  return g_byte_array_free_to_bytes (frame);
}

/* The string after the id, as GLib reads it. */
static const char *
body_name (GVariant *body)
{
  const char *name;

  g_variant_get_child (body, 1, "&s", &name);
  return name;
}

/* {{{ Frames */

static void
test_roundtrip_splits (void)
{
  GVariant *bodies[5];
  /* A large body (read into its own allocation) followed by a small one:
   * fed at once, the small one waits in the buffer until the large one is
   * popped. */
  PMessageKind kinds[5] = { P_MESSAGE_TASK, P_MESSAGE_CHUNK, P_MESSAGE_CANCEL, P_MESSAGE_TASK, P_MESSAGE_CANCEL };
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  g_autofree guint8 *big = g_malloc (100000);
  gsize steps[] = { 1, 3, 8, 13, 4096, 70000, 1 << 20 };

  for (gsize i = 0; i < 100000; i++)
    big[i] = i * 13;

  bodies[0] = g_variant_ref_sink (g_variant_new ("(tsv)", (guint64) 1, "square", g_variant_new_int64 (4)));
  bodies[1] = g_variant_ref_sink (g_variant_new ("(ts@vb)", (guint64) 2, "f",
                                                 g_variant_new_variant (g_variant_new_parsed ("[1, 2, 3]")), TRUE));
  bodies[2] = g_variant_ref_sink (g_variant_new ("(t)", (guint64) 3));
  bodies[3] = g_variant_ref_sink (g_variant_new ("(tsv)", (guint64) 4, "echo",
                                                 g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, big, 100000, 1)));
  bodies[4] = g_variant_ref_sink (g_variant_new ("(t)", (guint64) 5));

  for (gsize i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr(GBytes) frame = encode (kinds[i], bodies[i]);

      /* Whole 8-byte units: the next frame stays aligned. */
      g_assert_cmpuint (g_bytes_get_size (frame) % 8, ==, 0);
      g_byte_array_append (stream, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
    }

  for (gsize s = 0; s < G_N_ELEMENTS (steps); s++)
    {
      g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_WORKER, MAX_SIZE);
      gsize received = 0;

      for (gsize offset = 0; offset < stream->len; offset += steps[s])
        {
          g_autoptr(GError) error = NULL;
          PMessage *message;

          p_frame_reader_feed (reader, stream->data + offset, MIN (steps[s], stream->len - offset));
          while (p_frame_reader_pop (reader, &message, &error))
            {
              g_autoptr(GVariant) body = p_message_dup_body (message);
              guint64 id;

              g_assert_cmpuint (message->kind, ==, kinds[received]);
              g_assert_true (g_variant_equal (body, bodies[received]));
              g_variant_get_child (body, 0, "t", &id);
              g_assert_cmpuint (message->id, ==, id);
              if (message->kind == P_MESSAGE_CHUNK)
                g_assert_cmpstr (message->name, ==, body_name (body));
              if (message->kind == P_MESSAGE_TASK)
                {
                  g_autoptr(GVariant) boxed = g_variant_get_child_value (body, 2);
                  g_autoptr(GVariant) args = g_variant_get_variant (boxed);

                  g_autoptr(GVariant) value = p_message_dup_value (message);

                  g_assert_null (message->body);
                  g_assert_cmpstr (message->name, ==, body_name (body));
                  g_assert_cmpvariant (value, args);
                }
              p_message_free (message);
              received++;
            }
          g_assert_no_error (error);
        }

      g_assert_cmpuint (received, ==, G_N_ELEMENTS (bodies));
      g_assert_true (p_frame_reader_is_idle (reader));
    }

  for (gsize i = 0; i < G_N_ELEMENTS (bodies); i++)
    g_variant_unref (bodies[i]);
}

static void
assert_stream_fails (PDirection    direction,
                     gsize         max_size,
                     GBytes       *stream,
                     const char   *message_part)
{
  g_autoptr(PFrameReader) reader = p_frame_reader_new (direction, max_size);
  g_autoptr(GError) error = NULL;
  PMessage *message = NULL;

  p_frame_reader_feed (reader, g_bytes_get_data (stream, NULL), g_bytes_get_size (stream));
  g_assert_false (p_frame_reader_pop (reader, &message, &error));
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, message_part));
  g_clear_error (&error);

  /* Broken for good. */
  g_assert_false (p_frame_reader_pop (reader, &message, &error));
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL);
}

static void
test_bad_frames (void)
{
  g_autoptr(GBytes) task = encode (P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 1, "f", g_variant_new_int32 (1)));
  g_autoptr(GBytes) unknown = raw_frame (8, 99, (const guint8 *) "\0\0\0\0\0\0\0\0", 8);
  g_autoptr(GBytes) recall = encode (P_MESSAGE_RECALL, p_message_new_id (1));
  g_autoptr(GBytes) recalled = encode (P_MESSAGE_RECALLED, p_message_new_id (1));
  g_autoptr(GBytes) oversized = raw_frame (G_MAXUINT32, P_MESSAGE_RESULT, NULL, 0);
  g_autoptr(GBytes) short_cancel = raw_frame (4, P_MESSAGE_CANCEL, (const guint8 *) "\1\0\0\0\0\0\0\0", 8);
  g_autoptr(GBytes) bad_padding = raw_frame (4, P_MESSAGE_CANCEL, (const guint8 *) "\1\0\0\0\1\0\0\0", 8);
  /* "(tv)" whose variant has no type string. */
  g_autoptr(GBytes) not_normal = raw_frame (16, P_MESSAGE_RESULT,
                                            (const guint8 *) "\1\0\0\0\0\0\0\0\7\0\0\0\0\0\0\0", 16);
  g_autoptr(GBytes) big_not_normal = NULL;

  /* A message for the other direction. */
  assert_stream_fails (P_DIRECTION_TO_POOL, MAX_SIZE, task, "kind 1");
  assert_stream_fails (P_DIRECTION_TO_POOL, MAX_SIZE, recall, "kind 4");
  assert_stream_fails (P_DIRECTION_TO_WORKER, MAX_SIZE, recalled, "kind 20");
  assert_stream_fails (P_DIRECTION_TO_WORKER, MAX_SIZE, unknown, "kind 99");
  /* Refused from its header: nothing that size is allocated. */
  assert_stream_fails (P_DIRECTION_TO_POOL, MAX_SIZE, oversized, "limit");
  assert_stream_fails (P_DIRECTION_TO_WORKER, MAX_SIZE, short_cancel, "normal form");
  assert_stream_fails (P_DIRECTION_TO_WORKER, MAX_SIZE, bad_padding, "padding");
  assert_stream_fails (P_DIRECTION_TO_POOL, MAX_SIZE, not_normal, "normal form");

  /* A large body goes through the direct path; its check is the same. */
  {
    gsize size = 100000;
    g_autofree guint8 *body = g_malloc0 (size);
    guint64 id = 1;

    memcpy (body, &id, sizeof id);
    big_not_normal = raw_frame (size, P_MESSAGE_RESULT, body, size);
    assert_stream_fails (P_DIRECTION_TO_POOL, MAX_SIZE, big_not_normal, "normal form");
  }
}

static void
test_truncated (void)
{
  g_autoptr(GBytes) task = encode (P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 1, "f", g_variant_new_int32 (1)));
  g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_WORKER, MAX_SIZE);
  g_autoptr(GError) error = NULL;
  PMessage *message;

  g_assert_true (p_frame_reader_is_idle (reader));
  p_frame_reader_feed (reader, g_bytes_get_data (task, NULL), g_bytes_get_size (task) - 1);
  g_assert_false (p_frame_reader_pop (reader, &message, &error));
  g_assert_no_error (error);
  /* An end of stream now would cut a message. */
  g_assert_false (p_frame_reader_is_idle (reader));
}

/* Frames fed a byte at a time and popped only at the end: whole frames
 * wait in the buffer, which grows with them, not with every byte. */
static void
test_fed_before_popped (void)
{
  g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_WORKER, MAX_SIZE);
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  PMessage *message;
  guint64 expected_id = 1;

  for (guint64 id = 1; id <= 64; id++)
    {
      g_autoptr(GBytes) frame = encode (P_MESSAGE_CANCEL, p_message_new_id (id));

      g_byte_array_append (stream, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
    }

  for (guint i = 0; i < stream->len; i++)
    p_frame_reader_feed (reader, stream->data + i, 1);

  while (p_frame_reader_pop (reader, &message, &error))
    {
      g_assert_cmpuint (message->kind, ==, P_MESSAGE_CANCEL);
      g_assert_cmpuint (message->id, ==, expected_id++);
      p_message_free (message);
    }
  g_assert_no_error (error);
  g_assert_cmpuint (expected_id, ==, 65);
  g_assert_true (p_frame_reader_is_idle (reader));
}

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
  g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_POOL, MAX_SIZE);
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
      g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_WORKER, MAX_SIZE);
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
      body = p_message_dup_body (message);
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
      g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_POOL, MAX_SIZE);
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
    g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_POOL, MAX_SIZE);
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

/* A frame's bytes, as a queue hands them to writev(), joined. */
static GBytes *
joined (PFrame *frame)
{
  g_autoptr(PFrame) owned = frame;
  GByteArray *bytes = g_byte_array_new ();
  PFrameQueue queue;

  p_frame_queue_init (&queue);
  p_frame_queue_push (&queue, frame);
  g_assert_cmpuint (queue.size, ==, p_frame_get_size (frame));

  while (!p_frame_queue_is_empty (&queue))
    {
      GOutputVector vectors[2];
      gsize n_vectors = p_frame_queue_peek (&queue, vectors, G_N_ELEMENTS (vectors));
      gsize written = 0;

      for (gsize i = 0; i < n_vectors; i++)
        {
          g_byte_array_append (bytes, vectors[i].buffer, vectors[i].size);
          written += vectors[i].size;
        }
      p_frame_queue_advance (&queue, written);
    }

  p_frame_queue_clear (&queue);

  return g_byte_array_free_to_bytes (bytes);
}

static void
assert_same_frame (PFrame *direct,
                   GBytes *reference)
{
  g_autoptr(GBytes) frame = joined (direct);

  g_assert_cmpuint (g_bytes_get_size (frame), ==, g_bytes_get_size (reference));
  g_assert_true (g_bytes_equal (frame, reference));
  g_bytes_unref (reference);
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

        assert_same_frame (p_message_encode_task (42, name, bytes, MAX_SIZE, NULL),
                           encode (P_MESSAGE_TASK, p_message_new_task (42, name, bytes)));

        for (int stop = 0; stop < 2; stop++)
          assert_same_frame (p_message_encode_chunk (7, name, bytes, stop, MAX_SIZE, NULL),
                             encode (P_MESSAGE_CHUNK, p_message_new_chunk (7, name, bytes, stop)));

        assert_same_frame (p_message_encode_result (9, bytes, MAX_SIZE, NULL),
                           encode (P_MESSAGE_RESULT, p_message_new_result (9, bytes)));
        assert_same_frame (p_message_encode_result (9, text, MAX_SIZE, NULL),
                           encode (P_MESSAGE_RESULT, p_message_new_result (9, text)));
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

        assert_same_frame (p_message_encode_result (9, value, MAX_SIZE, NULL),
                           encode (P_MESSAGE_RESULT, p_message_new_result (9, value)));
        assert_same_frame (p_message_encode_task (4, "f", value, MAX_SIZE, NULL),
                           encode (P_MESSAGE_TASK, p_message_new_task (4, "f", value)));
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

          assert_same_frame (p_message_encode_task (3, name, value, MAX_SIZE, NULL),
                             encode (P_MESSAGE_TASK, p_message_new_task (3, name, value)));
          assert_same_frame (p_message_encode_task_item (3, name, array, 1, MAX_SIZE, NULL),
                             encode (P_MESSAGE_TASK, p_message_new_task (3, name, value)));
          assert_same_frame (p_message_encode_task_item (3, name, array, 0, MAX_SIZE, NULL),
                             encode (P_MESSAGE_TASK, p_message_new_task (3, name, other)));
        }

      assert_same_frame (p_message_encode_result (9, value, MAX_SIZE, NULL),
                         encode (P_MESSAGE_RESULT, p_message_new_result (9, value)));

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

            assert_same_frame (p_message_encode_chunk_items (3, "f", items, first, n, TRUE, MAX_SIZE, NULL),
                               encode (P_MESSAGE_CHUNK, p_message_new_chunk (3, "f", slice, TRUE)));

            if (n > 1)
              g_variant_builder_add (&errors, "(usis)", (guint32) 1, "d", 4, "message");
            {
              GVariant *errors_value = g_variant_ref_sink (g_variant_builder_end (&errors));

              /* (Both take a floating reference, or borrow a full one.) */
              g_autoptr(PChunkResults) results = p_chunk_results_new ();

              for (gsize i = 0; i < n; i++)
                g_assert_true (p_chunk_results_add (results, g_variant_ref (children->pdata[i]), NULL));
              assert_same_frame (p_message_encode_chunk_result (5, results, errors_value, MAX_SIZE, NULL),
                                 encode (P_MESSAGE_CHUNK_RESULT,
                                         p_message_new_chunk_result (5, (GVariant **) children->pdata, n,
                                                                     errors_value)));
              g_variant_unref (errors_value);
            }
          }
    }
}

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

/* After a worker's death, the pool takes from its reply area the bytes
 * that continue its stream where the channel ended, and nothing else. */
static void
test_reply_area_unsent (void)
{
  g_autoptr(GError) error = NULL;
  PReplyArea *area;
  const guint8 *unsent;
  gsize length;
  int fd = -1;

  area = p_reply_area_new (4096, &fd, &error);
  g_assert_no_error (error);
  g_assert_nonnull (area);
  g_assert_cmpint (fd, >=, 0);
  close (fd);

  /* Nothing held. */
  area->stream_offset = 100;
  g_assert_null (p_reply_area_get_unsent (area, 4096, 100, &length));
  g_assert_cmpuint (length, ==, 0);

  /* 40 bytes held from offset 100: none of them, half, all read. */
  area->length = 40;
  unsent = p_reply_area_get_unsent (area, 4096, 100, &length);
  g_assert_true (unsent == area->data);
  g_assert_cmpuint (length, ==, 40);
  unsent = p_reply_area_get_unsent (area, 4096, 120, &length);
  g_assert_true (unsent == area->data + 20);
  g_assert_cmpuint (length, ==, 20);
  g_assert_null (p_reply_area_get_unsent (area, 4096, 140, &length));
  g_assert_null (p_reply_area_get_unsent (area, 4096, 500, &length));

  /* Not the end of what the pool read: a gap, or a worker's garbage. */
  g_assert_null (p_reply_area_get_unsent (area, 4096, 99, &length));
  area->length = 4097;
  g_assert_null (p_reply_area_get_unsent (area, 4096, 100, &length));
  g_assert_cmpuint (length, ==, 0);

  p_reply_area_unmap (area, 4096);
}

static gboolean
fd_is_open (int fd)
{
  return fcntl (fd, F_GETFD) != -1 || errno != EBADF;
}

/* The worker maps the area its environment names, shared with the pool,
 * or none at all; the descriptor is closed either way. */
static void
test_reply_area_env (void)
{
  g_autoptr(GError) error = NULL;
  PReplyArea *pool_side;
  PReplyArea *worker_side;
  gsize capacity = 0;
  int pipe_fds[2];
  int fd = -1;

  g_assert_null (p_reply_area_map_env (NULL, &capacity));
  g_assert_null (p_reply_area_map_env ("", &capacity));
  g_assert_null (p_reply_area_map_env ("x:4096", &capacity));
  g_assert_null (p_reply_area_map_env ("-1:4096", &capacity));

  pool_side = p_reply_area_new (8192, &fd, &error);
  g_assert_no_error (error);

  /* Larger than the memory, or out of bounds: not mapped. */
  for (guint i = 0; i < 4; i++)
    {
      const char *capacities[] = { "16384", "100", "", "8192:1" };
      int copy = dup (fd);
      g_autofree char *value = g_strdup_printf ("%d:%s", copy, capacities[i]);

      g_assert_null (p_reply_area_map_env (value, &capacity));
      g_assert_false (fd_is_open (copy));
    }

  /* Not memory at all. */
  g_assert_cmpint (pipe (pipe_fds), ==, 0);
  {
    g_autofree char *value = g_strdup_printf ("%d:4096", pipe_fds[0]);

    g_assert_null (p_reply_area_map_env (value, &capacity));
    g_assert_false (fd_is_open (pipe_fds[0]));
    close (pipe_fds[1]);
  }

  /* The same memory on both sides; smaller than the file is fine. */
  {
    g_autofree char *value = g_strdup_printf ("%d:8192", fd);

    worker_side = p_reply_area_map_env (value, &capacity);
    g_assert_nonnull (worker_side);
    g_assert_cmpuint (capacity, ==, 8192);
    g_assert_false (fd_is_open (fd));

    worker_side->stream_offset = 77;
    memset (worker_side->data + 8191, 0xab, 1);
    g_assert_cmpuint (pool_side->stream_offset, ==, 77);
    g_assert_cmpuint (pool_side->data[8191], ==, 0xab);
  }

  p_reply_area_unmap (worker_side, 8192);
  p_reply_area_unmap (pool_side, 8192);
}

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
      assert_same_frame (p_message_encode_chunk_result (4, results, errors, MAX_SIZE, NULL),
                         encode (P_MESSAGE_CHUNK_RESULT,
                                 p_message_new_chunk_result (4, (GVariant **) values->pdata, values->len, errors)));
    }
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

/* Frames leave in order, whole, however the writes are cut. */
static void
test_frame_queue (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());

  for (int round = 0; round < 200; round++)
    {
      g_autoptr(GByteArray) expected = g_byte_array_new ();
      g_autoptr(GByteArray) sent = g_byte_array_new ();
      PFrameQueue queue;
      int n_frames = g_rand_int_range (rand, 1, 100);
      int pushed = 0;

      p_frame_queue_init (&queue);
      g_assert_true (p_frame_queue_is_empty (&queue));

      while (pushed < n_frames || !p_frame_queue_is_empty (&queue))
        {
          /* Pushes and writes interleave, as replies come while others leave. */
          if (pushed < n_frames && g_rand_boolean (rand))
            {
              g_autoptr(GPtrArray) segments = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
              g_autoptr(PFrame) frame = NULL;
              int n_segments = g_rand_int_range (rand, 1, 4);

              for (int i = 0; i < n_segments; i++)
                {
                  gsize size = g_rand_int_range (rand, 1, 300);
                  guint8 *data = g_malloc (size);

                  for (gsize j = 0; j < size; j++)
                    data[j] = g_rand_int (rand);
                  g_byte_array_append (expected, data, size);
                  g_ptr_array_add (segments, g_bytes_new_take (data, size));
                }
              frame = p_frame_new ((GBytes **) segments->pdata, segments->len);
              g_assert_cmpuint (p_frame_get_size (frame), ==, expected->len - sent->len - queue.size);
              p_frame_queue_push (&queue, frame);
              pushed++;
            }
          else if (!p_frame_queue_is_empty (&queue))
            {
              GOutputVector vectors[3];
              gsize n_vectors = p_frame_queue_peek (&queue, vectors, g_rand_int_range (rand, 1, 4));
              gsize budget = g_rand_int_range (rand, 0, 700);
              gsize written = 0;

              g_assert_cmpuint (n_vectors, >, 0);
              for (gsize i = 0; i < n_vectors && written < budget; i++)
                {
                  gsize n = MIN (vectors[i].size, budget - written);

                  g_byte_array_append (sent, vectors[i].buffer, n);
                  written += n;
                }
              p_frame_queue_advance (&queue, written);
            }
        }

      g_assert_cmpmem (sent->data, sent->len, expected->data, expected->len);
      g_assert_cmpuint (queue.n_frames, ==, 0);
      p_frame_queue_clear (&queue);
    }
}

/* }}} */
/* {{{ Normal form, against GLib */

static char *
random_type (GRand *rand,
             int    depth)
{
  static const char basics[] = "bynqiuxthdsog";
  int choice = g_rand_int_range (rand, 0, depth > 3 ? 10 : 20);

  if (choice < 10)
    return g_strndup (&basics[g_rand_int_range (rand, 0, strlen (basics))], 1);
  if (choice < 12)
    return g_strdup ("v");
  if (choice < 15)
    {
      g_autofree char *element = random_type (rand, depth + 1);
      return g_strconcat ("a", element, NULL);
    }
  if (choice < 16)
    {
      g_autofree char *element = random_type (rand, depth + 1);
      return g_strconcat ("m", element, NULL);
    }
  if (choice < 19)
    {
      GString *tuple = g_string_new ("(");
      int n = g_rand_int_range (rand, 0, 5);

      for (int i = 0; i < n; i++)
        {
          g_autofree char *member = random_type (rand, depth + 1);
          g_string_append (tuple, member);
        }
      g_string_append_c (tuple, ')');
      return g_string_free (tuple, FALSE);
    }

  {
    g_autofree char *value = random_type (rand, depth + 1);
    return g_strdup_printf ("a{%c%s}", basics[g_rand_int_range (rand, 0, strlen (basics))], value);
  }
}

static GVariant *
random_value (GRand              *rand,
              const GVariantType *type,
              int                 depth)
{
  const char *type_string = g_variant_type_peek_string (type);

  switch (type_string[0])
    {
    case 'b': return g_variant_new_boolean (g_rand_boolean (rand));
    case 'y': return g_variant_new_byte (g_rand_int (rand));
    case 'n': return g_variant_new_int16 (g_rand_int (rand));
    case 'q': return g_variant_new_uint16 (g_rand_int (rand));
    case 'i': return g_variant_new_int32 (g_rand_int (rand));
    case 'u': return g_variant_new_uint32 (g_rand_int (rand));
    case 'x': return g_variant_new_int64 ((gint64) (((guint64) g_rand_int (rand) << 32) | g_rand_int (rand)));
    case 't': return g_variant_new_uint64 (g_rand_int (rand));
    case 'h': return g_variant_new_handle (g_rand_int (rand));
    case 'd': return g_variant_new_double (g_rand_double (rand));
    case 's':
      {
        g_autofree char *text = g_strnfill (g_rand_int_range (rand, 0, depth ? 12 : 300), 'a' + g_rand_int_range (rand, 0, 26));
        return g_variant_new_string (text);
      }
    case 'o': return g_variant_new_object_path (g_rand_boolean (rand) ? "/" : "/org/example/x");
    case 'g': return g_variant_new_signature (g_rand_boolean (rand) ? "" : "a{sv}");
    case 'v':
      {
        g_autofree char *inner = depth > 4 ? g_strdup ("i") : random_type (rand, depth + 1);
        return g_variant_new_variant (random_value (rand, G_VARIANT_TYPE (inner), depth + 1));
      }
    case 'm':
      return g_variant_new_maybe (g_variant_type_element (type),
                                  g_rand_boolean (rand) ? random_value (rand, g_variant_type_element (type), depth + 1) : NULL);
    case 'a':
      {
        const GVariantType *element = g_variant_type_element (type);
        /* Now and then a long one, so that offsets take 2 or 4 bytes. */
        int n = g_rand_int_range (rand, 0, 100) < 5 ? g_rand_int_range (rand, 100, 3000) : g_rand_int_range (rand, 0, 5);
        g_autofree GVariant **items = NULL;

        /* Long arrays of small things only, or it never ends. */
        if (depth > 2 || !g_variant_type_is_basic (element))
          n = MIN (n, 4);
        items = g_new (GVariant *, MAX (n, 1));
        for (int i = 0; i < n; i++)
          items[i] = random_value (rand, element, depth + 1);
        return g_variant_new_array (element, items, n);
      }
    case '(': case '{':
      {
        GPtrArray *members = g_ptr_array_new ();
        GVariant *value;

        for (const GVariantType *member = g_variant_type_first (type); member; member = g_variant_type_next (member))
          g_ptr_array_add (members, random_value (rand, member, depth + 1));

        value = type_string[0] == '('
          ? g_variant_new_tuple ((GVariant **) members->pdata, members->len)
          : g_variant_new_dict_entry (members->pdata[0], members->pdata[1]);
        g_ptr_array_unref (members);
        return value;
      }
    default:
      g_assert_not_reached ();
    }
}

/* A copy of @bytes with one random change: a bit flipped, cut short,
 * zeros added, a byte near the end replaced, or (when @type_char_at is
 * not negative) the type character there replaced by another. */
static GBytes *
damaged_copy (GRand  *rand,
              GBytes *bytes,
              gssize  type_char_at)
{
  static const char types[] = "bynqiuxthdsogv";
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  g_autoptr(GByteArray) damaged = g_byte_array_new ();
  int how = g_rand_int_range (rand, 0, type_char_at >= 0 ? 5 : 4);

  if (size > 0)
    g_byte_array_append (damaged, data, size);
  if (how == 0 && size > 0)
    damaged->data[g_rand_int_range (rand, 0, size)] ^= 1 << g_rand_int_range (rand, 0, 8);
  else if (how == 1 && size > 0)
    g_byte_array_set_size (damaged, g_rand_int_range (rand, 0, size));
  else if (how == 2)
    g_byte_array_append (damaged, (const guint8 *) "\0\0\0\0\0\0\0\0", g_rand_int_range (rand, 1, 9));
  else if (how == 3 && size > 0)
    damaged->data[size - 1 - g_rand_int_range (rand, 0, MIN (size, 8))] = g_rand_int (rand);
  else if (how == 4)
    damaged->data[type_char_at] = types[g_rand_int_range (rand, 0, strlen (types))];

  return g_bytes_new (damaged->data, damaged->len);
}

static void
assert_same_verdict (const GVariantType *type,
                     GBytes             *bytes,
                     gboolean            expect_normal)
{
  g_autoptr(GBytes) padded = normal_form_with_slack (bytes);
  g_autoptr(GVariant) ours = g_variant_ref_sink (g_variant_new_from_bytes (type, padded, FALSE));
  gboolean our_verdict, their_verdict;

  if (g_getenv ("P_TEST_DUMP_CASES"))
    {
      gsize size;
      const guint8 *data = g_bytes_get_data (bytes, &size);
      g_printerr ("CASE %s", g_variant_type_peek_string (type));
      for (gsize i = 0; i < size; i++)
        g_printerr (" %02x", data[i]);
      g_printerr ("\n");
    }

  our_verdict = p_variant_is_normal_form_walking (ours);
  their_verdict = normal_form_oracle (type, bytes);

  if (our_verdict != their_verdict)
    {
      g_autofree char *hex = g_strdup ("");
      gsize size;
      const guint8 *data = g_bytes_get_data (bytes, &size);

      for (gsize i = 0; i < MIN (size, 64); i++)
        {
          char *more = g_strdup_printf ("%s%02x", hex, data[i]);
          g_free (hex);
          hex = more;
        }
      g_error ("type %s, %" G_GSIZE_FORMAT " bytes (%s...): ours says %d, GLib says %d",
               g_variant_type_peek_string (type), size, hex, our_verdict, their_verdict);
    }

  if (expect_normal)
    g_assert_true (our_verdict);
}

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

/* A TASK or RESULT body as the frame reader sees it: accepted when GLib's
 * serializer would have written those bytes, refused when GLib does not
 * call them normal (in between, GLib 2.74's few quirks, either), and when
 * accepted, with the value that GLib finds in it. */
static void
assert_envelope_verdict (PMessageKind  kind,
                         GBytes       *body_bytes,
                         gboolean      expect_normal)
{
  const GVariantType *type = p_message_kind_get_body_type (kind);
  gsize size;
  const guint8 *data = g_bytes_get_data (body_bytes, &size);
  g_autofree guint8 *padded = g_malloc0 (size + 8);
  g_autoptr(GBytes) frame = NULL;
  g_autoptr(GBytes) with_slack = normal_form_with_slack (body_bytes);
  g_autoptr(GVariant) as_glib_sees_it = g_variant_ref_sink (g_variant_new_from_bytes (type, with_slack, FALSE));
  g_autoptr(PFrameReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PMessage) message = NULL;
  gboolean canonical = normal_form_oracle (type, body_bytes);
  gboolean glib_normal = g_variant_is_normal_form (as_glib_sees_it);
  gboolean accepted;

  if (size > 0)
    memcpy (padded, data, size);
  frame = raw_frame (size, kind, padded, (size + 7) & ~(gsize) 7);
  reader = p_frame_reader_new (kind == P_MESSAGE_TASK ? P_DIRECTION_TO_WORKER : P_DIRECTION_TO_POOL, MAX_SIZE);
  p_frame_reader_feed (reader, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
  accepted = p_frame_reader_pop (reader, &message, &error);

  if ((accepted && !glib_normal) || (!accepted && canonical))
    {
      g_autofree char *hex = g_strdup ("");

      for (gsize i = 0; i < MIN (size, 64); i++)
        {
          char *more = g_strdup_printf ("%s%02x", hex, data[i]);
          g_free (hex);
          hex = more;
        }
      g_error ("%s of %" G_GSIZE_FORMAT " bytes (%s...): the reader says %d, GLib %d, GLib's serializer %d (%s)",
               g_variant_type_peek_string (type), size, hex, accepted, glib_normal, canonical,
               error ? error->message : "no error");
    }

  if (expect_normal)
    g_assert_true (canonical);

  if (accepted)
    {
      g_autoptr(GVariant) body = p_message_dup_body (message);
      g_autoptr(GVariant) boxed = g_variant_get_child_value (body, g_variant_n_children (body) - 1);
      g_autoptr(GVariant) glib_value = g_variant_get_variant (boxed);
      g_autoptr(GVariant) value = NULL;
      guint64 id;

      g_assert_no_error (error);
      g_assert_cmpuint (message->kind, ==, kind);
      g_variant_get_child (body, 0, "t", &id);
      g_assert_cmpuint (message->id, ==, id);
      if (kind == P_MESSAGE_TASK)
        g_assert_cmpstr (message->name, ==, body_name (body));
      value = p_message_dup_value (message);
      g_assert_cmpstr (g_variant_get_type_string (value), ==, g_variant_get_type_string (glib_value));
      g_assert_true (g_variant_equal (value, glib_value));

      /* Boxed, it is the body's own bytes: nothing is copied. */
      {
        g_autoptr(GVariant) our_boxed = p_message_dup_boxed_value (message);
        g_autoptr(GBytes) message_bytes = p_message_ref_bytes (message);
        gsize message_size;
        const guint8 *message_data = g_bytes_get_data (message_bytes, &message_size);
        const guint8 *boxed_data = g_variant_get_data (our_boxed);

        g_assert_true (g_variant_equal (our_boxed, boxed));
        g_assert_true (boxed_data >= message_data && boxed_data + g_variant_get_size (our_boxed) <= message_data + message_size);
      }
    }
  else
    g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL);
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
      g_assert_true (p_variant_is_normal_form_walking (deep));
      g_assert_true (p_variant_is_normal_form (deep));
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
  g_assert_false (p_variant_is_normal_form_walking (bools));
}

/* }}} */

/* {{{ Polling before sleeping */

/* The spinner's rules, driven through its state: whether a wait was short
 * is set by hand, so that no assertion depends on how fast this runs. */
static void
test_poll_spinning (void)
{
  PSpinner spinner = { 0 };
  int fds[2];
  GPollFD poll_fd;
  guint expected_backoff = 1;
  char byte;

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM, 0, fds));
  poll_fd = (GPollFD) { fds[0], G_IO_IN, 0 };

  /* A first wait, and any wait not allowed to spin, sleeps at once. */
  g_assert_cmpint (p_poll_spinning (&spinner, &poll_fd, 1, 1, TRUE), ==, 0);
  g_assert_cmpuint (spinner.backoff, ==, 0);
  spinner.last_wait_short = TRUE;
  g_assert_cmpint (p_poll_spinning (&spinner, &poll_fd, 1, 1, FALSE), ==, 0);
  g_assert_cmpuint (spinner.backoff, ==, 0);
  g_assert_false (spinner.last_wait_short);

  /* Each spin in vain doubles the chances to spin skipped after it. */
  while (expected_backoff <= 64)
    {
      spinner.last_wait_short = TRUE;
      g_assert_cmpint (p_poll_spinning (&spinner, &poll_fd, 1, 1, TRUE), ==, 0);
      g_assert_cmpuint (spinner.backoff, ==, expected_backoff);
      g_assert_false (spinner.last_wait_short);

      for (guint i = 0; i < expected_backoff; i++)
        {
          spinner.last_wait_short = TRUE;
          g_assert_cmpint (p_poll_spinning (&spinner, &poll_fd, 1, 1, TRUE), ==, 0);
          g_assert_cmpuint (spinner.n_skipped, ==, i + 1);
          g_assert_cmpuint (spinner.backoff, ==, expected_backoff);
        }
      expected_backoff *= 2;
    }

  /* …up to 64. */
  spinner.last_wait_short = TRUE;
  g_assert_cmpint (p_poll_spinning (&spinner, &poll_fd, 1, 1, TRUE), ==, 0);
  g_assert_cmpuint (spinner.backoff, ==, 64);

  /* A spin that finds input ends the back-off. */
  g_assert_cmpint (write (fds[1], "x", 1), ==, 1);
  spinner.last_wait_short = TRUE;
  spinner.n_skipped = spinner.backoff;
  poll_fd.revents = 0;
  g_assert_cmpint (p_poll_spinning (&spinner, &poll_fd, 1, -1, TRUE), ==, 1);
  g_assert_true (poll_fd.revents & G_IO_IN);
  g_assert_cmpuint (spinner.backoff, ==, 0);
  g_assert_true (spinner.last_wait_short);
  g_assert_cmpint (read (fds[0], &byte, 1), ==, 1);

  /* A timeout of 0 never spins. */
  spinner.last_wait_short = TRUE;
  g_assert_cmpint (p_poll_spinning (&spinner, &poll_fd, 1, 0, TRUE), ==, 0);
  g_assert_cmpuint (spinner.backoff, ==, 0);

  close (fds[0]);
  close (fds[1]);
}

/* }}} */

/* A large TASK goes sealed: the queue writes the frame before it alone,
 * the descriptor along the sealed frame's first byte, and the reader
 * gives back the TASK as it was, its value in the file. */
static void
test_sealed_round_trip (void)
{
  gsize size = 300 * 1024;
  guint8 *data = g_malloc (size);
  g_autoptr(GVariant) value = NULL;
  g_autoptr(PFrame) small = NULL;
  g_autoptr(PFrame) large = NULL;
  g_autoptr(PFrame) sealed = NULL;
  g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_WORKER, MAX_SIZE);
  g_autoptr(GError) error = NULL;
  PFrameQueue queue;
  int fds[2];
  guint n_messages = 0;

  for (gsize i = 0; i < size; i++)
    data[i] = i * 7;
  value = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size, TRUE, g_free, data));

  small = p_message_encode_task (1, "f", g_variant_new_int64 (5), MAX_SIZE, &error);
  g_assert_no_error (error);
  large = p_message_encode_task (2, "echo", value, MAX_SIZE, &error);
  g_assert_no_error (error);
  sealed = p_frame_new_sealed (large, &error);
  g_assert_no_error (error);
  g_assert_cmpint (p_frame_get_fd (sealed), >=, 0);
  g_assert_cmpuint (p_frame_get_size (sealed), <, 64);

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  p_frame_queue_init (&queue);
  p_frame_queue_push (&queue, small);
  p_frame_queue_push (&queue, sealed);
  p_frame_queue_push (&queue, small);

  while (!p_frame_queue_is_empty (&queue))
    {
      GOutputVector vectors[8];
      gsize n_vectors = p_frame_queue_peek (&queue, vectors, G_N_ELEMENTS (vectors));
      int fd = p_frame_queue_peek_fd (&queue);
      g_autoptr(GSocketControlMessage) message = NULL;
      g_autoptr(GSocket) socket = g_socket_new_from_fd (dup (fds[0]), &error);
      gssize written;

      g_assert_no_error (error);
      /* The first write stops before the sealed frame, which starts the second. */
      if (n_messages++ == 0)
        g_assert_cmpint (fd, ==, -1);
      if (fd >= 0)
        {
          message = p_fd_message_new (fd, &error);
          g_assert_no_error (error);
        }
      written = g_socket_send_message (socket, NULL, vectors, n_vectors,
                                       message != NULL ? &message : NULL, message != NULL ? 1 : 0,
                                       0, NULL, &error);
      g_assert_no_error (error);
      p_frame_queue_advance (&queue, written);
    }
  g_assert_cmpuint (n_messages, ==, 2);
  p_frame_queue_clear (&queue);

  for (guint64 expected_id = 1; expected_id <= 3;)
    {
      g_autoptr(PMessage) message = NULL;
      gsize space;

      if (p_frame_reader_pop (reader, &message, &error))
        {
          g_assert_cmpint (message->kind, ==, P_MESSAGE_TASK);
          g_assert_cmpuint (message->id, ==, expected_id == 3 ? 1 : expected_id);
          if (expected_id == 2)
            {
              g_autoptr(GVariant) received_value = p_message_dup_value (message);

              g_assert_true (message->sealed);
              g_assert_cmpstr (message->name, ==, "echo");
              g_assert_true (g_variant_equal (received_value, value));
            }
          else
            g_assert_false (message->sealed);
          expected_id++;
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpint (p_frame_reader_receive (reader, fds[1], &space, &error), >, 0);
      g_assert_no_error (error);
    }

  close (fds[0]);
  close (fds[1]);
}

/* A sealed message whose descriptor did not come fails the reader. */
static void
test_sealed_without_fd (void)
{
  g_autoptr(GVariant) body = g_variant_ref_sink (g_variant_new ("(ut)", (guint32) P_MESSAGE_TASK, (guint64) 64));
  g_autoptr(GBytes) frame = p_message_encode (P_MESSAGE_SEALED, body, MAX_SIZE, NULL);
  g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_WORKER, MAX_SIZE);
  g_autoptr(PMessage) message = NULL;
  g_autoptr(GError) error = NULL;

  p_frame_reader_feed (reader, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
  g_assert_false (p_frame_reader_pop (reader, &message, &error));
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/channel/roundtrip-splits", test_roundtrip_splits);
  g_test_add_func ("/channel/bad-frames", test_bad_frames);
  g_test_add_func ("/channel/truncated", test_truncated);
  g_test_add_func ("/channel/fed-before-popped", test_fed_before_popped);
  g_test_add_func ("/channel/encode-limit", test_encode_limit);
  g_test_add_func ("/channel/encode-untrusted", test_encode_untrusted);
  g_test_add_func ("/channel/message-outlived", test_message_outlived);
  g_test_add_func ("/channel/deferred-value", test_deferred_value);
  g_test_add_func ("/channel/env", test_env);
  g_test_add_func ("/channel/reply-area/unsent", test_reply_area_unsent);
  g_test_add_func ("/channel/reply-area/env", test_reply_area_env);
  g_test_add_func ("/channel/frame-queue", test_frame_queue);
  g_test_add_func ("/channel/direct-encoding", test_direct_encoding);
  g_test_add_func ("/channel/direct-encoding-arrays", test_direct_encoding_arrays);
  g_test_add_func ("/channel/encode-numbers", test_encode_numbers);
  g_test_add_func ("/channel/chunk-results", test_chunk_results);
  g_test_add_func ("/channel/chunk-results-gathered", test_chunk_results_gathered);
  g_test_add_func ("/channel/error-domains", test_error_domains);
  g_test_add_func ("/channel/join", test_join);
  g_test_add_func ("/channel/sealed/round-trip", test_sealed_round_trip);
  g_test_add_func ("/channel/sealed/without-fd", test_sealed_without_fd);
  g_test_add_func ("/channel/poll-spinning", test_poll_spinning);
  g_test_add_func ("/normal-form/differential", test_normal_form_differential);
  g_test_add_func ("/normal-form/bulk", test_normal_form_bulk);
  g_test_add_func ("/normal-form/depth-limit", test_normal_form_depth_limit);
  g_test_add_func ("/normal-form/deep-tuples", test_normal_form_deep_tuples);
  g_test_add_func ("/channel/envelope-differential", test_envelope_differential);

  return g_test_run ();
}
