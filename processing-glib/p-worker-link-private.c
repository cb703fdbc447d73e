/* p-worker-link-private.c: the worker's end of its channel: the local
 * socket a pool spawned it with, or the standard input and output a
 * launcher (ssh, srun) gave it
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <glib-unix.h>

#include "p-worker-link-private.h"
#include "p-i18n-private.h"
#include "p-protocol-private.h"

#define MAX_VECTORS 64

/* "stdio:MAX_MESSAGE_SIZE" (docs/protocol.md, section 15). */
static gboolean
parse_stdio (const char *value,
             gsize      *max_message_size)
{
  guint64 size;

  if (value == NULL || !g_str_has_prefix (value, P_CHANNEL_STDIO ":"))
    return FALSE;

  if (!g_ascii_string_to_unsigned (value + strlen (P_CHANNEL_STDIO ":"), 10,
                                   P_MIN_MAX_MESSAGE_SIZE, P_MAX_MAX_MESSAGE_SIZE, &size, NULL))
    return FALSE;

  *max_message_size = size;
  return TRUE;
}

/* Whether a launcher started this process as a remote worker. The
 * variable is gone once the worker runs: what its tasks start does not
 * take itself for a worker. */
gboolean
p_worker_link_is_requested (void)
{
  gsize max_message_size;

  return parse_stdio (g_getenv (P_CHANNEL_ENV), &max_message_size);
}

/* {{{ Opening */

/* A terminal passes bytes as they are only in raw mode: no echo, no line
 * editing, no "\n" made "\r\n". (`srun -u` gives its tasks a terminal
 * for their standard output.) */
static gboolean
make_raw (int      fd,
          GError **error)
{
  struct termios attributes;
  sigset_t ttou, old;
  int result;

  if (!isatty (fd))
    return TRUE;

  /* Even from a background process group, not stopped for it. */
  sigemptyset (&ttou);
  sigaddset (&ttou, SIGTTOU);
  pthread_sigmask (SIG_BLOCK, &ttou, &old);
  result = tcgetattr (fd, &attributes);
  if (result == 0)
    {
      cfmakeraw (&attributes);
      result = tcsetattr (fd, TCSANOW, &attributes);
    }
  pthread_sigmask (SIG_SETMASK, &old, NULL);

  if (result != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("The worker’s link is a terminal that cannot pass bytes as they are: %s"),
                   g_strerror (saved_errno));
      return FALSE;
    }

  return TRUE;
}

static gboolean
same_terminal (int a,
               int b)
{
  struct stat sa, sb;

  return isatty (a) && isatty (b) && fstat (a, &sa) == 0 && fstat (b, &sb) == 0 &&
         sa.st_rdev == sb.st_rdev;
}

static void
redirect (int         fd,
          const char *path,
          int         flags)
{
  int target = open (path, flags | O_CLOEXEC);

  if (target >= 0)
    {
      dup2 (target, fd);
      close (target);
    }
}

/* The channel is standard input and output: they become the link's own
 * descriptors, standard output goes where standard error does (what a
 * task prints can never reach the pool as a message) and standard input
 * reads nothing. */
static gboolean
open_stdio (PWorkerLink  *self,
            GError      **error)
{
  int in_fd = fcntl (STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
  int out_fd = fcntl (STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);

  if (in_fd < 0 || out_fd < 0)
    {
      int saved_errno = errno;

      if (in_fd >= 0)
        close (in_fd);
      if (out_fd >= 0)
        close (out_fd);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   _("The worker’s link (standard input and output) is unusable: %s"),
                   g_strerror (saved_errno));
      return FALSE;
    }

  /* A standard error on the link's own terminal (srun --pty) would
   * carry the tasks' words into it: they go nowhere instead. */
  if (same_terminal (STDERR_FILENO, out_fd))
    redirect (STDERR_FILENO, "/dev/null", O_WRONLY);
  if (dup2 (STDERR_FILENO, STDOUT_FILENO) < 0)
    redirect (STDOUT_FILENO, "/dev/null", O_WRONLY);
  redirect (STDIN_FILENO, "/dev/null", O_RDONLY);

  self->in_fd = in_fd;
  self->out_fd = out_fd;
  self->remote = TRUE;
  self->opened = TRUE;

  if (!make_raw (in_fd, error) || !make_raw (out_fd, error))
    return FALSE;

  /* Both threads poll before they read or write. */
  g_unix_set_fd_nonblocking (in_fd, TRUE, NULL);
  g_unix_set_fd_nonblocking (out_fd, TRUE, NULL);

  /* A group of its own: when its link ends while it works, the worker
   * ends the group, what its tasks started with it (p-worker.c). Under
   * sshd and srun it leads one already. */
  setpgid (0, 0);

  /* Not for what its tasks start. */
  g_unsetenv (P_CHANNEL_ENV);

  return TRUE;
}

/* Opens the channel the environment names: the socket a pool gave, or
 * a launcher's standard input and output. */
gboolean
p_worker_link_open (PWorkerLink  *self,
                    gsize        *max_message_size,
                    GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  const char *value = g_getenv (P_CHANNEL_ENV);
  GPid parent;
  int fd;

  g_assert (!p_worker_link_is_open (self));

  if (parse_stdio (value, max_message_size))
    return open_stdio (self, error);

  if (!p_channel_parse_env (value, &fd, &parent, max_message_size))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   _("This process was not started as a worker by a pool (%s is not set)"),
                   P_CHANNEL_ENV);
      return FALSE;
    }

  /* What a task starts must not inherit the channel. */
  fcntl (fd, F_SETFD, FD_CLOEXEC);

  self->socket = g_socket_new_from_fd (fd, &local_error);
  if (self->socket == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   _("The worker channel (descriptor %d) is unusable: %s"), fd, local_error->message);
      return FALSE;
    }
  /* Both threads poll before they read or write. */
  g_socket_set_blocking (self->socket, FALSE);
  self->in_fd = self->out_fd = fd;
  self->opened = TRUE;

  return TRUE;
}

gboolean
p_worker_link_is_open (PWorkerLink *self)
{
  return self->opened;
}

/* }}} */
/* {{{ Reading and writing */

/* Reads what is there, without blocking: as p_frame_reader_receive(). */
gssize
p_worker_link_receive (PWorkerLink   *self,
                       PFrameReader  *reader,
                       gsize         *space,
                       GError       **error)
{
  guint8 *buffer;
  gssize n_read;

  /* Descriptors may come along a socket: not g_socket_receive(). */
  if (self->socket != NULL)
    return p_frame_reader_receive (reader, self->in_fd, space, error);

  buffer = p_frame_reader_get_space (reader, space);
  do
    n_read = read (self->in_fd, buffer, *space);
  while (n_read < 0 && errno == EINTR);

  if (n_read < 0)
    {
      int saved_errno = errno;

      /* A terminal whose other side closed: the end of the stream. */
      if (saved_errno == EIO && isatty (self->in_fd))
        return 0;

      g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), g_strerror (saved_errno));
      return -1;
    }

  if (n_read > 0)
    p_frame_reader_commit (reader, n_read);

  return n_read;
}

/* writev() on a pipe or a terminal, which raise SIGPIPE when their reader
 * is gone: held back in this thread, and taken away if it came, so that
 * the caller sees EPIPE as a socket's MSG_NOSIGNAL would give it. (The
 * pool uses it too, for what its remote workers print.) */
gssize
p_writev_without_sigpipe (int                 fd,
                          const struct iovec *vectors,
                          int                 n_vectors)
{
  sigset_t pipe_set, old;
  gssize n_written;
  int saved_errno;

  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &pipe_set, &old);

  n_written = writev (fd, vectors, n_vectors);
  saved_errno = errno;

  if (n_written < 0 && saved_errno == EPIPE && !sigismember (&old, SIGPIPE))
    {
      const struct timespec now = { 0, 0 };

      while (sigtimedwait (&pipe_set, NULL, &now) < 0 && errno == EINTR)
        ;
    }
  pthread_sigmask (SIG_SETMASK, &old, NULL);

  errno = saved_errno;
  return n_written;
}

/* Writes some of @vectors, waiting for room as needed; @fd_message only
 * on a socket. */
GPollableReturn
p_worker_link_send (PWorkerLink            *self,
                    GOutputVector          *vectors,
                    gsize                   n_vectors,
                    GSocketControlMessage  *fd_message,
                    gsize                  *written,
                    GError                **error)
{
  struct iovec iov[MAX_VECTORS];
  gsize n = MIN (n_vectors, MAX_VECTORS);

  if (self->socket != NULL)
    return g_socket_send_message_with_timeout (self->socket, NULL, vectors, n_vectors,
                                               fd_message != NULL ? &fd_message : NULL,
                                               fd_message != NULL ? 1 : 0, 0,
                                               -1, written, NULL, error);

  g_assert (fd_message == NULL);

  for (gsize i = 0; i < n; i++)
    {
      iov[i].iov_base = (void *) vectors[i].buffer;
      iov[i].iov_len = vectors[i].size;
    }

  for (;;)
    {
      gssize n_written = p_writev_without_sigpipe (self->out_fd, iov, n);
      int saved_errno = errno;

      if (n_written >= 0)
        {
          *written = n_written;
          return G_POLLABLE_RETURN_OK;
        }

      if (saved_errno == EINTR)
        continue;

      if (saved_errno == EAGAIN)
        {
          struct pollfd room = { self->out_fd, POLLOUT, 0 };

          poll (&room, 1, -1);
          continue;
        }

      /* A terminal whose other side closed is a broken pipe too. */
      if (saved_errno == EIO && isatty (self->out_fd))
        saved_errno = EPIPE;

      g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), g_strerror (saved_errno));
      return G_POLLABLE_RETURN_FAILED;
    }
}

/* }}} */

void
p_worker_link_close (PWorkerLink *self)
{
  if (self->socket != NULL)
    {
      g_socket_close (self->socket, NULL);
      return;
    }

  if (self->in_fd >= 0)
    close (self->in_fd);
  if (self->out_fd >= 0)
    close (self->out_fd);
  self->in_fd = self->out_fd = -1;
}

void
p_worker_link_clear (PWorkerLink *self)
{
  if (self->socket == NULL)
    p_worker_link_close (self);
  g_clear_object (&self->socket);
}
