/* p-process-private.c: one worker process as the pool sees it
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "p-process-private.h"
#include "p-error.h"
#include "p-glib-workarounds-private.h"
#include "p-i18n-private.h"
#include "p-protocol-private.h"
#include "p-sealed-private.h"

/* How long a worker whose channel closed may take to exit by itself. */
#define EXIT_GRACE_MSEC 1000
/* At most this many reads per wake-up, so one chatty worker cannot
 * starve the others. */
#define MAX_READS_PER_DISPATCH 16
/* After it exited: enough for a full socket buffer many times over. */
#define MAX_READS_AFTER_EXIT 4096
#define MAX_WRITE_VECTORS 64


/* Runs in the child between fork and exec: async-signal-safe calls only. */
static void
child_setup (gpointer user_data)
{
  pid_t pool_pid = GPOINTER_TO_INT (user_data);

  /* Die with the pool's thread that spawned us (it lives as long as the
   * pool), even when the pool is killed with SIGKILL... */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  /* ...including when that happened before the line above. */
  if (getppid () != pool_pid)
    _exit (127);

  /* A group of its own, so that killing the worker kills what its tasks
   * started too. */
  setpgid (0, 0);
}

static void replace_timer (PProcess *self, guint msec, GSourceFunc func);
static gboolean client_exit_overdue (gpointer user_data);

/* SIGKILL to the worker and its process group. Safe until it is reaped:
 * till then its pid, and so its group id, cannot be reused.
 *
 * A launcher's client (ssh, srun) is asked first, with SIGTERM: srun
 * then cancels its step, also one still waiting for resources. Its
 * group is spared: srun keeps a process there that cancels the step
 * when srun dies. */
static void
force_exit (PProcess *self)
{
  if (self->reaped)
    return;

  if (self->linked && !self->client_asked_to_exit)
    {
      self->client_asked_to_exit = TRUE;
      if (self->pid > 0)
        kill (self->pid, SIGTERM);
      replace_timer (self, EXIT_GRACE_MSEC, client_exit_overdue);
      return;
    }

  if (self->pid > 0 && !self->linked)
    kill (-self->pid, SIGKILL);
  g_subprocess_force_exit (self->subprocess);
}

static gboolean
client_exit_overdue (gpointer user_data)
{
  PProcess *self = user_data;

  g_clear_pointer (&self->timer, g_source_unref);
  force_exit (self);

  return G_SOURCE_REMOVE;
}

static void
close_channel (PProcess *self)
{
  p_clear_source (&self->input_source);
  p_clear_source (&self->output_source);

  p_frame_queue_clear (&self->outgoing);

  if (!self->channel_closed)
    {
      self->channel_closed = TRUE;
      g_socket_close (self->socket, NULL);
    }
}

static gboolean
exit_grace_expired (gpointer user_data)
{
  PProcess *self = user_data;

  g_clear_pointer (&self->timer, g_source_unref);
  if (self->kill_reason == NULL)
    self->kill_reason = self->truncated
      ? g_error_new (P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                     _("Worker process %d broke the protocol: its channel ended in the middle of a message"),
                     (int) self->pid)
      : g_error_new (P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED,
                     _("Worker process %d closed its channel but did not exit"), (int) self->pid);
  force_exit (self);

  return G_SOURCE_REMOVE;
}

static void
replace_timer (PProcess    *self,
               guint        msec,
               GSourceFunc  func)
{
  p_clear_source (&self->timer);

  if (func != NULL)
    {
      self->timer = g_timeout_source_new (msec);
      g_source_set_callback (self->timer, func, self, NULL);
      g_source_attach (self->timer, g_main_context_get_thread_default ());
    }
}

/* The worker closed its end: it is exiting, or broken. Either way it gets
 * a moment to be reaped by itself, then it is killed. */
static void
channel_ended (PProcess *self)
{
  /* Half a message, then the end: unless a signal explains it, the worker
   * broke the protocol. */
  self->truncated = !p_frame_reader_is_idle (self->reader);
  close_channel (self);
  self->state = P_PROCESS_DEAD;

  if (!self->reaped)
    replace_timer (self, EXIT_GRACE_MSEC, exit_grace_expired);
}

static void
process_frames (PProcess *self)
{
  g_autoptr(GError) error = NULL;
  PMessage *message;

  while (!self->channel_closed &&
         p_frame_reader_pop (self->reader, &message, &error))
    {
      self->callbacks->message (self, message, self->user_data);
      p_message_free (message);
    }

  if (error != NULL && !self->channel_closed)
    p_process_protocol_error (self, error->message);
}

/* Reads what is there; TRUE if the stream may have more right away.
 * @would_block tells whether it has none. */
static gboolean
read_once (PProcess *self,
           gboolean *would_block)
{
  g_autoptr(GError) error = NULL;
  gsize space;
  gssize n_read;

  /* Not through the input stream: descriptors may come along. */
  n_read = p_frame_reader_receive (self->reader, g_socket_get_fd (self->socket), &space, &error);

  if (n_read > 0)
    {
      self->bytes_received += n_read;
      process_frames (self);
      return (gsize) n_read == space && !self->channel_closed;
    }

  if (n_read < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      *would_block = TRUE;
      return FALSE;
    }

  /* End of stream, or an error such as ECONNRESET: the peer is gone. */
  channel_ended (self);
  return FALSE;
}

static void
process_read (PProcess *self)
{
  gboolean would_block = FALSE;

  for (guint i = 0; i < MAX_READS_PER_DISPATCH && read_once (self, &would_block); i++)
    ;

  self->callbacks->read_done (self, self->user_data);
}

static gboolean
on_readable (GSocket      *socket,
             GIOCondition  condition,
             gpointer      user_data)
{
  process_read (user_data);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_writable (GSocket      *socket,
             GIOCondition  condition,
             gpointer      user_data)
{
  PProcess *self = user_data;

  g_clear_pointer (&self->output_source, g_source_unref);
  p_process_flush (self);

  return G_SOURCE_REMOVE;
}

/* After the worker died by itself: the replies it held in its reply area
 * that had not reached the channel, which continue its stream where the
 * channel ended (docs/protocol.md, section 12). Not after the pool killed
 * it: a worker that broke the protocol is not trusted, and a timed-out
 * task's failure must not depend on what its worker held. */
static void
read_reply_area (PProcess *self)
{
  g_autoptr(GError) error = NULL;
  const guint8 *unsent;
  PMessage *message;
  gsize length;

  if (self->reply_area == NULL || self->kill_reason != NULL)
    return;

  unsent = p_reply_area_get_unsent (self->reply_area, P_REPLY_AREA_CAPACITY, self->bytes_received, &length);
  if (unsent == NULL)
    return;

  p_frame_reader_feed (self->reader, unsent, length);
  while (self->kill_reason == NULL && p_frame_reader_pop (self->reader, &message, &error))
    {
      self->callbacks->message (self, message, self->user_data);
      p_message_free (message);
    }

  if (error != NULL && self->kill_reason == NULL)
    p_process_protocol_error (self, error->message);

  self->truncated = !p_frame_reader_is_idle (self->reader);
}

static void
on_wait_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  PProcess *self = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);

  self->reaped = TRUE;
  self->wait_status = p_glib_finish_reaping (&self->pidfd, g_subprocess_get_status (self->subprocess));
  self->state = P_PROCESS_DEAD;
  replace_timer (self, 0, NULL);

  /* What it wrote before it exited still counts, all of it; then what
   * it held back in its reply area. */
  if (!self->channel_closed)
    {
      gboolean would_block = FALSE;

      /* Bounded: a process the worker started may still write to it. */
      for (guint i = 0; i < MAX_READS_AFTER_EXIT && !self->channel_closed && !would_block; i++)
        read_once (self, &would_block);
    }
  close_channel (self);
  read_reply_area (self);
  self->callbacks->read_done (self, self->user_data);

  if (self->truncated && self->kill_reason == NULL && WIFEXITED (self->wait_status))
    self->kill_reason = g_error_new (P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                                     _("Worker process %d broke the protocol: its channel ended in the middle of a message"),
                                     (int) self->pid);

  self->callbacks->exited (self, self->user_data);
}

static gboolean
startup_timed_out (gpointer user_data)
{
  PProcess *self = user_data;

  g_clear_pointer (&self->timer, g_source_unref);
  p_process_kill (self,
                  g_error_new_literal (P_POOL_ERROR, P_POOL_ERROR_WORKER_START,
                                       _("The worker did not announce itself in time")));

  return G_SOURCE_REMOVE;
}

/* The pool's side of a spawned worker: @fd, its end of the channel, and
 * what watches the channel and the process. Takes @subprocess, @fd and
 * @reply_area. */
static PProcess *
adopt (GSubprocess              *subprocess,
       int                       fd,
       PReplyArea               *reply_area,
       const char               *command,
       gsize                     max_message_size,
       guint                     startup_timeout_sec,
       const PProcessCallbacks  *callbacks,
       gpointer                  user_data,
       GError                  **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) local_error = NULL;
  PProcess *self;

  socket = g_socket_new_from_fd (fd, &local_error);
  if (socket == NULL)
    {
      close (fd);
      p_reply_area_unmap (reply_area, P_REPLY_AREA_CAPACITY);
      g_subprocess_force_exit (subprocess);
      g_object_unref (subprocess);
      g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START,
                   _("Could not start worker “%s”: %s"), command, local_error->message);
      return NULL;
    }
  g_socket_set_blocking (socket, FALSE);

  self = g_new0 (PProcess, 1);
  self->callbacks = callbacks;
  self->user_data = user_data;
  self->state = P_PROCESS_STARTING;
  self->subprocess = subprocess;
  /* NULL if it already exited: a worker that dies at once has no pid to
   * show. */
  self->pidfd = -1;
  if (g_subprocess_get_identifier (self->subprocess) != NULL)
    {
      self->pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (self->subprocess), NULL, 10);
      /* Fails (harmlessly) if it was reaped meanwhile. */
      self->pidfd = syscall (SYS_pidfd_open, self->pid, 0);
    }
  self->socket = g_steal_pointer (&socket);
  self->stream = G_IO_STREAM (g_socket_connection_factory_create_connection (self->socket));
  self->reader = p_frame_reader_new (P_DIRECTION_TO_POOL, max_message_size);
  self->reply_area = reply_area;
  p_frame_queue_init (&self->outgoing);

  /* The socket's own source rather than the pollable stream's, which has
   * a child source: it may recurse (it never does), because GLib removes
   * and adds again the descriptors of a source that may not, with two
   * writes to the context's eventfd, every dispatch. */
  self->input_source = g_socket_create_source (self->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (self->input_source, G_SOURCE_FUNC (on_readable), self, NULL);
  g_source_set_can_recurse (self->input_source, TRUE);
  g_source_attach (self->input_source, g_main_context_get_thread_default ());

  g_subprocess_wait_async (self->subprocess, NULL, on_wait_done, self);

  if (startup_timeout_sec > 0)
    replace_timer (self, startup_timeout_sec * 1000, startup_timed_out);

  return self;
}

/* The two ends of a worker's channel: fds[0] the pool's, fds[1] the
 * worker's (or its client's). */
static gboolean
open_channel (const char  *program,
              int          fds[2],
              GError     **error)
{
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START,
                   _("Could not create a channel for worker “%s”: %s"),
                   program, g_strerror (saved_errno));
      return FALSE;
    }

  return TRUE;
}

PProcess *
p_process_spawn (const char * const      *argv,
                 const char * const      *env,
                 gsize                    max_message_size,
                 guint                    startup_timeout_sec,
                 const PProcessCallbacks *callbacks,
                 gpointer                 user_data,
                 GError                 **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) subprocess = NULL;
  g_autofree char *channel = NULL;
  g_autoptr(GError) local_error = NULL;
  PReplyArea *reply_area;
  int reply_area_fd = -1;
  int fds[2];

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);

  if (!open_channel (argv[0], fds, error))
    return NULL;

  /* The child blocks on its channel; the pool never does. */
  g_unix_set_fd_nonblocking (fds[0], TRUE, NULL);
  g_unix_set_fd_nonblocking (fds[1], FALSE, NULL);

  channel = g_strdup_printf ("%d:%d:%" G_GSIZE_FORMAT, P_CHANNEL_FD, (int) getpid (), max_message_size);

  /* Without it, the worker sends each reply at once: slower, no worse. */
  reply_area = p_reply_area_new (P_REPLY_AREA_CAPACITY, &reply_area_fd, &local_error);
  if (reply_area == NULL)
    {
      g_debug ("No reply area for worker “%s”: %s", argv[0], local_error->message);
      g_clear_error (&local_error);
    }

  /* stdin is /dev/null, stdout and stderr are inherited; every other
   * descriptor but the channel is closed in the child. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_take_fd (launcher, fds[1], P_CHANNEL_FD);
  g_subprocess_launcher_setenv (launcher, P_CHANNEL_ENV, channel, TRUE);
  /* It may send large values sealed: this side takes them. */
  g_subprocess_launcher_setenv (launcher, P_SEALED_ENV, "1", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, GINT_TO_POINTER (getpid ()), NULL);
  /* What the pool tells every worker beside its channel ("NAME=VALUE"). */
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      g_auto(GStrv) pair = g_strsplit (env[i], "=", 2);

      g_assert (pair[0] != NULL && pair[1] != NULL);
      g_subprocess_launcher_setenv (launcher, pair[0], pair[1], TRUE);
    }
  if (reply_area != NULL)
    {
      g_autofree char *area = g_strdup_printf ("%d:%" G_GSIZE_FORMAT, P_REPLY_AREA_FD, P_REPLY_AREA_CAPACITY);

      g_subprocess_launcher_take_fd (launcher, reply_area_fd, P_REPLY_AREA_FD);
      g_subprocess_launcher_setenv (launcher, P_REPLY_AREA_ENV, area, TRUE);
    }

  subprocess = g_subprocess_launcher_spawnv (launcher, argv, &local_error);
  /* Closes the child's end in this process. */
  g_clear_object (&launcher);

  if (subprocess == NULL)
    {
      close (fds[0]);
      p_reply_area_unmap (reply_area, P_REPLY_AREA_CAPACITY);
      g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START,
                   _("Could not start worker “%s”: %s"), argv[0], local_error->message);
      return NULL;
    }

  return adopt (g_steal_pointer (&subprocess), fds[0], reply_area, argv[0], max_message_size,
                startup_timeout_sec, callbacks, user_data, error);
}

/* A worker started through a launcher's client, such as ssh or srun:
 * its channel is the client's standard input and output, where no
 * descriptor passes and no memory is shared; its standard error is a
 * pipe (p_process_get_client_stderr()), which the launcher reads. */
PProcess *
p_process_spawn_linked (const char * const      *argv,
                        gsize                    max_message_size,
                        guint                    startup_timeout_sec,
                        const PProcessCallbacks *callbacks,
                        gpointer                 user_data,
                        GError                 **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) subprocess = NULL;
  g_autoptr(GError) local_error = NULL;
  PProcess *self;
  int fds[2];

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);

  if (!open_channel (argv[0], fds, error))
    return NULL;

  g_unix_set_fd_nonblocking (fds[0], TRUE, NULL);

  /* Every other descriptor is closed in the child; the pool's
   * environment is the client's own (ssh's agent, Slurm's allocation). */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_take_stdout_fd (launcher, fcntl (fds[1], F_DUPFD_CLOEXEC, 3));
  g_subprocess_launcher_take_stdin_fd (launcher, fds[1]);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, GINT_TO_POINTER (getpid ()), NULL);

  subprocess = g_subprocess_launcher_spawnv (launcher, argv, &local_error);
  g_clear_object (&launcher);

  if (subprocess == NULL)
    {
      close (fds[0]);
      g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START,
                   _("Could not start “%s”: %s"), argv[0], local_error->message);
      return NULL;
    }

  self = adopt (g_steal_pointer (&subprocess), fds[0], NULL, argv[0], max_message_size,
                startup_timeout_sec, callbacks, user_data, error);
  if (self != NULL)
    self->linked = TRUE;

  return self;
}

/* The client's standard error, for a worker from p_process_spawn_linked(). */
GInputStream *
p_process_get_client_stderr (PProcess *self)
{
  g_assert (self->linked);

  return g_subprocess_get_stderr_pipe (self->subprocess);
}

void
p_process_set_ready (PProcess *self)
{
  g_assert (!self->announced);

  /* It may have been told to close before it was ready. */
  if (self->state == P_PROCESS_STARTING)
    self->state = P_PROCESS_READY;
  self->announced = TRUE;
  replace_timer (self, 0, NULL);
}

/* Writes @vectors, @fd along their first byte, without blocking. */
static GPollableReturn
send_with_fd (GSocket        *socket,
              GOutputVector  *vectors,
              gsize           n_vectors,
              int             fd,
              gsize          *written,
              GError        **error)
{
  g_autoptr(GSocketControlMessage) message = p_fd_message_new (fd, error);
  g_autoptr(GError) local_error = NULL;
  gssize n;

  if (message == NULL)
    return G_POLLABLE_RETURN_FAILED;

  n = g_socket_send_message (socket, NULL, vectors, n_vectors, &message, 1, 0, NULL, &local_error);
  if (n >= 0)
    {
      *written = n;
      return G_POLLABLE_RETURN_OK;
    }

  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return G_POLLABLE_RETURN_WOULD_BLOCK;

  g_propagate_error (error, g_steal_pointer (&local_error));
  return G_POLLABLE_RETURN_FAILED;
}

/* Queues @frame for p_process_flush(). */
void
p_process_send (PProcess *self,
                PFrame   *frame)
{
  if (self->channel_closed || self->output_failed)
    return;

  p_frame_queue_push (&self->outgoing, frame);
}

/* Writes as much as the socket takes, many frames per system call. */
void
p_process_flush (PProcess *self)
{
  GPollableOutputStream *output;

  if (self->channel_closed || self->output_failed || self->output_source != NULL)
    return;

  output = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (self->stream));

  while (!p_frame_queue_is_empty (&self->outgoing))
    {
      g_autoptr(GError) error = NULL;
      GOutputVector vectors[MAX_WRITE_VECTORS];
      gsize n_vectors = p_frame_queue_peek (&self->outgoing, vectors, MAX_WRITE_VECTORS);
      int fd = p_frame_queue_peek_fd (&self->outgoing);
      gsize written = 0;
      GPollableReturn ret;

      if (fd < 0)
        ret = g_pollable_output_stream_writev_nonblocking (output, vectors, n_vectors, &written, NULL, &error);
      else
        ret = send_with_fd (self->socket, vectors, n_vectors, fd, &written, &error);

      if (ret == G_POLLABLE_RETURN_WOULD_BLOCK)
        {
          self->output_source = g_socket_create_source (self->socket, G_IO_OUT | G_IO_HUP | G_IO_ERR, NULL);
          g_source_set_callback (self->output_source, G_SOURCE_FUNC (on_writable), self, NULL);
          g_source_set_can_recurse (self->output_source, TRUE);
          g_source_attach (self->output_source, g_main_context_get_thread_default ());
          return;
        }

      if (ret == G_POLLABLE_RETURN_FAILED)
        {
          /* EPIPE and friends: the worker is gone. What it wrote before
           * is still to be read, up to the end of the stream, which then
           * comes; so the channel stays open. */
          self->output_failed = TRUE;
          self->state = P_PROCESS_DEAD;
          p_frame_queue_clear (&self->outgoing);
          p_frame_queue_init (&self->outgoing);
          if (!self->reaped)
            replace_timer (self, EXIT_GRACE_MSEC, exit_grace_expired);
          return;
        }

      p_frame_queue_advance (&self->outgoing, written);
    }

  if (self->shutdown_when_flushed)
    {
      self->shutdown_when_flushed = FALSE;
      g_socket_shutdown (self->socket, FALSE, TRUE, NULL);
    }
}

/* Asks the worker to exit once it has finished what it was sent: the end
 * of its input stream is the signal. */
void
p_process_close (PProcess *self)
{
  if (self->state == P_PROCESS_DEAD || self->state == P_PROCESS_CLOSING)
    return;

  self->state = P_PROCESS_CLOSING;
  self->shutdown_when_flushed = TRUE;
  p_process_flush (self);
}

/* Kills the worker; the first reason given is the one reported. */
void
p_process_kill (PProcess *self,
                GError   *reason)
{
  if (self->kill_reason == NULL)
    self->kill_reason = reason;
  else if (reason != NULL)
    g_error_free (reason);

  self->state = P_PROCESS_DEAD;
  close_channel (self);

  /* A remote worker's link is its life: it stops at once, with what its
   * tasks started, when its link ends (docs/protocol.md, section 15), and
   * its client exits after it. The client is made to only if it lingers. */
  if (self->linked && !self->reaped)
    {
      if (!self->client_asked_to_exit)
        replace_timer (self, EXIT_GRACE_MSEC, exit_grace_expired);
      return;
    }

  replace_timer (self, 0, NULL);
  force_exit (self);
}

/* The worker sent something it must not: it is killed, and the task it
 * was running fails with P_POOL_ERROR_PROTOCOL. */
void
p_process_protocol_error (PProcess   *self,
                          const char *message)
{
  /* Reported as the tasks' error; a warning would be for our own bugs. */
  g_debug ("Worker process %d broke the protocol: %s", (int) self->pid, message);
  p_process_kill (self, g_error_new (P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                                     _("Worker process %d broke the protocol: %s"),
                                     (int) self->pid, message));
}

char *
p_process_describe_exit (PProcess *self)
{
  if (self->pid == 0 && WIFSIGNALED (self->wait_status))
    /* Translators: a signal's number and its description, such as “Killed”. */
    return g_strdup_printf (_("A worker process was killed by signal %d (%s)"),
                            WTERMSIG (self->wait_status), g_strsignal (WTERMSIG (self->wait_status)));

  if (self->pid == 0 && WIFEXITED (self->wait_status))
    return g_strdup_printf (_("A worker process exited with status %d"),
                            WEXITSTATUS (self->wait_status));

  if (WIFSIGNALED (self->wait_status))
    /* Translators: a process id, a signal's number and its description,
     * such as “Killed”. */
    return g_strdup_printf (_("Worker process %d was killed by signal %d (%s)"),
                            (int) self->pid, WTERMSIG (self->wait_status),
                            g_strsignal (WTERMSIG (self->wait_status)));

  if (WIFEXITED (self->wait_status))
    return g_strdup_printf (_("Worker process %d exited with status %d"),
                            (int) self->pid, WEXITSTATUS (self->wait_status));

  /* Translators: a process id, and the status waitpid() gave. */
  return g_strdup_printf (_("Worker process %d ended with wait status %d"),
                          (int) self->pid, self->wait_status);
}

void
p_process_free (PProcess *self)
{
  if (self == NULL)
    return;

  g_assert (self->reaped);

  close_channel (self);
  replace_timer (self, 0, NULL);
  if (self->pidfd >= 0)
    close (self->pidfd);
  g_clear_error (&self->kill_reason);
  g_clear_object (&self->stream);
  g_clear_object (&self->socket);
  g_clear_object (&self->subprocess);
  p_frame_reader_free (self->reader);
  p_reply_area_unmap (self->reply_area, P_REPLY_AREA_CAPACITY);
  g_free (self);
}
