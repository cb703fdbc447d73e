/* test-worker.c: PWorker, and a worker's side of the channel
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "p-reply-area-private.h"
#include "test-support.h"
#include "test-functions.h"

static GVariant *
constant (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  return g_variant_new_int32 (GPOINTER_TO_INT (user_data));
}

static void
count_destroy (gpointer data)
{
  (*(int *) data)++;
}

static void
test_add_function (void)
{
  PWorker *worker = p_worker_new ();
  int destroyed[2] = { 0, 0 };

  p_worker_add_function (worker, "f", constant, &destroyed[0], count_destroy);
  /* Replacing frees the first function's data... */
  p_worker_add_function (worker, "f", constant, &destroyed[1], count_destroy);
  g_assert_cmpint (destroyed[0], ==, 1);
  g_assert_cmpint (destroyed[1], ==, 0);

  /* ...and finalizing the second's. */
  g_object_unref (worker);
  g_assert_cmpint (destroyed[1], ==, 1);
}

/* A worker served in this process, on one end of a socketpair (or of
 * another socket), so that the test sees what p_worker_run() returns. */
typedef struct
{
  PWorker *worker;
  GThread *thread;
  gboolean returned;
  GError *error;
} InProcessWorker;

static void
in_process_worker_set_channel (int fd)
{
  g_autofree char *channel = g_strdup_printf ("%d:%d:%" G_GSIZE_FORMAT, fd, (int) getppid (),
                                              P_DEFAULT_MAX_MESSAGE_SIZE);

  g_setenv (P_CHANNEL_ENV, channel, TRUE);
}

static gpointer
in_process_worker_main (gpointer data)
{
  InProcessWorker *worker = data;

  worker->returned = p_worker_run (worker->worker, &worker->error);
  return NULL;
}

/* Takes @fd; the environment names it until in_process_worker_join(). */
static void
in_process_worker_start (InProcessWorker *worker,
                         int              fd)
{
  in_process_worker_set_channel (fd);
  worker->thread = g_thread_new ("in-process-worker", in_process_worker_main, worker);
}

static void
in_process_worker_join (InProcessWorker *worker)
{
  g_thread_join (g_steal_pointer (&worker->thread));
  g_unsetenv (P_CHANNEL_ENV);
}

/* The next message on @socket, read with @reader, or NULL at its end. */
static GVariant *
receive_message (PFrameReader *reader,
                 GSocket      *socket,
                 PMessageKind *kind)
{
  GVariant *body = NULL;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PMessage) message = NULL;
      guint8 *space;
      gsize size;
      gssize n;

      if (p_frame_reader_pop (reader, &message, &error))
        {
          *kind = message->kind;
          body = message_dup_body (message);
          break;
        }
      g_assert_no_error (error);

      space = p_frame_reader_get_space (reader, &size);
      n = g_socket_receive (socket, (char *) space, size, NULL, &error);
      g_assert_no_error (error);
      if (n == 0)
        break;
      p_frame_reader_commit (reader, n);
    }

  return body;
}

/* FEATURES, which follows HELLO from version 4: a channel of descriptors. */
static void
assert_features (GVariant     *body,
                 PMessageKind  kind)
{
  g_autoptr(GVariant) features = NULL;
  gboolean descriptors = FALSE;

  g_assert_nonnull (body);
  g_assert_cmpint (kind, ==, P_MESSAGE_FEATURES);
  features = g_variant_get_child_value (body, 0);
  g_assert_true (g_variant_lookup (features, P_FEATURE_DESCRIPTORS, "b", &descriptors));
  g_assert_true (descriptors);
  g_variant_unref (body);
}

/* Names the HELLO could not carry (a GVariant string is UTF-8) are
 * refused where they are added, not when the worker starts. */
static void
test_add_function_invalid_name (void)
{
  g_autoptr(PWorker) worker = p_worker_new ();
  g_autoptr(PFrameReader) reader = p_frame_reader_new (P_DIRECTION_TO_POOL, P_DEFAULT_MAX_MESSAGE_SIZE);
  g_autoptr(GSocket) pool_end = NULL;
  g_autoptr(GVariant) hello = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree const char **names = NULL;
  InProcessWorker running = { worker, NULL, FALSE, NULL };
  PMessageKind kind;
  int fds[2];

  g_test_expect_message ("processing-glib", G_LOG_LEVEL_CRITICAL, "*g_utf8_validate*");
  p_worker_add_function (worker, "caf\xe9", constant, NULL, NULL);
  g_test_assert_expected_messages ();

  g_test_expect_message ("processing-glib", G_LOG_LEVEL_CRITICAL, "*name != NULL*");
  p_worker_add_function (worker, "", constant, NULL, NULL);
  g_test_assert_expected_messages ();

  g_test_expect_message ("processing-glib", G_LOG_LEVEL_CRITICAL, "*name != NULL*");
  p_worker_add_function (worker, NULL, constant, NULL, NULL);
  g_test_assert_expected_messages ();

  /* The worker starts, and announces only the valid name. */
  p_worker_add_function (worker, "caf\xc3\xa9", constant, NULL, NULL);
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  pool_end = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  in_process_worker_start (&running, fds[1]);

  hello = receive_message (reader, pool_end, &kind);
  g_assert_nonnull (hello);
  g_assert_cmpint (kind, ==, P_MESSAGE_HELLO);
  {
    GVariant *features = receive_message (reader, pool_end, &kind);

    assert_features (features, kind);
  }
  g_variant_get (hello, "(ux^a&s)", NULL, NULL, &names);
  g_assert_cmpuint (g_strv_length ((char **) names), ==, 1);
  g_assert_cmpstr (names[0], ==, "caf\xc3\xa9");

  /* The end of its input ends it, cleanly. */
  g_socket_shutdown (pool_end, FALSE, TRUE, NULL);
  g_assert_null (receive_message (reader, pool_end, &kind));
  in_process_worker_join (&running);
  g_assert_no_error (running.error);
  g_assert_true (running.returned);
}

/* A channel that fails for another reason than the pool going away: the
 * worker cannot serve, and p_worker_run() says so rather than return as
 * if the pool had closed the channel. An unconnected UDP socket makes
 * the HELLO fail (EDESTADDRREQ). */
static void
test_run_send_error (void)
{
  g_autoptr(PWorker) worker = p_worker_new ();
  g_autoptr(GError) error = NULL;
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    {
      g_test_skip ("no UDP socket here");
      return;
    }

  p_worker_add_function (worker, "f", constant, NULL, NULL);
  in_process_worker_set_channel (fd);
  g_assert_false (p_worker_run (worker, &error));
  g_unsetenv (P_CHANNEL_ENV);

  g_test_message ("p_worker_run: %s", error ? error->message : "(no error)");
  g_assert_nonnull (error);
  g_assert_true (error->domain == G_IO_ERROR);
  g_assert_cmpint (error->code, !=, G_IO_ERROR_BROKEN_PIPE);
  g_assert_cmpint (error->code, !=, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_cmpint (error->code, !=, G_IO_ERROR_NOT_CONNECTED);
}

/* The pool going away is an end like any other, even for the HELLO. */
static void
test_run_pool_gone (void)
{
  g_autoptr(PWorker) worker = p_worker_new ();
  g_autoptr(GError) error = NULL;
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  close (fds[0]);

  p_worker_add_function (worker, "f", constant, NULL, NULL);
  in_process_worker_set_channel (fds[1]);
  g_assert_true (p_worker_run (worker, &error));
  g_unsetenv (P_CHANNEL_ENV);
  g_assert_no_error (error);
}

static void
test_not_requested (void)
{
  g_autoptr(PWorker) worker = p_worker_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *wrong_parent = g_strdup_printf ("3:%d:%" G_GSIZE_FORMAT, (int) getpid (), P_DEFAULT_MAX_MESSAGE_SIZE);

  g_assert_false (p_worker_is_requested ());
  g_assert_false (p_worker_run (worker, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);

  /* A channel meant for another process's child is not ours. */
  g_setenv (P_CHANNEL_ENV, wrong_parent, TRUE);
  g_assert_false (p_worker_is_requested ());
  g_unsetenv (P_CHANNEL_ENV);
}

/* A worker started by hand, so that the test can speak for the pool. */
typedef struct
{
  GSubprocess *subprocess;
  GSocket *socket;
  PFrameReader *reader;
  guint64 bytes_received;
  PReplyArea *reply_area;  /* or NULL */
} HandWorker;

static void
hand_worker_start_full (HandWorker       *worker,
                        GSubprocessFlags  flags,
                        gboolean          with_reply_area)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);
  g_autoptr(GError) error = NULL;
  g_autofree char *channel = NULL;
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  channel = g_strdup_printf ("3:%d:%" G_GSIZE_FORMAT, (int) getpid (), P_DEFAULT_MAX_MESSAGE_SIZE);
  g_subprocess_launcher_take_fd (launcher, fds[1], 3);
  g_subprocess_launcher_setenv (launcher, P_CHANNEL_ENV, channel, TRUE);
  if (with_reply_area)
    {
      g_autofree char *area = NULL;
      int area_fd = -1;

      worker->reply_area = p_reply_area_new (P_REPLY_AREA_CAPACITY, &area_fd, &error);
      g_assert_no_error (error);
      area = g_strdup_printf ("%d:%" G_GSIZE_FORMAT, P_REPLY_AREA_FD, P_REPLY_AREA_CAPACITY);
      g_subprocess_launcher_take_fd (launcher, area_fd, P_REPLY_AREA_FD);
      g_subprocess_launcher_setenv (launcher, P_REPLY_AREA_ENV, area, TRUE);
    }

  worker->subprocess = g_subprocess_launcher_spawn (launcher, &error, self, NULL);
  g_assert_no_error (error);
  worker->socket = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  worker->reader = p_frame_reader_new (P_DIRECTION_TO_POOL, P_DEFAULT_MAX_MESSAGE_SIZE);
}

static void
hand_worker_start (HandWorker       *worker,
                   GSubprocessFlags  flags)
{
  hand_worker_start_full (worker, flags, FALSE);
}

static GVariant *hand_worker_receive (HandWorker *worker, PMessageKind *kind);

/* HELLO, and the FEATURES that follow it. */
static GVariant *
hand_worker_receive_hello (HandWorker   *worker,
                           PMessageKind *kind)
{
  GVariant *hello = hand_worker_receive (worker, kind);
  PMessageKind features_kind;
  GVariant *features;

  g_assert_cmpint (*kind, ==, P_MESSAGE_HELLO);
  features = hand_worker_receive (worker, &features_kind);
  assert_features (features, features_kind);

  return hello;
}

static GVariant *
hand_worker_receive (HandWorker   *worker,
                     PMessageKind *kind)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PMessage) message = NULL;
      gsize space;
      guint8 *buffer;
      gssize n;

      if (p_frame_reader_pop (worker->reader, &message, &error))
        {
          *kind = message->kind;
          return message_dup_body (message);
        }
      g_assert_no_error (error);

      buffer = p_frame_reader_get_space (worker->reader, &space);
      n = g_socket_receive (worker->socket, (char *) buffer, space, NULL, &error);
      g_assert_no_error (error);
      if (n == 0)
        return NULL;
      worker->bytes_received += n;
      p_frame_reader_commit (worker->reader, n);
    }
}

static void
hand_worker_send (HandWorker   *worker,
                  const void   *data,
                  gsize         size)
{
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_socket_send (worker->socket, data, size, NULL, &error), ==, size);
  g_assert_no_error (error);
}

static void
hand_worker_send_message (HandWorker   *worker,
                          PMessageKind  kind,
                          GVariant     *body)
{
  g_autoptr(GBytes) frame = p_message_encode (kind, body, P_DEFAULT_MAX_MESSAGE_SIZE, NULL);

  hand_worker_send (worker, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
}

static void
hand_worker_clear (HandWorker *worker)
{
  g_clear_object (&worker->subprocess);
  g_clear_object (&worker->socket);
  g_clear_pointer (&worker->reader, p_frame_reader_free);
  p_reply_area_unmap (g_steal_pointer (&worker->reply_area), P_REPLY_AREA_CAPACITY);
}

static void
assert_variant_equal (GVariant *value,
                      GVariant *expected)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (expected);

  g_assert_true (g_variant_equal (value, owned));
}

/* The worker's next message is @kind, with the body @expected. */
static void
assert_next_reply (HandWorker   *worker,
                   PMessageKind  kind,
                   GVariant     *expected)
{
  g_autoptr(GVariant) reply = NULL;
  PMessageKind received;

  reply = hand_worker_receive (worker, &received);
  g_assert_cmpint (received, ==, kind);
  assert_variant_equal (reply, expected);
}

static void
test_session (void)
{
  HandWorker worker = { NULL, };
  g_autoptr(GVariant) hello = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree const char **names = NULL;
  PMessageKind kind;
  guint32 version;
  gint64 pid;

  hand_worker_start (&worker, G_SUBPROCESS_FLAGS_NONE);

  /* It announces itself first. */
  hello = hand_worker_receive_hello (&worker, &kind);
  g_assert_cmpint (kind, ==, P_MESSAGE_HELLO);
  g_variant_get (hello, "(ux^a&s)", &version, &pid, &names);
  g_assert_cmpuint (version, ==, P_PROTOCOL_VERSION);
  g_assert_cmpint (pid, ==, g_ascii_strtoll (g_subprocess_get_identifier (worker.subprocess), NULL, 10));
  g_assert_true (g_strv_contains (names, "square"));
  /* Sorted. */
  for (guint i = 1; names[i] != NULL; i++)
    g_assert_cmpint (strcmp (names[i - 1], names[i]), <, 0);

  /* Two tasks sent at once come back in order. */
  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 7, "square", g_variant_new_int64 (3)));
  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 8, "nope", g_variant_new_int64 (3)));

  assert_next_reply (&worker, P_MESSAGE_RESULT, g_variant_new ("(tv)", (guint64) 7, g_variant_new_int64 (9)));
  assert_next_reply (&worker, P_MESSAGE_ERROR, g_variant_new ("(tsis)", (guint64) 8, "p-pool-error-quark",
                                                              P_POOL_ERROR_UNKNOWN_FUNCTION,
                                                              "No worker serves a function named “nope”"));

  /* A task cancelled while queued behind another does not run; a cancel
   * for what is not there is let be. */
  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 9, "sleep_deaf", g_variant_new_int64 (200)));
  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 10, "square", g_variant_new_int64 (4)));
  hand_worker_send_message (&worker, P_MESSAGE_CANCEL, g_variant_new ("(t)", (guint64) 10));
  hand_worker_send_message (&worker, P_MESSAGE_CANCEL, g_variant_new ("(t)", (guint64) 99));
  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 11, "square", g_variant_new_int64 (5)));

  assert_next_reply (&worker, P_MESSAGE_RESULT, g_variant_new ("(tv)", (guint64) 9, g_variant_new_int64 (200)));
  assert_next_reply (&worker, P_MESSAGE_ERROR, g_variant_new ("(tsis)", (guint64) 10, "g-io-error-quark",
                                                              G_IO_ERROR_CANCELLED, "Operation was cancelled"));
  assert_next_reply (&worker, P_MESSAGE_RESULT, g_variant_new ("(tv)", (guint64) 11, g_variant_new_int64 (25)));

  /* A task recalled before it started is given back at once, while the
   * one before it runs, and never runs; a recall of one that is done, or
   * unknown, is let be. */
  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 12, "sleep_deaf", g_variant_new_int64 (300)));
  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 13, "square", g_variant_new_int64 (6)));
  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 14, "square", g_variant_new_int64 (7)));
  hand_worker_send_message (&worker, P_MESSAGE_RECALL, g_variant_new ("(t)", (guint64) 13));
  hand_worker_send_message (&worker, P_MESSAGE_RECALL, g_variant_new ("(t)", (guint64) 99));

  assert_next_reply (&worker, P_MESSAGE_RECALLED, g_variant_new ("(t)", (guint64) 13));
  assert_next_reply (&worker, P_MESSAGE_RESULT, g_variant_new ("(tv)", (guint64) 12, g_variant_new_int64 (300)));
  assert_next_reply (&worker, P_MESSAGE_RESULT, g_variant_new ("(tv)", (guint64) 14, g_variant_new_int64 (49)));

  /* A cancelled task that is then recalled: RECALLED is its only reply. */
  hand_worker_send_message (&worker, P_MESSAGE_RECALL, g_variant_new ("(t)", (guint64) 14));
  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 15, "sleep_deaf", g_variant_new_int64 (200)));
  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 16, "square", g_variant_new_int64 (8)));
  hand_worker_send_message (&worker, P_MESSAGE_CANCEL, g_variant_new ("(t)", (guint64) 16));
  hand_worker_send_message (&worker, P_MESSAGE_RECALL, g_variant_new ("(t)", (guint64) 16));
  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 17, "square", g_variant_new_int64 (9)));

  assert_next_reply (&worker, P_MESSAGE_RECALLED, g_variant_new ("(t)", (guint64) 16));
  assert_next_reply (&worker, P_MESSAGE_RESULT, g_variant_new ("(tv)", (guint64) 15, g_variant_new_int64 (200)));
  assert_next_reply (&worker, P_MESSAGE_RESULT, g_variant_new ("(tv)", (guint64) 17, g_variant_new_int64 (81)));

  /* Tasks sent one at a time, each after the last reply, as a loop of
   * p_pool_apply() sends them: the worker's reader then leaves the channel
   * to the idle task thread, and must still take a RECALL for a task
   * queued behind a running one, and a CANCEL for the running one (which
   * otherwise waits for a minute and fails as "never cancelled"). */
  for (guint64 id = 20; id < 30; id++)
    {
      hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", id, "square", g_variant_new_int64 (id)));
      assert_next_reply (&worker, P_MESSAGE_RESULT, g_variant_new ("(tv)", id, g_variant_new_int64 (id * id)));
    }
  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 30, "wait_for_cancel", g_variant_new_int64 (60000)));
  g_usleep (50000); /* so that it runs; if not, the replies are the same */
  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 31, "square", g_variant_new_int64 (2)));
  hand_worker_send_message (&worker, P_MESSAGE_RECALL, g_variant_new ("(t)", (guint64) 31));
  assert_next_reply (&worker, P_MESSAGE_RECALLED, g_variant_new ("(t)", (guint64) 31));
  hand_worker_send_message (&worker, P_MESSAGE_CANCEL, g_variant_new ("(t)", (guint64) 30));
  assert_next_reply (&worker, P_MESSAGE_ERROR, g_variant_new ("(tsis)", (guint64) 30, "g-io-error-quark",
                                                              G_IO_ERROR_CANCELLED, "Operation was cancelled"));

  /* The end of its input ends it, cleanly. */
  g_socket_shutdown (worker.socket, FALSE, TRUE, NULL);
  g_assert_null (hand_worker_receive (&worker, &kind));
  g_subprocess_wait (worker.subprocess, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (worker.subprocess));
  g_assert_cmpint (g_subprocess_get_exit_status (worker.subprocess), ==, 0);

  hand_worker_clear (&worker);
}

/* A task's cancellable is its own: a handler an earlier task left
 * connected to its cancellable does not fire when a later one is
 * cancelled (the worker reuses a cancellable only when nothing is left
 * on it). */
static void
test_cancellable_not_shared (void)
{
  HandWorker worker = { NULL, };
  g_autoptr(GVariant) hello = NULL;
  g_autoptr(GError) error = NULL;
  PMessageKind kind;

  hand_worker_start (&worker, G_SUBPROCESS_FLAGS_NONE);
  hello = hand_worker_receive_hello (&worker, &kind);
  g_assert_cmpint (kind, ==, P_MESSAGE_HELLO);

  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 1, "leave_cancel_handler", g_variant_new_int64 (0)));
  assert_next_reply (&worker, P_MESSAGE_RESULT, g_variant_new ("(tv)", (guint64) 1, g_variant_new_boolean (TRUE)));

  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 2, "wait_for_cancel", g_variant_new_int64 (60000)));
  g_usleep (20000); /* so that it runs; if not, it is cancelled all the same */
  hand_worker_send_message (&worker, P_MESSAGE_CANCEL, g_variant_new ("(t)", (guint64) 2));
  assert_next_reply (&worker, P_MESSAGE_ERROR, g_variant_new ("(tsis)", (guint64) 2, "g-io-error-quark",
                                                              G_IO_ERROR_CANCELLED, "Operation was cancelled"));

  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 3, "stale_handler_fired", g_variant_new_int64 (0)));
  assert_next_reply (&worker, P_MESSAGE_RESULT, g_variant_new ("(tv)", (guint64) 3, g_variant_new_boolean (FALSE)));

  /* A cancellable that a function kept is not the next task's either. */
  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 4, "keep_cancellable", g_variant_new_int64 (0)));
  assert_next_reply (&worker, P_MESSAGE_RESULT, g_variant_new ("(tv)", (guint64) 4, g_variant_new_boolean (TRUE)));
  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 5, "wait_for_cancel", g_variant_new_int64 (60000)));
  g_usleep (20000);
  hand_worker_send_message (&worker, P_MESSAGE_CANCEL, g_variant_new ("(t)", (guint64) 5));
  assert_next_reply (&worker, P_MESSAGE_ERROR, g_variant_new ("(tsis)", (guint64) 5, "g-io-error-quark",
                                                              G_IO_ERROR_CANCELLED, "Operation was cancelled"));
  hand_worker_send_message (&worker, P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 6, "kept_cancellable_cancelled", g_variant_new_int64 (0)));
  assert_next_reply (&worker, P_MESSAGE_RESULT, g_variant_new ("(tv)", (guint64) 6, g_variant_new_boolean (FALSE)));

  g_socket_shutdown (worker.socket, FALSE, TRUE, NULL);
  g_assert_null (hand_worker_receive (&worker, &kind));
  g_subprocess_wait (worker.subprocess, NULL, &error);
  g_assert_no_error (error);
  hand_worker_clear (&worker);
}

static void
test_garbage (void)
{
  const char *garbage[] = {
    "this is not a frame at all",
    /* A length over the limit. */
    "\xff\xff\xff\xff\x01\x00\x00\x00",
    /* A CANCEL whose body is too short. */
    "\x04\x00\x00\x00\x03\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00",
    /* A worker's own message kind. */
    "\x08\x00\x00\x00\x11\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
  };
  gsize sizes[] = { 26, 8, 16, 16 };

  for (gsize i = 0; i < G_N_ELEMENTS (garbage); i++)
    {
      HandWorker worker = { NULL, };
      g_autoptr(GVariant) hello = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *err = NULL;
      PMessageKind kind;

      hand_worker_start (&worker, G_SUBPROCESS_FLAGS_STDERR_PIPE);
      hello = hand_worker_receive_hello (&worker, &kind);
      g_assert_cmpint (kind, ==, P_MESSAGE_HELLO);

      hand_worker_send (&worker, garbage[i], sizes[i]);

      /* It exits, non-zero, saying why on stderr. */
      g_subprocess_communicate_utf8 (worker.subprocess, NULL, NULL, NULL, &err, &error);
      g_assert_no_error (error);
      g_assert_true (g_subprocess_get_if_exited (worker.subprocess));
      g_assert_cmpint (g_subprocess_get_exit_status (worker.subprocess), !=, 0);
      g_test_message ("worker said: %s", err);
      g_assert_true (strstr (err, "kind") || strstr (err, "limit") || strstr (err, "normal form"));

      hand_worker_clear (&worker);
    }
}

static void
test_truncated_input (void)
{
  HandWorker worker = { NULL, };
  g_autoptr(GVariant) hello = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GBytes) frame = p_message_encode (P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) 1, "square", g_variant_new_int64 (3)),
                                              P_DEFAULT_MAX_MESSAGE_SIZE, NULL);
  PMessageKind kind;

  hand_worker_start (&worker, G_SUBPROCESS_FLAGS_STDERR_PIPE);
  hello = hand_worker_receive_hello (&worker, &kind);

  /* Half a message, then the end. */
  hand_worker_send (&worker, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame) / 2);
  g_socket_shutdown (worker.socket, FALSE, TRUE, NULL);

  g_subprocess_communicate_utf8 (worker.subprocess, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (worker.subprocess), !=, 0);
  g_assert_nonnull (strstr (err, "middle of a message"));

  hand_worker_clear (&worker);
}

/* Replies held back while tasks wait are in the reply area when the next
 * task kills the worker: the channel and the area together give every
 * reply made, once each, in order. */
static void
test_reply_area (void)
{
  for (guint round = 0; round < 5; round++)
    {
      HandWorker worker = { NULL, };
      g_autoptr(GByteArray) tasks = g_byte_array_new ();
      g_autoptr(GVariant) hello = NULL;
      g_autoptr(GError) error = NULL;
      const guint8 *unsent;
      PMessageKind kind;
      gsize n_unsent;
      guint n_replies = 0;
      guint n_tasks = 10 + round * 35;

      hand_worker_start_full (&worker, G_SUBPROCESS_FLAGS_NONE, TRUE);
      hello = hand_worker_receive_hello (&worker, &kind);
      g_assert_cmpint (kind, ==, P_MESSAGE_HELLO);

      /* In one write, so that they wait behind each other. */
      for (guint i = 0; i <= n_tasks; i++)
        {
          g_autoptr(GBytes) frame = NULL;

          if (i < n_tasks)
            frame = p_message_encode (P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) i + 1, "square", g_variant_new_int64 (i)),
                                      P_DEFAULT_MAX_MESSAGE_SIZE, NULL);
          else
            frame = p_message_encode (P_MESSAGE_TASK, g_variant_new ("(tsv)", (guint64) i + 1, "die", g_variant_new_int32 (SIGKILL)),
                                      P_DEFAULT_MAX_MESSAGE_SIZE, NULL);
          g_byte_array_append (tasks, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
        }
      hand_worker_send (&worker, tasks->data, tasks->len);

      g_subprocess_wait (worker.subprocess, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (g_subprocess_get_if_signaled (worker.subprocess));

      /* What reached the channel, then what the area adds to it. */
      for (;;)
        {
          g_autoptr(GVariant) reply = hand_worker_receive (&worker, &kind);

          if (reply == NULL)
            break;
          g_assert_cmpint (kind, ==, P_MESSAGE_RESULT);
          assert_variant_equal (reply, g_variant_new ("(tv)", (guint64) n_replies + 1,
                                                      g_variant_new_int64 ((gint64) n_replies * n_replies)));
          n_replies++;
        }
      g_test_message ("round %u: %u of %u replies on the channel", round, n_replies, n_tasks);

      unsent = p_reply_area_get_unsent (worker.reply_area, P_REPLY_AREA_CAPACITY, worker.bytes_received, &n_unsent);
      if (unsent != NULL)
        p_frame_reader_feed (worker.reader, unsent, n_unsent);
      for (;;)
        {
          g_autoptr(PMessage) message = NULL;
          g_autoptr(GVariant) reply = NULL;

          if (!p_frame_reader_pop (worker.reader, &message, &error))
            break;
          g_assert_cmpint (message->kind, ==, P_MESSAGE_RESULT);
          reply = message_dup_body (message);
          assert_variant_equal (reply, g_variant_new ("(tv)", (guint64) n_replies + 1,
                                                      g_variant_new_int64 ((gint64) n_replies * n_replies)));
          n_replies++;
        }
      g_assert_no_error (error);
      g_assert_true (p_frame_reader_is_idle (worker.reader));
      g_assert_cmpuint (n_replies, ==, n_tasks);

      hand_worker_clear (&worker);
    }
}

int
main (int   argc,
      char *argv[])
{
  test_functions_serve_if_requested ();

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/worker/add-function", test_add_function);
  g_test_add_func ("/worker/add-function/invalid-name", test_add_function_invalid_name);
  g_test_add_func ("/worker/not-requested", test_not_requested);
  g_test_add_func ("/worker/run/send-error", test_run_send_error);
  g_test_add_func ("/worker/run/pool-gone", test_run_pool_gone);
  g_test_add_func ("/worker/session", test_session);
  g_test_add_func ("/worker/cancellable-not-shared", test_cancellable_not_shared);
  g_test_add_func ("/worker/garbage", test_garbage);
  g_test_add_func ("/worker/truncated-input", test_truncated_input);
  g_test_add_func ("/worker/reply-area", test_reply_area);

  return g_test_run ();
}
