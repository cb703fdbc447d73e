/* test-frame.c: frames read and written: the reader, the queue
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test-support.h"
#include "normal-form-oracle.h"
#include "p-error.h"

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
      g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_WORKER, TEST_MAX_MESSAGE_SIZE);
      gsize received = 0;

      for (gsize offset = 0; offset < stream->len; offset += steps[s])
        {
          g_autoptr(GError) error = NULL;
          PMessage *message;

          p_frame_reader_feed (reader, stream->data + offset, MIN (steps[s], stream->len - offset));
          while (p_frame_reader_pop (reader, &message, &error))
            {
              g_autoptr(GVariant) body = message_dup_body (message);
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
assert_stream_fails (PDirection  direction,
                     gsize       max_size,
                     GBytes     *stream,
                     const char *message_part)
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
  g_autoptr(GBytes) recall = encode (P_MESSAGE_RECALL, message_new_id (1));
  g_autoptr(GBytes) recalled = encode (P_MESSAGE_RECALLED, message_new_id (1));
  g_autoptr(GBytes) oversized = raw_frame (G_MAXUINT32, P_MESSAGE_RESULT, NULL, 0);
  g_autoptr(GBytes) short_cancel = raw_frame (4, P_MESSAGE_CANCEL, (const guint8 *) "\1\0\0\0\0\0\0\0", 8);
  g_autoptr(GBytes) bad_padding = raw_frame (4, P_MESSAGE_CANCEL, (const guint8 *) "\1\0\0\0\1\0\0\0", 8);
  /* "(tv)" whose variant has no type string. */
  g_autoptr(GBytes) not_normal = raw_frame (16, P_MESSAGE_RESULT,
                                            (const guint8 *) "\1\0\0\0\0\0\0\0\7\0\0\0\0\0\0\0", 16);
  g_autoptr(GBytes) big_not_normal = NULL;

  /* A message for the other direction. */
  assert_stream_fails (P_DIRECTION_TO_POOL, TEST_MAX_MESSAGE_SIZE, task, "kind 1");
  assert_stream_fails (P_DIRECTION_TO_POOL, TEST_MAX_MESSAGE_SIZE, recall, "kind 4");
  assert_stream_fails (P_DIRECTION_TO_WORKER, TEST_MAX_MESSAGE_SIZE, recalled, "kind 20");
  assert_stream_fails (P_DIRECTION_TO_WORKER, TEST_MAX_MESSAGE_SIZE, unknown, "kind 99");
  /* Refused from its header: nothing that size is allocated. */
  assert_stream_fails (P_DIRECTION_TO_POOL, TEST_MAX_MESSAGE_SIZE, oversized, "limit");
  assert_stream_fails (P_DIRECTION_TO_WORKER, TEST_MAX_MESSAGE_SIZE, short_cancel, "normal form");
  assert_stream_fails (P_DIRECTION_TO_WORKER, TEST_MAX_MESSAGE_SIZE, bad_padding, "padding");
  assert_stream_fails (P_DIRECTION_TO_POOL, TEST_MAX_MESSAGE_SIZE, not_normal, "normal form");

  /* A large body goes through the direct path; its check is the same. */
  {
    gsize size = 100000;
    g_autofree guint8 *body = g_malloc0 (size);
    guint64 id = 1;

    memcpy (body, &id, sizeof id);
    big_not_normal = raw_frame (size, P_MESSAGE_RESULT, body, size);
    assert_stream_fails (P_DIRECTION_TO_POOL, TEST_MAX_MESSAGE_SIZE, big_not_normal, "normal form");
  }
}

static void
test_truncated (void)
{
  g_autoptr(GBytes) task = encode (P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 1, "f", g_variant_new_int32 (1)));
  g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_WORKER, TEST_MAX_MESSAGE_SIZE);
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
  g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_WORKER, TEST_MAX_MESSAGE_SIZE);
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  PMessage *message;
  guint64 expected_id = 1;

  for (guint64 id = 1; id <= 64; id++)
    {
      g_autoptr(GBytes) frame = encode (P_MESSAGE_CANCEL, message_new_id (id));

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
              frame = frame_new_from_segments ((GBytes **) segments->pdata, segments->len);
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

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/frame/roundtrip-splits", test_roundtrip_splits);
  g_test_add_func ("/frame/bad-frames", test_bad_frames);
  g_test_add_func ("/frame/truncated", test_truncated);
  g_test_add_func ("/frame/fed-before-popped", test_fed_before_popped);
  g_test_add_func ("/frame/queue", test_frame_queue);

  return g_test_run ();
}
