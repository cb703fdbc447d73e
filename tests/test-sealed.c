/* test-sealed.c: large values in sealed memfds
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
#include "p-message-writer-private.h"
#include "p-sealed-private.h"

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
  g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_WORKER, TEST_MAX_MESSAGE_SIZE);
  g_autoptr(GError) error = NULL;
  PFrameQueue queue;
  int fds[2];
  guint n_messages = 0;

  for (gsize i = 0; i < size; i++)
    data[i] = i * 7;
  value = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size, TRUE, g_free, data));

  small = p_message_encode_task (1, "f", g_variant_new_int64 (5), TEST_MAX_MESSAGE_SIZE, &error);
  g_assert_no_error (error);
  large = p_message_encode_task (2, "echo", value, TEST_MAX_MESSAGE_SIZE, &error);
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

/* A large frame that must go in the stream is not sealed. */
static void
test_sealed_stream_only (void)
{
  gsize size = 300 * 1024;
  g_autoptr(GBytes) bytes = g_bytes_new_take (g_malloc0 (size), size);
  g_autoptr(PFrame) frame = NULL;
  g_autoptr(PFrame) sealed = NULL;
  g_autoptr(PFrame) kept = NULL;
  g_autoptr(GError) error = NULL;

  frame = p_message_encode_task_bytes (7, "echo", bytes, TEST_MAX_MESSAGE_SIZE, &error);
  g_assert_no_error (error);
  sealed = p_frame_seal_if_large (frame);
  g_assert_cmpint (p_frame_get_fd (sealed), >=, 0);

  frame->stream_only = TRUE;
  kept = p_frame_seal_if_large (frame);
  g_assert_true (kept == frame);
  g_assert_cmpint (p_frame_get_fd (kept), ==, -1);
}

/* A sealed message whose descriptor did not come fails the reader. */
static void
test_sealed_without_fd (void)
{
  g_autoptr(GVariant) body = g_variant_ref_sink (g_variant_new ("(ut)", (guint32) P_MESSAGE_TASK, (guint64) 64));
  g_autoptr(GBytes) frame = p_message_encode (P_MESSAGE_SEALED, body, TEST_MAX_MESSAGE_SIZE, NULL);
  g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_WORKER, TEST_MAX_MESSAGE_SIZE);
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

  g_test_add_func ("/sealed/round-trip", test_sealed_round_trip);
  g_test_add_func ("/sealed/stream-only", test_sealed_stream_only);
  g_test_add_func ("/sealed/without-fd", test_sealed_without_fd);

  return g_test_run ();
}
