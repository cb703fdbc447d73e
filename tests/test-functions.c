/* test-functions.c: task functions the test programs serve as workers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* memfd_create() */
#define _GNU_SOURCE

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-functions.h"

G_DEFINE_QUARK (test-error-quark, test_error)

/* x → x * x, for int64 and int32 */
static GVariant *
fn_square (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  if (g_variant_is_of_type (args, G_VARIANT_TYPE_INT32))
    return g_variant_new_int32 (g_variant_get_int32 (args) * g_variant_get_int32 (args));

  if (!g_variant_is_of_type (args, G_VARIANT_TYPE_INT64))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "square takes an int64, not a %s", g_variant_get_type_string (args));
      return NULL;
    }

  return g_variant_new_int64 (g_variant_get_int64 (args) * g_variant_get_int64 (args));
}

static GVariant *
fn_echo (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  return g_variant_ref (args);
}

/* (s domain, i code, s message) → that error */
static GVariant *
fn_fail (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  const char *domain, *message;
  gint32 code;

  g_variant_get (args, "(&si&s)", &domain, &code, &message);
  g_set_error_literal (error, g_quark_from_string (domain), code, message);
  return NULL;
}

/* (ayiay) domain, code, message: fails with them as they are, bytes that
 * need not be UTF-8 nor a valid domain name */
static GVariant *
fn_fail_raw (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  const char *domain, *message;
  gint32 code;

  g_variant_get (args, "(^&ayi^&ay)", &domain, &code, &message);
  g_set_error_literal (error, g_quark_from_string (domain), code, message);
  return NULL;
}

/* int64 n: fails with a message of n letters */
static GVariant *
fn_fail_long (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_autofree char *message = g_strnfill (g_variant_get_int64 (args), 'e');

  g_set_error_literal (error, g_quark_from_static_string ("test-error-quark"), 3, message);
  return NULL;
}

/* int64 x: fails with TEST_ERROR x when x is negative, else squares it */
static GVariant *
fn_square_or_fail (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  gint64 x = g_variant_get_int64 (args);

  if (x < 0)
    {
      g_set_error (error, TEST_ERROR, (int) -x, "negative: %" G_GINT64_FORMAT, x);
      return NULL;
    }

  return g_variant_new_int64 (x * x);
}

/* int64 x: the worker kills itself when x is negative, else squares it */
static GVariant *
fn_square_or_die (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  gint64 x = g_variant_get_int64 (args);

  if (x < 0)
    kill (getpid (), SIGKILL);

  return g_variant_new_int64 (x * x);
}

static GVariant *
fn_null (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  return NULL;
}

/* int64 milliseconds; returns early with G_IO_ERROR_CANCELLED if cancelled */
static GVariant *
fn_sleep (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  gint64 end = g_get_monotonic_time () + g_variant_get_int64 (args) * 1000;

  while (g_get_monotonic_time () < end)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      g_usleep (1000);
    }

  return g_variant_new_int64 (g_variant_get_int64 (args));
}

/* int64 milliseconds; deaf to cancellation */
static GVariant *
fn_sleep_deaf (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_usleep (g_variant_get_int64 (args) * 1000);
  return g_variant_new_int64 (g_variant_get_int64 (args));
}

/* int32 signal: the worker kills itself with it */
static GVariant *
fn_die (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  kill (getpid (), g_variant_get_int32 (args));
  for (;;)
    pause ();
  return NULL;
}

/* int32 status: the worker exits with it */
static GVariant *
fn_exit (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  _exit (g_variant_get_int32 (args));
  return NULL;
}

static GVariant *
fn_pid (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  return g_variant_new_int64 (getpid ());
}

/* s text: printed on stdout and stderr, then returned */
static GVariant *
fn_print (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  const char *text = g_variant_get_string (args, NULL);

  for (int i = 0; i < 100; i++)
    {
      fprintf (stdout, "%s stdout %d\n", text, i);
      fprintf (stderr, "%s stderr %d\n", text, i);
    }
  fflush (stdout);
  fflush (stderr);

  return g_variant_new_string (text);
}

/* → a{is}: every open descriptor and what it points to */
static GVariant *
fn_list_fds (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{is}"));
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, error);
  const char *name;

  if (dir == NULL)
    return NULL;

  /* Read them all first: the directory's own descriptor is among them. */
  while ((name = g_dir_read_name (dir)))
    g_ptr_array_add (names, g_strdup (name));
  g_clear_pointer (&dir, g_dir_close);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename ("/proc/self/fd", names->pdata[i], NULL);
      g_autofree char *target = g_file_read_link (path, NULL);

      if (target != NULL)
        g_variant_builder_add (&builder, "{is}", atoi (names->pdata[i]), target);
    }

  return g_variant_builder_end (&builder);
}

static GVariant *
fn_exe (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", error);

  return exe ? g_variant_new_string (exe) : NULL;
}

/* Waits for its cancellable, then fails with G_IO_ERROR_CANCELLED; the
 * int64 argument bounds the wait in milliseconds. */
static GVariant *
fn_wait_for_cancel (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  gint64 end = g_get_monotonic_time () + g_variant_get_int64 (args) * 1000;

  while (!g_cancellable_is_cancelled (cancellable) && g_get_monotonic_time () < end)
    g_usleep (500);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  g_set_error_literal (error, TEST_ERROR, 1, "never cancelled");
  return NULL;
}

/* A "cancelled" handler that its task never disconnects, as a careless
 * function might leave one: it must never fire for a later task. */
static gboolean stale_handler_fired;

static void
on_stale_cancelled (GCancellable *cancellable,
                    gpointer      user_data)
{
  stale_handler_fired = TRUE;
}

/* any → b: TRUE; leaves a handler connected to its cancellable */
static GVariant *
fn_leave_cancel_handler (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_cancellable_connect (cancellable, G_CALLBACK (on_stale_cancelled), NULL, NULL);
  return g_variant_new_boolean (TRUE);
}

/* any → b: whether a handler left by leave_cancel_handler ever fired */
static GVariant *
fn_stale_handler_fired (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  return g_variant_new_boolean (stale_handler_fired);
}

/* A cancellable that its task keeps, as a function that started something
 * longer than itself might: a later task's cancel must not reach it. */
static GCancellable *kept_cancellable;

/* any → b: TRUE; keeps a reference to its cancellable */
static GVariant *
fn_keep_cancellable (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_set_object (&kept_cancellable, cancellable);
  return g_variant_new_boolean (TRUE);
}

/* any → b: whether the cancellable keep_cancellable kept was cancelled */
static GVariant *
fn_kept_cancellable_cancelled (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  return g_variant_new_boolean (g_cancellable_is_cancelled (kept_cancellable));
}

/* a tuple → its second member, as it is: a part of what it was given */
static GVariant *
fn_second (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  return g_variant_get_child_value (args, 1);
}

/* int32 n → an int32 0 in n - 1 variants: n levels deep */
static GVariant *
fn_nest (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  gint32 levels = g_variant_get_int32 (args);
  GVariant *value = g_variant_new_int32 (0);

  for (gint32 level = 1; level < levels; level++)
    value = g_variant_new_variant (value);

  return value;
}

/* s name → s: the worker's environment variable, or "" */
static GVariant *
fn_getenv (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  const char *value = g_getenv (g_variant_get_string (args, NULL));

  return g_variant_new_string (value ? value : "");
}

/* int64 seconds → int64: the pid of a `sleep` that the task started, in
 * the worker's process group, and left running */
static GVariant *
fn_spawn_sleeper (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_autofree char *seconds = g_strdup_printf ("%" G_GINT64_FORMAT, g_variant_get_int64 (args));
  const char *argv[] = { "sleep", seconds, NULL };
  GPid pid;

  if (!g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                      G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL, &pid, error))
    return NULL;

  return g_variant_new_int64 (pid);
}

/* int64 n → ay of n bytes, byte i = i % 251 */
static GVariant *
fn_make_bytes (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  gsize n = g_variant_get_int64 (args);
  guint8 *data = g_malloc (n);

  for (gsize i = 0; i < n; i++)
    data[i] = i % 251;

  return g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, n, TRUE, g_free, data);
}

static void
write_raw (const void *data,
           gsize       size)
{
  const guint8 *bytes = data;

  while (size > 0)
    {
      gssize n = write (3, bytes, size);

      if (n <= 0)
        return;
      bytes += n;
      size -= n;
    }
}

static void
write_frame (guint32       size,
             guint32       kind,
             const void   *body,
             gsize         body_size)
{
  guint32 header[2] = { size, kind };

  write_raw (header, sizeof header);
  write_raw (body, body_size);
}

static void
write_message (guint32   kind,
               GVariant *body)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (body);
  gsize size = g_variant_get_size (owned);
  g_autofree guint8 *data = g_malloc0 ((size + 7) & ~7);

  g_variant_store (owned, data);
  write_frame (size, kind, data, (size + 7) & ~7);
}

/* @size bytes with @fd along the first one. */
static void
write_raw_with_fd (const guint8 *data,
                   gsize         size,
                   int           fd)
{
  union { struct cmsghdr header; char buffer[CMSG_SPACE (sizeof (int))]; } control;
  struct iovec vector = { (void *) data, size };
  struct msghdr msg = { NULL, 0, &vector, 1, control.buffer, sizeof control.buffer, 0 };
  struct cmsghdr *cmsg = CMSG_FIRSTHDR (&msg);

  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cmsg), &fd, sizeof fd);
  if (sendmsg (3, &msg, MSG_NOSIGNAL) < 0)
    g_printerr ("sendmsg: %s\n", g_strerror (errno));
  close (fd);
}

/* A frame of @body; how long it is. */
static guint8 *
frame_of (guint32   kind,
          GVariant *body,
          gsize    *length)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (body);
  gsize size = g_variant_get_size (owned);
  guint8 *data = g_malloc0 (8 + ((size + 7) & ~7));
  guint32 header[2] = { size, kind };

  memcpy (data, header, sizeof header);
  g_variant_store (owned, data + 8);
  *length = 8 + ((size + 7) & ~7);

  return data;
}

/* A frame with @fd along its first byte. */
static void
write_message_with_fd (guint32   kind,
                       GVariant *body,
                       int       fd)
{
  gsize length;
  g_autofree guint8 *data = frame_of (kind, body, &length);

  write_raw_with_fd (data, length, fd);
}

/* A memfd of @size zeros, sealed or not. */
static int
zeros_file (gsize    size,
            gboolean sealed)
{
  int fd = memfd_create ("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

  g_assert (fd >= 0 && ftruncate (fd, size) == 0);
  if (sealed)
    g_assert (fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) == 0);

  return fd;
}

/* s mode: the worker breaks the protocol, in the way named, by writing
 * straight to its channel (descriptor 3); then it waits to be killed. */
static GVariant *
fn_misbehave (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  const char *mode = g_variant_get_string (args, NULL);
  static const guint8 zeros[16] = { 0, };

  if (g_str_equal (mode, "oversize"))
    write_frame (0xfffffff0, 17, NULL, 0);
  else if (g_str_equal (mode, "unknown-kind"))
    write_frame (8, 77, zeros, 8);
  else if (g_str_equal (mode, "pool-kind"))
    write_frame (8, 3, zeros, 8);
  else if (g_str_equal (mode, "wrong-type"))
    write_message (18, g_variant_new ("(tv)", (guint64) 1, g_variant_new_int32 (1)));
  else if (g_str_equal (mode, "not-normal"))
    /* A RESULT "(tv)" whose variant has no type string. */
    write_frame (16, 17, "\1\0\0\0\0\0\0\0\7\0\0\0\0\0\0\0", 16);
  else if (g_str_equal (mode, "bad-padding"))
    write_frame (4, 17, "\1\0\0\0\1\1\1\1", 8);
  else if (g_str_equal (mode, "unknown-id"))
    write_message (17, g_variant_new ("(tv)", (guint64) 987654321, g_variant_new_int32 (1)));
  else if (g_str_equal (mode, "hello-again"))
    write_message (16, g_variant_new ("(ux^as)", 1, (gint64) getpid (), (const char *[]) { NULL }));
  else if (g_str_equal (mode, "random"))
    {
      guint8 noise[4096];

      for (gsize i = 0; i < sizeof noise; i++)
        noise[i] = g_random_int ();
      write_raw (noise, sizeof noise);
    }
  else if (g_str_equal (mode, "sealed-no-fd"))
    write_message (21, g_variant_new ("(tstt)", (guint64) 1, "ay", (guint64) 0, (guint64) 16));
  else if (g_str_equal (mode, "sealed-unsealed"))
    write_message_with_fd (21, g_variant_new ("(tstt)", (guint64) 1, "ay", (guint64) 0, (guint64) 16),
                           zeros_file (4096, FALSE));
  else if (g_str_equal (mode, "sealed-beyond"))
    write_message_with_fd (21, g_variant_new ("(tstt)", (guint64) 1, "ay", (guint64) 0, (guint64) 8192),
                           zeros_file (4096, TRUE));
  else if (g_str_equal (mode, "sealed-bad-type"))
    write_message_with_fd (21, g_variant_new ("(tstt)", (guint64) 1, "a", (guint64) 0, (guint64) 16),
                           zeros_file (4096, TRUE));
  else if (g_str_equal (mode, "sealed-wrong-kind"))
    {
      gsize length;
      g_autofree guint8 *task = frame_of (1, g_variant_new ("(tsv)", (guint64) 1, "f", g_variant_new_int32 (1)), &length);
      int fd = memfd_create ("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

      g_assert (fd >= 0 && write (fd, task + 8, length - 8) == (gssize) (length - 8) && ftruncate (fd, length + 8) == 0);
      g_assert (fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) == 0);
      write_message_with_fd (5, g_variant_new ("(ut)", (guint32) 1, (guint64) (length - 8)), fd);
    }
  else if (g_str_equal (mode, "sealed-misaligned"))
    write_message_with_fd (21, g_variant_new ("(tstt)", (guint64) 1, "x", (guint64) 3, (guint64) 8),
                           zeros_file (4096, TRUE));
  else if (g_str_equal (mode, "fd-flood"))
    {
      /* A frame a byte at a time, a descriptor with each. */
      const char *names[] = { "a-name-long-enough-for-a-hundred-bytes-of-frame",
                              "and-another-one-to-be-sure-of-it", NULL };
      gsize length;
      g_autofree guint8 *data = frame_of (16, g_variant_new ("(ux^as)", 3, (gint64) getpid (), names), &length);

      for (gsize i = 0; i < length; i++)
        write_raw_with_fd (data + i, 1, zeros_file (16, TRUE));
    }
  else if (g_str_equal (mode, "truncated"))
    {
      write_frame (64, 17, zeros, 16);
      _exit (0);
    }
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown mode %s", mode);
      return NULL;
    }

  for (;;)
    g_usleep (G_USEC_PER_SEC);
  return NULL;
}

/* int64 n → n: reports its progress n times, 60 ms apart (more than the
 * pool's interval), then 10 000 times at once (a chatty task) */
static GVariant *
fn_report_progress (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  gint64 n = g_variant_get_int64 (args);

  for (gint64 i = 1; i <= n; i++)
    {
      g_autofree char *message = g_strdup_printf ("step %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT, i, n);

      g_usleep (60000);
      p_worker_report_progress ((double) i / (n + 1), message);
    }

  for (guint i = 0; i < 10000; i++)
    p_worker_report_progress ((double) n / (n + 1), "chatty");

  return g_variant_new_int64 (n);
}

/* {{{ Chunk functions: a map chunk's items at once */

/* ax → ax of their squares; fails (TEST_ERROR, -x) at the first negative,
 * as square_or_fail does for one */
static GVariant *
chunk_square_or_fail (GVariant *items, GCancellable *cancellable, gpointer user_data, GError **error)
{
  gsize n;
  const gint64 *x = g_variant_get_fixed_array (items, &n, sizeof (gint64));
  gint64 *squares = g_new (gint64, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    {
      if (x[i] < 0)
        {
          g_set_error (error, TEST_ERROR, (int) -x[i], "negative: %" G_GINT64_FORMAT, x[i]);
          g_free (squares);
          return NULL;
        }
      squares[i] = x[i] * x[i];
    }

  return g_variant_new_from_data (G_VARIANT_TYPE ("ax"), squares, n * sizeof (gint64), TRUE, g_free, squares);
}

/* ax → av: each item as an int64 when even, as its string when odd */
static GVariant *
chunk_mixed (GVariant *items, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_auto(GVariantBuilder) results = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("av"));
  gsize n;
  const gint64 *x = g_variant_get_fixed_array (items, &n, sizeof (gint64));

  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, x[i]);

      g_variant_builder_add (&results, "v", x[i] % 2 == 0 ? g_variant_new_int64 (x[i]) : g_variant_new_string (text));
    }

  return g_variant_builder_end (&results);
}

/* anything → as many results less one */
static GVariant *
chunk_one_short (GVariant *items, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_auto(GVariantBuilder) results = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("ab"));

  for (gsize i = 1; i < g_variant_n_children (items); i++)
    g_variant_builder_add (&results, "b", TRUE);

  return g_variant_builder_end (&results);
}

/* anything → an int, not an array */
static GVariant *
chunk_not_array (GVariant *items, GCancellable *cancellable, gpointer user_data, GError **error)
{
  return g_variant_new_int32 (7);
}

/* anything → waits until cancelled (a minute at most) */
static GVariant *
chunk_wait_for_cancel (GVariant *items, GCancellable *cancellable, gpointer user_data, GError **error)
{
  for (guint i = 0; i < 60000 && !g_cancellable_is_cancelled (cancellable); i++)
    g_usleep (1000);

  g_cancellable_set_error_if_cancelled (cancellable, error);
  return NULL;
}

/* }}} */

/* {{{ The sandbox's: each tries what a sandbox forbids, and fails with
 * the system's error (from errno: a permission error is
 * G_IO_ERROR_PERMISSION_DENIED) or succeeds (tests/test-sandbox.c) */

static GVariant *
errno_error (GError     **error,
             const char  *what)
{
  int saved_errno = errno;

  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               "%s: %s", what, g_strerror (saved_errno));
  return NULL;
}

/* s path → t: its size (G_FILE_ERROR as g_file_get_contents() fails) */
static GVariant *
fn_read_file (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_autofree char *contents = NULL;
  gsize length;

  if (!g_file_get_contents (g_variant_get_string (args, NULL), &contents, &length, error))
    return NULL;

  return g_variant_new_uint64 (length);
}

/* s path → u: how many entries the directory has */
static GVariant *
fn_list_dir (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_autoptr(GDir) dir = g_dir_open (g_variant_get_string (args, NULL), 0, error);
  guint32 n = 0;

  if (dir == NULL)
    return NULL;

  while (g_dir_read_name (dir) != NULL)
    n++;

  return g_variant_new_uint32 (n);
}

/* s path → b: writes "written" there */
static GVariant *
fn_write_file (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  if (!g_file_set_contents (g_variant_get_string (args, NULL), "written", -1, error))
    return NULL;

  return g_variant_new_boolean (TRUE);
}

/* s path → b: makes it mode 0600 */
static GVariant *
fn_chmod (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  if (chmod (g_variant_get_string (args, NULL), 0600) != 0)
    return errno_error (error, "chmod");

  return g_variant_new_boolean (TRUE);
}

/* (sq) address, port → b: a TCP connection to it */
static GVariant *
fn_tcp_connect (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_autoptr(GInetSocketAddress) address = NULL;
  g_autoptr(GSocket) socket = NULL;
  const char *host;
  guint16 port;

  g_variant_get (args, "(&sq)", &host, &port);
  address = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new_from_string (host, port));
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL || !g_socket_connect (socket, G_SOCKET_ADDRESS (address), cancellable, error))
    return NULL;

  return g_variant_new_boolean (TRUE);
}

/* (sq) address, port → b: a UDP datagram sent there */
static GVariant *
fn_udp_send (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_autoptr(GInetSocketAddress) address = NULL;
  g_autoptr(GSocket) socket = NULL;
  const char *host;
  guint16 port;

  g_variant_get (args, "(&sq)", &host, &port);
  address = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new_from_string (host, port));
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL || g_socket_send_to (socket, G_SOCKET_ADDRESS (address), "hello", 5, cancellable, error) < 0)
    return NULL;

  return g_variant_new_boolean (TRUE);
}

/* → b: a local (UNIX) socket could be made */
static GVariant *
fn_unix_socket (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return errno_error (error, "socket");

  close (fd);
  return g_variant_new_boolean (TRUE);
}

/* → i: the exit status of a child that exits at once */
static GVariant *
fn_fork (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  int status = 0;
  pid_t pid = fork ();

  if (pid < 0)
    return errno_error (error, "fork");
  if (pid == 0)
    _exit (7);

  waitpid (pid, &status, 0);
  return g_variant_new_int32 (WEXITSTATUS (status));
}

static gpointer
return_42 (gpointer data)
{
  return GINT_TO_POINTER (42);
}

/* → i: what a thread returned (42) */
static GVariant *
fn_thread (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  GThread *thread = g_thread_try_new ("test-thread", return_42, NULL, error);

  if (thread == NULL)
    return NULL;

  return g_variant_new_int32 (GPOINTER_TO_INT (g_thread_join (thread)));
}

/* t bytes → t: allocated (g_try_malloc()) and written; G_IO_ERROR_NO_SPACE
 * when the allocation fails */
static GVariant *
fn_allocate (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  guint64 size = g_variant_get_uint64 (args);
  g_autofree char *memory = g_try_malloc (size);

  if (memory == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "Could not allocate %" G_GUINT64_FORMAT " bytes", size);
      return NULL;
    }

  memset (memory, 1, size);
  return g_variant_new_uint64 (size);
}

/* t bytes → t: allocated with g_malloc(), which aborts when it fails */
static GVariant *
fn_allocate_or_die (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  guint64 size = g_variant_get_uint64 (args);
  g_autofree char *memory = g_malloc (size);

  memset (memory, 1, size);
  return g_variant_new_uint64 (size);
}

/* t address → t: the 8 bytes at that address in the pool's (the parent's)
 * memory */
static GVariant *
fn_read_pool_memory (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  guint64 value = 0;
  struct iovec local = { &value, sizeof value };
  struct iovec remote = { GSIZE_TO_POINTER (g_variant_get_uint64 (args)), sizeof value };

  if (process_vm_readv (getppid (), &local, 1, &remote, 1, 0) != sizeof value)
    return errno_error (error, "process_vm_readv");

  return g_variant_new_uint64 (value);
}

/* → b: the pool (the parent) could be sent a signal (0: none really) */
static GVariant *
fn_signal_pool (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  if (kill (getppid (), 0) != 0)
    return errno_error (error, "kill");

  return g_variant_new_boolean (TRUE);
}

/* → b: the memory and core dump limits lifted, as far as they go */
static GVariant *
fn_raise_limits (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };

  if (setrlimit (RLIMIT_DATA, &unlimited) != 0 || setrlimit (RLIMIT_CORE, &unlimited) != 0)
    return errno_error (error, "setrlimit");

  return g_variant_new_boolean (TRUE);
}

/* → a{sv}: no-new-privs (b), seccomp (u: its mode), cap-eff (t) */
static GVariant *
fn_confinement (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, error))
    return NULL;

  g_variant_dict_insert (&dict, "no-new-privs", "b", prctl (PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
  if ((line = strstr (status, "\nSeccomp:")) != NULL)
    g_variant_dict_insert (&dict, "seccomp", "u", (guint32) g_ascii_strtoull (line + 9, NULL, 10));
  if ((line = strstr (status, "\nCapEff:")) != NULL)
    g_variant_dict_insert (&dict, "cap-eff", "t", g_ascii_strtoull (line + 8, NULL, 16));

  return g_variant_dict_end (&dict);
}

/* → i: the kernel's landlock ABI, or -errno (as the worker sees it, when
 * the test program itself may run under valgrind, which knows no landlock) */
static GVariant *
fn_landlock_abi (GVariant *args, GCancellable *cancellable, gpointer user_data, GError **error)
{
  long abi = syscall (SYS_landlock_create_ruleset, NULL, 0, 1 /* LANDLOCK_CREATE_RULESET_VERSION */);

  return g_variant_new_int32 (abi >= 0 ? abi : -errno);
}

/* }}} */

void
test_functions_register (PWorker *worker)
{
  static const struct {
    const char *name;
    PChunkFunc func;
  } chunk_functions[] = {
    { "chunk_square_or_fail", chunk_square_or_fail },
    { "chunk_mixed", chunk_mixed },
    { "chunk_one_short", chunk_one_short },
    { "chunk_not_array", chunk_not_array },
    { "chunk_wait_for_cancel", chunk_wait_for_cancel },
  };
  static const struct {
    const char *name;
    PTaskFunc func;
  } functions[] = {
    { "square", fn_square },
    { "echo", fn_echo },
    { "fail", fn_fail },
    { "fail_raw", fn_fail_raw },
    { "fail_long", fn_fail_long },
    { "square_or_fail", fn_square_or_fail },
    { "square_or_die", fn_square_or_die },
    { "null", fn_null },
    { "sleep", fn_sleep },
    { "sleep_deaf", fn_sleep_deaf },
    { "die", fn_die },
    { "exit", fn_exit },
    { "pid", fn_pid },
    { "print", fn_print },
    { "list_fds", fn_list_fds },
    { "exe", fn_exe },
    { "wait_for_cancel", fn_wait_for_cancel },
    { "report_progress", fn_report_progress },
    { "make_bytes", fn_make_bytes },
    { "misbehave", fn_misbehave },
    { "leave_cancel_handler", fn_leave_cancel_handler },
    { "stale_handler_fired", fn_stale_handler_fired },
    { "keep_cancellable", fn_keep_cancellable },
    { "kept_cancellable_cancelled", fn_kept_cancellable_cancelled },
    { "second", fn_second },
    { "nest", fn_nest },
    { "read_file", fn_read_file },
    { "list_dir", fn_list_dir },
    { "write_file", fn_write_file },
    { "chmod", fn_chmod },
    { "tcp_connect", fn_tcp_connect },
    { "udp_send", fn_udp_send },
    { "unix_socket", fn_unix_socket },
    { "fork", fn_fork },
    { "thread", fn_thread },
    { "allocate", fn_allocate },
    { "allocate_or_die", fn_allocate_or_die },
    { "read_pool_memory", fn_read_pool_memory },
    { "signal_pool", fn_signal_pool },
    { "raise_limits", fn_raise_limits },
    { "confinement", fn_confinement },
    { "landlock_abi", fn_landlock_abi },
    { "getenv", fn_getenv },
    { "spawn_sleeper", fn_spawn_sleeper },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (functions); i++)
    p_worker_add_function (worker, functions[i].name, functions[i].func, NULL, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (chunk_functions); i++)
    p_worker_add_chunk_function (worker, chunk_functions[i].name, chunk_functions[i].func, NULL, NULL);
}

static gpointer
sleep_for_ever (gpointer data)
{
  for (;;)
    g_usleep (G_USEC_PER_SEC);
  return NULL;
}

void
test_functions_serve_if_requested (void)
{
  g_autoptr(PWorker) worker = NULL;
  g_autoptr(GError) error = NULL;

  if (!p_worker_is_requested ())
    return;

  /* A worker with another thread when it confines itself, as gjs's are
   * (tests/test-sandbox.c). */
  if (g_getenv ("TEST_WORKER_EXTRA_THREAD") != NULL)
    g_thread_unref (g_thread_new ("extra", sleep_for_ever, NULL));

  worker = p_worker_new ();
  test_functions_register (worker);

  if (!p_worker_run (worker, &error))
    {
      g_printerr ("test worker %d: %s\n", (int) getpid (), error->message);
      exit (1);
    }

  g_clear_object (&worker);
  exit (0);
}

GVariant *
test_range_int64 (gint64 n)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("ax"));

  for (gint64 i = 0; i < n; i++)
    g_variant_builder_add (&builder, "x", i);

  return g_variant_builder_end (&builder);
}

gboolean
test_process_exists (GPid pid)
{
  return kill (pid, 0) == 0 || errno != ESRCH;
}

/* Child processes of this one, zombies included, from /proc. */
guint
test_count_children (void)
{
  g_autoptr(GArray) pids = test_list_children ();

  return pids->len;
}

GArray *
test_list_children (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  g_autofree char *self = g_strdup_printf ("%d", (int) getpid ());
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (GPid));
  const char *name;

  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree char *path = NULL;
      g_autofree char *status = NULL;
      char *ppid;

      if (!g_ascii_isdigit (name[0]))
        continue;

      path = g_build_filename ("/proc", name, "status", NULL);
      if (!g_file_get_contents (path, &status, NULL, NULL))
        continue;

      ppid = strstr (status, "\nPPid:\t");
      if (ppid != NULL && strncmp (ppid + 7, self, strlen (self)) == 0 &&
          (ppid[7 + strlen (self)] == '\n'))
        {
          GPid pid = atoi (name);
          g_array_append_val (pids, pid);
          if (g_getenv ("P_TEST_SHOW_CHILDREN"))
            g_printerr ("child %d: %s\n", pid, status);
        }
    }

  return pids;
}

/* {{{ Helpers of the pool suites */

PPool *
new_pool (guint processes)
{
  g_autoptr(GError) error = NULL;
  PPool *pool = p_pool_new (processes, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (pool);

  return pool;
}

/* A pool that keeps @processes workers, once they are all ready: for
 * tests that count processes or descriptors. */
PPool *
new_pool_of_ready (guint processes)
{
  g_autoptr(GError) error = NULL;
  PPool *pool = g_initable_new (P_TYPE_POOL, NULL, &error,
                                "processes", processes,
                                "min-processes", processes,
                                NULL);

  g_assert_no_error (error);
  while (stats_get_uint (pool, "idle") + stats_get_uint (pool, "busy") < processes)
    g_usleep (1000);

  return pool;
}

/* A "u" of p_pool_get_stats(). */
guint
stats_get_uint (PPool      *pool,
                const char *key)
{
  g_autoptr(GVariant) stats = p_pool_get_stats (pool);
  guint32 value = 0;

  g_assert_true (g_variant_lookup (stats, key, "u", &value));
  return value;
}

gint64
apply_int64 (PPool      *pool,
             const char *function,
             gint64      x)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = p_pool_apply (pool, function, g_variant_new_int64 (x), NULL, &error);

  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (result, G_VARIANT_TYPE_INT64));

  return g_variant_get_int64 (result);
}

void
assert_squares (GVariant *av,
                gsize     n)
{
  g_assert_cmpstr (g_variant_get_type_string (av), ==, "av");
  g_assert_cmpuint (g_variant_n_children (av), ==, n);

  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (av, i);
      g_autoptr(GVariant) value = g_variant_get_variant (boxed);

      g_assert_cmpint (g_variant_get_int64 (value), ==, (gint64) (i * i));
    }
}

void
late_cancelled_next_done (GObject      *source,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  LateCancelData *data = user_data;

  data->value = p_map_iter_next_finish (P_MAP_ITER (source), result, &data->error);
  g_main_loop_quit (data->loop);
}

/* Each of @results failed with G_IO_ERROR_CANCELLED at once (a terminated
 * pool's); drops them. */
void
assert_all_cancelled_and_unref (PResult **results,
                                gsize     n)
{
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = p_result_get (results[i], 0, &error);

      g_assert_null (value);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_object_unref (results[i]);
    }
}

/* }}} */
