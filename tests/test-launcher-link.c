/* test-launcher-link.c: the remote link without a remote host: a worker
 * on its standard input and output (pipes, a terminal), the link's end,
 * and pools through stand-ins for ssh and srun
 *
 * The launcher suites (test-launcher-ssh, test-launcher-srun) run the
 * same through the real engines; this one runs everywhere, under
 * valgrind and the sanitizers too.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* pipe2() */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "test-support.h"
#include "test-functions.h"

#define MAX_MESSAGE_SIZE ((gsize) 16 * 1024 * 1024)

/* {{{ A worker on pipes, spoken to by hand */

typedef struct
{
  GPid pid;
  int input;               /* its standard input: our end */
  int output;              /* its standard output (the link) */
  int errors;              /* its standard error */
  PFrameReader *reader;
  GString *said;           /* what it wrote on its standard error */
} LinkedWorker;

static void
child_setup (gpointer user_data)
{
  /* Its own group, as under sshd: ending it must not end the test. */
  setpgid (0, 0);
}

/* The test program as a remote worker, with @output as its standard
 * output (a pipe when -1). The environment also offers what a local
 * worker gets, which a remote one must not use. */
static void
linked_worker_start (LinkedWorker *worker,
                     int           output)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *channel = g_strdup_printf ("stdio:%" G_GSIZE_FORMAT, MAX_MESSAGE_SIZE);
  g_auto(GStrv) env = g_get_environ ();
  const char *argv[] = { exe, NULL };
  int in_pipe[2], out_pipe[2] = { -1, -1 }, err_pipe[2];
  g_autoptr(GError) error = NULL;

  env = g_environ_setenv (env, "PROCESSING_GLIB_CHANNEL", channel, TRUE);
  env = g_environ_setenv (env, "PROCESSING_GLIB_SEALED", "1", TRUE);
  env = g_environ_setenv (env, "PROCESSING_GLIB_REPLY_AREA", "4:65536", TRUE);

  g_assert_no_errno (pipe2 (in_pipe, O_CLOEXEC));
  g_assert_no_errno (pipe2 (err_pipe, O_CLOEXEC));
  if (output < 0)
    g_assert_no_errno (pipe2 (out_pipe, O_CLOEXEC));

  g_assert_true (g_spawn_async_with_pipes_and_fds (NULL, argv, (const char * const *) env,
                                                   G_SPAWN_DO_NOT_REAP_CHILD, child_setup, NULL,
                                                   in_pipe[0], output >= 0 ? output : out_pipe[1], err_pipe[1],
                                                   NULL, NULL, 0,
                                                   &worker->pid, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  close (in_pipe[0]);
  close (err_pipe[1]);
  if (out_pipe[1] >= 0)
    close (out_pipe[1]);

  worker->input = in_pipe[1];
  worker->output = output >= 0 ? -1 : out_pipe[0];
  worker->errors = err_pipe[0];
  worker->reader = p_frame_reader_new (P_DIRECTION_TO_POOL, MAX_MESSAGE_SIZE);
  worker->said = g_string_new (NULL);
  g_unix_set_fd_nonblocking (worker->errors, TRUE, NULL);
}

static void
linked_worker_read_errors (LinkedWorker *worker)
{
  char buffer[4096];
  gssize n;

  while ((n = read (worker->errors, buffer, sizeof buffer)) > 0)
    g_string_append_len (worker->said, buffer, n);
}

/* The next message it sends, or NULL at the end of its output. */
static PMessage *
linked_worker_receive (LinkedWorker *worker)
{
  g_autoptr(GError) error = NULL;
  PMessage *message = NULL;

  while (!p_frame_reader_pop (worker->reader, &message, &error))
    {
      gsize space;
      guint8 *buffer;
      gssize n;

      g_assert_no_error (error);
      buffer = p_frame_reader_get_space (worker->reader, &space);
      n = read (worker->output, buffer, space);
      if (n < 0 && errno == EINTR)
        continue;
      /* A terminal whose other side is gone says EIO. */
      if (n <= 0)
        {
          g_assert_true (p_frame_reader_is_idle (worker->reader));
          return NULL;
        }
      p_frame_reader_commit (worker->reader, n);
    }

  return message;
}

static void
linked_worker_send (LinkedWorker *worker,
                    guint64       id,
                    const char   *function,
                    GVariant     *args)
{
  g_autoptr(GBytes) frame = encode (P_MESSAGE_TASK, message_new_task (id, function, args));
  gsize size;
  const guint8 *data = g_bytes_get_data (frame, &size);

  while (size > 0)
    {
      gssize n = write (worker->input, data, size);

      g_assert_cmpint (n, >, 0);
      data += n;
      size -= n;
    }
}

/* A task's result, checked to be the reply to @id. */
static GVariant *
linked_worker_call (LinkedWorker *worker,
                    guint64       id,
                    const char   *function,
                    GVariant     *args)
{
  PMessage *message;
  GVariant *value;

  linked_worker_send (worker, id, function, args);
  message = linked_worker_receive (worker);
  g_assert_nonnull (message);
  g_assert_cmpint (message->kind, ==, P_MESSAGE_RESULT);
  g_assert_cmpuint (message->id, ==, id);
  value = p_message_dup_value (message);
  p_message_free (message);

  return value;
}

/* HELLO, then FEATURES: neither descriptors nor shared memory. */
static void
linked_worker_check_greeting (LinkedWorker *worker)
{
  PMessage *hello = linked_worker_receive (worker);
  PMessage *features = linked_worker_receive (worker);
  g_autoptr(GVariant) dictionary = NULL;
  gboolean value = TRUE;

  g_assert_nonnull (hello);
  g_assert_cmpint (hello->kind, ==, P_MESSAGE_HELLO);
  g_assert_nonnull (features);
  g_assert_cmpint (features->kind, ==, P_MESSAGE_FEATURES);

  dictionary = g_variant_get_child_value (features->body, 0);
  g_assert_true (g_variant_lookup (dictionary, P_FEATURE_DESCRIPTORS, "b", &value));
  g_assert_false (value);
  g_assert_true (g_variant_lookup (dictionary, P_FEATURE_SHARED_MEMORY, "b", &value));
  g_assert_false (value);

  p_message_free (hello);
  p_message_free (features);
}

static int
linked_worker_wait (LinkedWorker *worker,
                    gint64        timeout_usec)
{
  gint64 deadline = g_get_monotonic_time () + timeout_usec;
  int status = 0;

  while (waitpid (worker->pid, &status, WNOHANG) == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (5000);
    }

  return status;
}

static void
linked_worker_clear (LinkedWorker *worker)
{
  if (worker->input >= 0)
    close (worker->input);
  if (worker->output >= 0)
    close (worker->output);
  close (worker->errors);
  p_frame_reader_free (worker->reader);
  g_string_free (worker->said, TRUE);
}

/* }}} */
/* {{{ The worker's side */

static void
test_pipes (void)
{
  LinkedWorker worker = { 0, };
  g_autoptr(GVariant) square = NULL;
  g_autoptr(GVariant) printed = NULL;
  g_autoptr(GVariant) channel = NULL;
  g_autoptr(GVariant) bytes = NULL;
  int status;

  linked_worker_start (&worker, -1);
  linked_worker_check_greeting (&worker);

  square = linked_worker_call (&worker, 1, "square", g_variant_new_int64 (7));
  g_assert_cmpint (g_variant_get_int64 (square), ==, 49);

  /* What a task prints goes to its standard error, all of it, and the
   * link is none the worse. */
  printed = linked_worker_call (&worker, 2, "print", g_variant_new_string ("words"));
  g_assert_cmpstr (g_variant_get_string (printed, NULL), ==, "words");

  /* Not for what its tasks start. */
  channel = linked_worker_call (&worker, 3, "getenv", g_variant_new_string ("PROCESSING_GLIB_CHANNEL"));
  g_assert_cmpstr (g_variant_get_string (channel, NULL), ==, "");

  /* Large values in the stream, whatever the environment offered. */
  bytes = linked_worker_call (&worker, 4, "make_bytes", g_variant_new_int64 (600 * 1024));
  g_assert_cmpuint (g_variant_get_size (bytes), ==, 600 * 1024);
  for (gsize i = 0; i < 600 * 1024; i += 997)
    g_assert_cmpuint (((const guint8 *) g_variant_get_data (bytes))[i], ==, i % 251);

  /* The end of its input, while it idles: it exits, as a local worker. */
  close (worker.input);
  worker.input = -1;
  g_assert_null (linked_worker_receive (&worker));
  status = linked_worker_wait (&worker, 10 * G_USEC_PER_SEC);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);

  linked_worker_read_errors (&worker);
  g_assert_nonnull (strstr (worker.said->str, "words stdout 99"));
  g_assert_nonnull (strstr (worker.said->str, "words stderr 99"));

  linked_worker_clear (&worker);
}

/* `srun -u` gives its tasks a terminal for their standard output: the
 * worker makes it pass bytes as they are. */
static void
test_terminal (void)
{
  LinkedWorker worker = { 0, };
  g_autoptr(GVariant) bytes = NULL;
  struct termios attributes;
  int master, slave;
  int status;

  g_assert_no_errno (openpty (&master, &slave, NULL, NULL, NULL));
  /* Cooked, as a terminal starts: "\n" becomes "\r\n", input echoes. */
  g_assert_no_errno (tcgetattr (slave, &attributes));
  attributes.c_oflag |= OPOST | ONLCR;
  attributes.c_lflag |= ECHO | ICANON;
  g_assert_no_errno (tcsetattr (slave, TCSANOW, &attributes));

  linked_worker_start (&worker, slave);
  worker.output = master;
  linked_worker_check_greeting (&worker);

  /* Every byte value, "\n" and "\r" among them. */
  bytes = linked_worker_call (&worker, 1, "make_bytes", g_variant_new_int64 (100000));
  g_assert_cmpuint (g_variant_get_size (bytes), ==, 100000);
  for (gsize i = 0; i < 100000; i++)
    g_assert_cmpuint (((const guint8 *) g_variant_get_data (bytes))[i], ==, i % 251);

  g_assert_no_errno (tcgetattr (slave, &attributes));
  g_assert_cmpuint (attributes.c_oflag & OPOST, ==, 0);
  g_assert_cmpuint (attributes.c_lflag & (ECHO | ICANON), ==, 0);

  close (slave);
  close (worker.input);
  worker.input = -1;
  status = linked_worker_wait (&worker, 10 * G_USEC_PER_SEC);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);

  linked_worker_clear (&worker);
}

static gboolean
process_gone (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *stat = NULL;
  const char *end;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return TRUE;
  end = strrchr (stat, ')');

  return end != NULL && (end[2] == 'Z' || end[2] == 'X');
}

/* The link ends while a task runs that does not listen: the worker and
 * what its tasks started are gone at once, without a word more. */
static void
test_lost_while_working (void)
{
  LinkedWorker worker = { 0, };
  g_autoptr(GVariant) sleeper = NULL;
  gint64 started;
  int status;

  linked_worker_start (&worker, -1);
  linked_worker_check_greeting (&worker);

  sleeper = linked_worker_call (&worker, 1, "spawn_sleeper", g_variant_new_int64 (60));
  linked_worker_send (&worker, 2, "sleep_deaf", g_variant_new_int64 (30000));
  linked_worker_send (&worker, 3, "square", g_variant_new_int64 (3));
  g_usleep (100000);

  started = g_get_monotonic_time ();
  close (worker.input);
  worker.input = -1;
  status = linked_worker_wait (&worker, 5 * G_USEC_PER_SEC);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
  g_test_message ("took %.2f s", (g_get_monotonic_time () - started) / 1e6);

  /* Its group went with it. */
  for (int i = 0; i < 200 && !process_gone (g_variant_get_int64 (sleeper)); i++)
    g_usleep (10000);
  g_assert_true (process_gone (g_variant_get_int64 (sleeper)));

  g_assert_null (linked_worker_receive (&worker));
  linked_worker_clear (&worker);
}

/* The same with a task that listens: it is cancelled, and still nothing
 * more is sent. */
static void
test_lost_cooperative (void)
{
  LinkedWorker worker = { 0, };
  int status;

  linked_worker_start (&worker, -1);
  linked_worker_check_greeting (&worker);

  linked_worker_send (&worker, 1, "wait_for_cancel", g_variant_new_int64 (30000));
  g_usleep (100000);

  close (worker.input);
  worker.input = -1;
  status = linked_worker_wait (&worker, 5 * G_USEC_PER_SEC);
  g_assert_true (WIFSIGNALED (status));
  g_assert_null (linked_worker_receive (&worker));

  linked_worker_clear (&worker);
}

/* }}} */
/* {{{ Pools through stand-in clients */

/* srun's stand-in runs its command after the options. */
static PLauncher *
new_fake_srun (void)
{
  const char *command[] = {
    "/bin/sh", "-c", "while [ \"${1#-}\" != \"$1\" ]; do shift; done; exec \"$@\"", "fake-srun", NULL
  };
  PLauncher *launcher = p_launcher_new_srun (NULL);

  p_launcher_set_command (launcher, command);
  return launcher;
}

/* ssh's runs the command line after the host, with sh, as sshd would. */
static PLauncher *
new_fake_ssh (const char * const *hosts,
              const char         *script)
{
  const char *command[] = {
    "/bin/sh", "-c", script ? script : "while [ \"$1\" != -- ]; do shift; done; exec sh -c \"$3\"",
    "fake-ssh", NULL
  };
  PLauncher *launcher = p_launcher_new_ssh (hosts);

  p_launcher_set_command (launcher, command);
  return launcher;
}

static void
test_through_srun (void)
{
  g_autoptr(PLauncher) launcher = new_fake_srun ();
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) squares = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) bytes = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PResult) cancelled = NULL;

  pool = p_pool_new_with_launcher (2, NULL, launcher, &error);
  g_assert_no_error (error);
  g_object_set (pool, "task-timeout", (gint64) 300000, NULL);

  g_assert_cmpint (apply_int64 (pool, "square", 12), ==, 144);
  squares = p_pool_map (pool, "square", test_range_int64 (50), 0, NULL, &error);
  g_assert_no_error (error);
  assert_squares (squares, 50);

  bytes = p_pool_apply (pool, "make_bytes", g_variant_new_int64 (1024 * 1024), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_get_size (bytes), ==, 1024 * 1024);

  /* A time-out ends the link, and so the worker. */
  value = p_pool_apply (pool, "sleep_deaf", g_variant_new_int64 (20000), NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);

  /* A death is the client's. */
  g_clear_pointer (&value, g_variant_unref);
  value = p_pool_apply (pool, "die", g_variant_new_int32 (SIGKILL), NULL, &error);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
  g_assert_nonnull (strstr (error->message, "Slurm job step"));
  g_clear_error (&error);

  cancelled = p_pool_submit (pool, "wait_for_cancel", g_variant_new_int64 (20000), cancellable);
  g_usleep (50000);
  g_cancellable_cancel (cancellable);
  g_clear_pointer (&value, g_variant_unref);
  value = p_result_get (cancelled, -1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  g_object_unref (p_pool_submit (pool, "sleep_deaf", g_variant_new_int64 (20000), NULL));
  p_pool_terminate (pool);
  g_assert_true (p_pool_join (pool, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (test_count_children (), ==, 0);
}

/* A standard error that takes no more holds up the worker that prints,
 * never the pool's thread: the other workers serve meanwhile. */
static void
test_stderr_full (void)
{
  g_autoptr(PLauncher) launcher = new_fake_srun ();
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PResult) printing = NULL;
  g_autoptr(GVariant) printed = NULL;
  g_autofree char *words = g_strnfill (1000, 'w');
  gint64 started;
  int saved_stderr = dup (STDERR_FILENO);
  int fds[2];

  g_assert_no_errno (pipe2 (fds, O_CLOEXEC));
  dup2 (fds[1], STDERR_FILENO);
  close (fds[1]);

  pool = p_pool_new_with_launcher (2, NULL, launcher, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 20; i++)
    {
      g_autoptr(GVariant) squares = p_pool_map (pool, "square", test_range_int64 (20), 1, NULL, &error);

      g_assert_no_error (error);
    }

  /* 200 KB: more than the pipes between hold. */
  printing = p_pool_submit (pool, "print", g_variant_new_string (words), NULL);
  g_usleep (300000);
  g_assert_false (p_result_ready (printing));

  started = g_get_monotonic_time ();
  for (int i = 0; i < 20; i++)
    g_assert_cmpint (apply_int64 (pool, "square", i), ==, i * i);
  g_test_message ("took %.2f s", (g_get_monotonic_time () - started) / 1e6);
  g_assert_false (p_result_ready (printing));

  /* Read, it goes on. */
  while (!p_result_wait (printing, 10000))
    {
      char buffer[65536];

      g_unix_set_fd_nonblocking (fds[0], TRUE, NULL);
      while (read (fds[0], buffer, sizeof buffer) > 0)
        ;
    }
  printed = p_result_get (printing, 0, &error);
  g_assert_no_error (error);

  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, NULL));

  dup2 (saved_stderr, STDERR_FILENO);
  close (saved_stderr);
  close (fds[0]);
}

static void
test_through_ssh (void)
{
  const char *hosts[] = { "2/a", "b", NULL };
  g_autoptr(PLauncher) launcher = new_fake_ssh (hosts, NULL);
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;

  /* A client that is not OpenSSH cannot share connections. */
  pool = p_pool_new_with_launcher (0, NULL, launcher, &error);
  g_assert_null (pool);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START);
  g_assert_nonnull (strstr (error->message, "Could not connect to"));
  g_clear_error (&error);
  g_assert_cmpuint (test_count_children (), ==, 0);

  p_launcher_set_reuse_connections (launcher, FALSE);
  pool = p_pool_new_with_launcher (0, NULL, launcher, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (p_pool_get_processes (pool), ==, 3);
  g_assert_cmpint (apply_int64 (pool, "square", 5), ==, 25);

  value = p_pool_apply (pool, "die", g_variant_new_int32 (SIGKILL), NULL, &error);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED);
  g_assert_true (strstr (error->message, "on “a”") != NULL || strstr (error->message, "on “b”") != NULL);
  g_clear_error (&error);
  g_assert_cmpint (apply_int64 (pool, "square", 6), ==, 36);

  p_pool_shutdown (pool);
  g_assert_true (p_pool_join (pool, &error));
  g_assert_cmpuint (test_count_children (), ==, 0);
}

/* The client's own words, from the tasks, within seconds. */
static void
test_client_fails (void)
{
  const char *hosts[] = { "unknown", NULL };
  g_autoptr(PLauncher) launcher = new_fake_ssh (hosts, "echo \"ssh: Could not resolve hostname unknown\" >&2; exit 255");
  g_autoptr(PPool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  gint64 started = g_get_monotonic_time ();
  int saved_stderr = dup (STDERR_FILENO);
  int null = open ("/dev/null", O_WRONLY | O_CLOEXEC);

  /* What the clients say is passed on to this process's stderr. */
  dup2 (null, STDERR_FILENO);
  close (null);

  p_launcher_set_reuse_connections (launcher, FALSE);
  pool = p_pool_new_with_launcher (2, NULL, launcher, &error);
  g_assert_no_error (error);
  value = p_pool_apply (pool, "square", g_variant_new_int64 (2), NULL, &error);
  g_assert_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START);
  g_assert_nonnull (strstr (error->message, "ssh: Could not resolve hostname unknown"));
  g_test_message ("took %.2f s", (g_get_monotonic_time () - started) / 1e6);

  p_pool_terminate (pool);
  g_assert_true (p_pool_join (pool, NULL));

  dup2 (saved_stderr, STDERR_FILENO);
  close (saved_stderr);
}

static void
test_bad_hosts (void)
{
  static const char * const bad[] = { "", "-oProxyCommand=x", "0/host", "x/host", "2000/host", "a b", NULL };
  g_autoptr(GError) error = NULL;

  for (guint i = 0; bad[i] != NULL; i++)
    {
      const char *hosts[] = { bad[i], NULL };
      g_autoptr(PLauncher) launcher = p_launcher_new_ssh (hosts);
      g_autoptr(PPool) pool = p_pool_new_with_launcher (0, NULL, launcher, &error);

      g_assert_null (pool);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }

  {
    const char *none[] = { NULL };
    g_autoptr(PLauncher) launcher = p_launcher_new_ssh (none);
    g_autoptr(PPool) pool = p_pool_new_with_launcher (0, NULL, launcher, &error);

    g_assert_null (pool);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
}

/* }}} */

int
main (int   argc,
      char *argv[])
{
  test_functions_serve_if_requested ();

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/launcher/link/pipes", test_pipes);
  g_test_add_func ("/launcher/link/terminal", test_terminal);
  g_test_add_func ("/launcher/link/lost-while-working", test_lost_while_working);
  g_test_add_func ("/launcher/link/lost-cooperative", test_lost_cooperative);
  g_test_add_func ("/launcher/link/through-srun", test_through_srun);
  g_test_add_func ("/launcher/link/stderr-full", test_stderr_full);
  g_test_add_func ("/launcher/link/through-ssh", test_through_ssh);
  g_test_add_func ("/launcher/link/client-fails", test_client_fails);
  g_test_add_func ("/launcher/link/bad-hosts", test_bad_hosts);

  return g_test_run ();
}
