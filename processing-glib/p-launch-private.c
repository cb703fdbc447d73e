/* p-launch-private.c: how a pool with a launcher starts its workers, and
 * where
 *
 * A worker started through a launcher is a local client process (ssh,
 * srun) whose standard input and output are the pool's end of the
 * channel (p_process_spawn_linked()); the worker itself runs on the
 * remote side and learns of its channel from its command line
 * (docs/protocol.md, section 15). This room decides:
 *
 *   - where each worker runs: the pool has as many seats as workers,
 *     spread over the hosts as their N say; a worker takes a free seat,
 *     so a replacement takes the seat, and the host, of the one it
 *     replaces;
 *   - the client's command line, with everything the worker must know
 *     on it (ssh passes no environment on);
 *   - what each client says on its standard error: passed on to this
 *     process's standard error (what the worker's tasks print arrives
 *     there), and the last of it kept for the errors;
 *   - for ssh, the connections that the workers on a host share
 *     (OpenSSH's ControlMaster): one per MAX_SESSIONS_PER_CONNECTION
 *     seats, made before the first workers start and kept by the pool
 *     until its end, their sockets in a directory of its own.
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
#include <sys/uio.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <glib-unix.h>
#include <gio/gunixinputstream.h>

#include "p-launch-private.h"
#include "p-error.h"
#include "p-i18n-private.h"
#include "p-launcher-private.h"
#include "p-protocol-private.h"
#include "p-scheduler-private.h"
#include "p-worker-link-private.h"

/* Within sshd's default MaxSessions (10), with room for workers that
 * retire while their replacements start. */
#define MAX_SESSIONS_PER_CONNECTION 8
/* How long the constructor waits for the hosts' connections; ssh itself
 * gives up sooner on a host that does not answer (ConnectTimeout). */
#define CONNECT_TIMEOUT_SEC 30
#define CONNECT_POLL_MSEC 5
/* What is kept of a client's standard error, for the errors. */
#define OUTPUT_TAIL_MAX 4096
/* A socket's path must fit in sockaddr_un. */
#define MAX_CONTROL_PATH 100

/* The options every ssh client gets, after the caller's (the first value
 * given wins in ssh): no questions (stdin is the channel), a host that
 * does not answer is given up within seconds, a link that dies unseen is
 * found within half a minute, and no escape character in the stream. */
static const char * const ssh_options[] = {
  "-T", "-e", "none",
  "-o", "BatchMode=yes",
  "-o", "ConnectTimeout=10",
  "-o", "ServerAliveInterval=10",
  "-o", "ServerAliveCountMax=3",
  NULL
};

/* {{{ What a client says on its standard error
 *
 * A worker's client says what the worker's tasks print (its standard
 * output and error both go there), so it is passed on to this process's
 * standard error, as a local worker's would be. Never with a write that
 * blocks: the pool's thread serves every worker. When this process's
 * standard error takes no more for now, the client's waits unread, and
 * the client and its worker wait with it, as a local worker would in
 * write(). */

typedef struct
{
  GInputStream *stream;    /* the pipe; owns the descriptor */
  int fd;
  GSource *source;         /* while reading */
  GString *tail;           /* the last of it, for the errors */
  int forward_fd;          /* where it is passed on (see open_forward()), or -1 */
  GByteArray *pending;     /* read, not yet passed on */
  GSource *pending_source; /* while waiting for room to pass it on */
  gboolean ended;
} ClientOutput;

/* This process's standard error, opened anew to be written without
 * blocking; O_NONBLOCK on descriptor 2 itself would change it for the
 * whole program. A socket (the journal's) cannot be opened anew, but
 * send() takes MSG_DONTWAIT. -1 when there is none. */
static int
open_forward (void)
{
  int flags = fcntl (STDERR_FILENO, F_GETFL);
  int fd;

  if (flags < 0)
    return -1;

  fd = open ("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC | (flags & O_APPEND));
  if (fd < 0)
    fd = fcntl (STDERR_FILENO, F_DUPFD_CLOEXEC, 3);

  return fd;
}

/* As write() without blocking: how much was taken, -1 with errno. */
static gssize
forward_write (int         fd,
               const void *data,
               gsize       length)
{
  gssize n = send (fd, data, length, MSG_DONTWAIT | MSG_NOSIGNAL);

  if (n < 0 && errno == ENOTSOCK)
    {
      struct iovec vector = { (void *) data, length };

      /* A reader gone is not this process's death. */
      n = p_writev_without_sigpipe (fd, &vector, 1);
    }

  return n;
}

static void
client_output_init (ClientOutput *output,
                    GInputStream *stream,
                    int           forward_fd)
{
  output->stream = g_object_ref (stream);
  output->fd = g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (stream));
  output->tail = g_string_new (NULL);
  output->forward_fd = forward_fd;
  output->pending = g_byte_array_new ();
  g_unix_set_fd_nonblocking (output->fd, TRUE, NULL);
}

static void
client_output_clear (ClientOutput *output)
{
  /* A last try for what waits; then it is lost. */
  if (output->pending != NULL && output->pending->len > 0 && output->forward_fd >= 0)
    forward_write (output->forward_fd, output->pending->data, output->pending->len);

  p_clear_source (&output->source);
  p_clear_source (&output->pending_source);
  g_clear_object (&output->stream);
  g_clear_pointer (&output->pending, g_byte_array_unref);
  if (output->tail != NULL)
    g_string_free (g_steal_pointer (&output->tail), TRUE);
}

static void client_output_watch (ClientOutput *output);

/* Passes on what waits; TRUE when nothing does any more. */
static gboolean
client_output_forward (ClientOutput *output)
{
  while (output->pending->len > 0)
    {
      gssize n = forward_write (output->forward_fd, output->pending->data, output->pending->len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return FALSE;
      /* Nowhere to say it. */
      if (n <= 0)
        n = output->pending->len;

      g_byte_array_remove_range (output->pending, 0, n);
    }

  return TRUE;
}

static gboolean
on_forward_room (gint          fd,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  ClientOutput *output = user_data;

  if (!client_output_forward (output))
    return G_SOURCE_CONTINUE;

  g_clear_pointer (&output->pending_source, g_source_unref);
  client_output_watch (output);

  return G_SOURCE_REMOVE;
}

/* Reads what is there, and passes it on; FALSE when reading stops: at
 * the end, or until there is room to pass it on. */
static gboolean
client_output_read (ClientOutput *output)
{
  char buffer[16384];

  while (!output->ended)
    {
      gssize n = read (output->fd, buffer, sizeof buffer);

      if (n < 0 && errno == EINTR)
        continue;

      if (n < 0 && errno == EAGAIN)
        return TRUE;

      if (n <= 0)
        {
          output->ended = TRUE;
          break;
        }

      g_string_append_len (output->tail, buffer, n);
      if (output->tail->len > OUTPUT_TAIL_MAX)
        g_string_erase (output->tail, 0, output->tail->len - OUTPUT_TAIL_MAX);

      if (output->forward_fd < 0)
        continue;

      g_byte_array_append (output->pending, (const guint8 *) buffer, n);
      if (!client_output_forward (output))
        {
          if (output->pending_source == NULL)
            {
              output->pending_source = g_unix_fd_source_new (output->forward_fd, G_IO_OUT | G_IO_ERR);
              g_source_set_callback (output->pending_source, G_SOURCE_FUNC (on_forward_room), output, NULL);
              g_source_attach (output->pending_source, g_main_context_get_thread_default ());
            }
          break;
        }
    }

  p_clear_source (&output->source);
  return FALSE;
}

static gboolean
on_client_output (gint          fd,
                  GIOCondition  condition,
                  gpointer      user_data)
{
  ClientOutput *output = user_data;

  if (client_output_read (output))
    return G_SOURCE_CONTINUE;

  /* client_output_read() dropped the source: this is its last call. */
  return G_SOURCE_REMOVE;
}

static void
client_output_watch (ClientOutput *output)
{
  if (output->ended || output->source != NULL || output->pending_source != NULL)
    return;

  output->source = g_unix_fd_source_new (output->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
  g_source_set_callback (output->source, G_SOURCE_FUNC (on_client_output), output, NULL);
  g_source_attach (output->source, g_main_context_get_thread_default ());
}

/* What is left to read, for the tail alone: the client is gone. */
static void
client_output_drain (ClientOutput *output)
{
  int forward_fd = output->forward_fd;

  if (output->pending_source != NULL)
    output->forward_fd = -1;
  client_output_read (output);
  output->forward_fd = forward_fd;
}

/* What the client said, for an error message: its last lines, at most
 * @max_lines of them, as valid UTF-8 without the final line break; NULL
 * if nothing. With @prefix, only the lines that start with it. */
static char *
client_output_describe (ClientOutput *output,
                        guint         max_lines,
                        const char   *prefix)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GPtrArray) kept = g_ptr_array_new ();
  guint n_lines;

  client_output_drain (output);

  text = g_utf8_make_valid (output->tail->str, output->tail->len);
  g_strstrip (text);
  if (text[0] == '\0')
    return NULL;

  lines = g_strsplit (text, "\n", -1);
  n_lines = g_strv_length (lines);
  /* The first may be cut short. */
  for (guint i = output->tail->len >= OUTPUT_TAIL_MAX && n_lines > 1 ? 1 : 0; i < n_lines; i++)
    {
      g_strstrip (lines[i]);
      if (lines[i][0] != '\0' && (prefix == NULL || g_str_has_prefix (lines[i], prefix)))
        g_ptr_array_add (kept, lines[i]);
    }

  if (kept->len == 0)
    return NULL;

  if (kept->len > max_lines)
    g_ptr_array_remove_range (kept, 0, kept->len - max_lines);
  g_ptr_array_add (kept, NULL);

  return g_strjoinv ("\n", (char **) kept->pdata);
}

/* }}} */
/* {{{ Hosts, seats, connections */

typedef enum
{
  CONNECTION_CONNECTING,
  CONNECTION_READY,
  CONNECTION_GONE,
} ConnectionState;

/* An ssh connection that the workers on a host share: a client with
 * ControlMaster=yes, of the pool's own, until the pool ends. */
typedef struct
{
  PLaunch *launch;
  guint host;
  char *control_path;
  GSubprocess *subprocess;
  ClientOutput output;
  ConnectionState state;
  gboolean reaped;
} Connection;

typedef struct
{
  char *destination;       /* "host" or "user@host", as ssh takes it */
  guint n_workers;         /* its N */
  GPtrArray *connections;  /* Connection *, one per MAX_SESSIONS_PER_CONNECTION seats there */
} Host;

typedef struct
{
  guint host;
  guint connection;        /* on that host */
} Seat;

/* A worker the launcher started. */
typedef struct
{
  guint seat;
  ClientOutput output;
} Launched;

struct _PLaunch
{
  PLauncherConfig *config;
  char *client_name;       /* "ssh", "srun": the client's file name */
  GPtrArray *hosts;        /* Host *, for ssh */
  GArray *seats;           /* Seat, as many as workers */
  GHashTable *launched;    /* PProcess * → Launched * */

  /* The pool thread's, from p_launch_connect(). */
  PCore *core;
  int forward_fd;          /* this process's standard error (see open_forward()) */
  char *control_dir;       /* the sockets of shared connections, or NULL */
  gboolean stopping;
};

static void
launched_free (gpointer data)
{
  Launched *launched = data;

  client_output_clear (&launched->output);
  g_free (launched);
}

static void
connection_free (gpointer data)
{
  Connection *connection = data;

  g_assert (connection->subprocess == NULL || connection->reaped);

  client_output_clear (&connection->output);
  g_clear_object (&connection->subprocess);
  g_free (connection->control_path);
  g_free (connection);
}

static void
host_free (gpointer data)
{
  Host *host = data;

  g_free (host->destination);
  g_clear_pointer (&host->connections, g_ptr_array_unref);
  g_free (host);
}

/* "host", "user@host" or "N/host". */
static Host *
parse_host (const char  *text,
            GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  const char *slash = strchr (text, '/');
  const char *destination = slash != NULL ? slash + 1 : text;
  guint64 n = 1;
  Host *host;

  if (slash != NULL)
    {
      g_autofree char *number = g_strndup (text, slash - text);

      if (!g_ascii_string_to_unsigned (number, 10, 1, 1024, &n, &local_error))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("The number of workers in “%s” is not one from 1 to 1024"), text);
          return NULL;
        }
    }

  /* Not an option of ssh's, nor words for its command line. */
  if (destination[0] == '\0' || destination[0] == '-' || destination[0] == '@' ||
      strpbrk (destination, " \t\n\r/") != NULL || !g_utf8_validate (destination, -1, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not a host to start workers on"), text);
      return NULL;
    }

  host = g_new0 (Host, 1);
  host->destination = g_strdup (destination);
  host->n_workers = n;
  host->connections = g_ptr_array_new_with_free_func (connection_free);

  return host;
}

/* The seats, spread over the hosts as their N say: round after round,
 * each host with that many seats left gets one ("2/a", "1/b": a, b, a),
 * so that a pool smaller or larger than the sum of the N shares them out
 * in proportion. */
static void
make_ssh_seats (PLaunch *self,
                guint    n_processes)
{
  g_autoptr(GArray) cycle = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree guint *per_host = g_new0 (guint, self->hosts->len);
  guint max_n = 0;

  for (guint h = 0; h < self->hosts->len; h++)
    max_n = MAX (max_n, ((Host *) self->hosts->pdata[h])->n_workers);

  for (guint round = 0; round < max_n; round++)
    for (guint h = 0; h < self->hosts->len; h++)
      if (round < ((Host *) self->hosts->pdata[h])->n_workers)
        g_array_append_val (cycle, h);

  for (guint i = 0; i < n_processes; i++)
    {
      guint h = g_array_index (cycle, guint, i % cycle->len);
      Seat seat = { h, per_host[h]++ / MAX_SESSIONS_PER_CONNECTION };

      g_array_append_val (self->seats, seat);
    }
}

/* The number of workers of a Slurm allocation. */
static gboolean
slurm_ntasks (guint   *n_processes,
              GError **error)
{
  const char *ntasks = g_getenv ("SLURM_NTASKS");
  guint64 n;

  if (ntasks == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("How many workers to start with srun? Outside a Slurm allocation "
                             "(SLURM_NTASKS is not set), the number of processes must be given"));
      return FALSE;
    }

  if (!g_ascii_string_to_unsigned (ntasks, 10, 1, 1024, &n, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("SLURM_NTASKS is “%s”, not a number of workers from 1 to 1024"), ntasks);
      return FALSE;
    }

  *n_processes = n;
  return TRUE;
}

/* Checks @launcher's settings and seats the workers: @processes of them,
 * or as many as the launcher says when 0 (@n_processes tells). */
PLaunch *
p_launch_new (PLauncher  *launcher,
              guint       processes,
              guint      *n_processes,
              GError    **error)
{
  PLaunch *self = g_new0 (PLaunch, 1);

  self->config = p_launcher_dup_config (launcher);
  self->client_name = g_path_get_basename (self->config->command[0]);
  self->hosts = g_ptr_array_new_with_free_func (host_free);
  self->seats = g_array_new (FALSE, FALSE, sizeof (Seat));
  self->launched = g_hash_table_new_full (NULL, NULL, NULL, launched_free);
  self->forward_fd = -1;

  if (self->config->kind == P_LAUNCHER_SSH)
    {
      guint sum = 0;

      for (guint i = 0; self->config->hosts[i] != NULL; i++)
        {
          Host *host = parse_host (self->config->hosts[i], error);

          if (host == NULL)
            goto failed;
          g_ptr_array_add (self->hosts, host);
          sum += host->n_workers;
        }

      if (self->hosts->len == 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("The launcher has no host to start workers on"));
          goto failed;
        }

      if (processes == 0 && sum > 1024)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("The hosts take %u workers, more than 1024"), sum);
          goto failed;
        }

      *n_processes = processes != 0 ? processes : sum;
      make_ssh_seats (self, *n_processes);
    }
  else
    {
      if (processes == 0 && !slurm_ntasks (&processes, error))
        goto failed;

      *n_processes = processes;
      g_array_set_size (self->seats, processes);
    }

  return self;

failed:
  p_launch_free (self);
  return NULL;
}

void
p_launch_free (PLaunch *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->launched, g_hash_table_unref);
  g_clear_pointer (&self->hosts, g_ptr_array_unref);
  if (self->forward_fd >= 0)
    close (self->forward_fd);
  g_clear_pointer (&self->seats, g_array_unref);
  g_clear_pointer (&self->control_dir, g_free);
  g_clear_pointer (&self->client_name, g_free);
  p_launcher_config_free (self->config);
  g_free (self);
}

/* }}} */
/* {{{ Connections shared by a host's workers (ssh) */

/* Runs in the child between fork and exec: as for workers (see
 * p-process-private.c), it dies with the pool's thread. */
static void
connection_child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != GPOINTER_TO_INT (user_data))
    _exit (127);
  setpgid (0, 0);
}

static void
on_connection_exited (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Connection *connection = user_data;
  PLaunch *self = connection->launch;

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  connection->reaped = TRUE;
  connection->state = CONNECTION_GONE;
  client_output_drain (&connection->output);
  /* Gone with SIGKILL, it left its socket. */
  g_unlink (connection->control_path);

  g_debug ("The connection to “%s” ended: %s", ((Host *) self->hosts->pdata[connection->host])->destination,
           connection->output.tail->str);

  if (self->stopping)
    p_core_check_finished (self->core);
}

/* Its socket appears once it is connected. */
static void
connection_update (Connection *connection)
{
  if (connection->state != CONNECTION_CONNECTING)
    return;

  if (g_file_test (connection->control_path, G_FILE_TEST_EXISTS))
    connection->state = CONNECTION_READY;
  else if (connection->output.ended || connection->reaped)
    connection->state = CONNECTION_GONE;
}

/* Starts the connection for @seat; FALSE if it could not even be
 * spawned (the client is missing). Its end is watched at once when
 * @watch, else after p_launch_connect() waited for it. */
static gboolean
connection_start (PLaunch  *self,
                  Seat     *seat,
                  gboolean  watch,
                  GError  **error)
{
  Host *host = self->hosts->pdata[seat->host];
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) local_error = NULL;
  Connection *connection;

  while (host->connections->len <= seat->connection)
    g_ptr_array_add (host->connections, NULL);

  connection = g_new0 (Connection, 1);
  connection->launch = self;
  connection->host = seat->host;
  connection->control_path = g_strdup_printf ("%s/%u-%u", self->control_dir, seat->host, seat->connection);
  connection->state = CONNECTION_CONNECTING;
  g_unlink (connection->control_path);

  for (guint i = 0; self->config->command[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (self->config->command[i]));
  for (guint i = 0; ssh_options[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (ssh_options[i]));
  g_ptr_array_add (argv, g_strdup ("-N"));
  g_ptr_array_add (argv, g_strdup ("-o"));
  g_ptr_array_add (argv, g_strdup ("ControlMaster=yes"));
  g_ptr_array_add (argv, g_strdup ("-o"));
  g_ptr_array_add (argv, g_strdup ("ControlPersist=no"));
  g_ptr_array_add (argv, g_strdup ("-o"));
  g_ptr_array_add (argv, g_strdup_printf ("ControlPath=%s", connection->control_path));
  g_ptr_array_add (argv, g_strdup ("--"));
  g_ptr_array_add (argv, g_strdup (host->destination));
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, connection_child_setup, GINT_TO_POINTER (getpid ()), NULL);
  connection->subprocess = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &local_error);
  if (connection->subprocess == NULL)
    {
      g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START,
                   _("Could not start “%s”: %s"), self->config->command[0], local_error->message);
      connection_free (connection);
      return FALSE;
    }

  /* What it says is for the errors alone. */
  client_output_init (&connection->output, g_subprocess_get_stderr_pipe (connection->subprocess), -1);
  g_clear_pointer (&host->connections->pdata[seat->connection], connection_free);
  host->connections->pdata[seat->connection] = connection;

  if (watch)
    {
      client_output_watch (&connection->output);
      g_subprocess_wait_async (connection->subprocess, NULL, on_connection_exited, connection);
    }

  return TRUE;
}

static Connection *
seat_connection (PLaunch *self,
                 Seat    *seat)
{
  Host *host = self->hosts->pdata[seat->host];

  return seat->connection < host->connections->len ? host->connections->pdata[seat->connection] : NULL;
}

static GError *
connection_failure (PLaunch    *self,
                    Connection *connection)
{
  Host *host = self->hosts->pdata[connection->host];
  g_autofree char *said = client_output_describe (&connection->output, 4, NULL);

  if (connection->state == CONNECTION_CONNECTING)
    return g_error_new (P_POOL_ERROR, P_POOL_ERROR_WORKER_START,
                        _("%s did not connect to “%s” within %u s"),
                        self->client_name, host->destination, CONNECT_TIMEOUT_SEC);

  if (said != NULL)
    return g_error_new (P_POOL_ERROR, P_POOL_ERROR_WORKER_START,
                        _("Could not connect to “%s”: %s"), host->destination, said);

  return g_error_new (P_POOL_ERROR, P_POOL_ERROR_WORKER_START,
                      _("Could not connect to “%s”: %s exited"), host->destination, self->client_name);
}

/* On the pool's thread, before the first workers start: with ssh, one
 * connection per host (per MAX_SESSIONS_PER_CONNECTION seats there),
 * made at the same time, waited for. Fails with the client's message if
 * one cannot be made. */
gboolean
p_launch_connect (PLaunch  *self,
                  PCore    *core,
                  GError  **error)
{
  g_autoptr(GError) local_error = NULL;
  gint64 deadline = g_get_monotonic_time () + CONNECT_TIMEOUT_SEC * G_USEC_PER_SEC;
  g_autoptr(GPtrArray) connections = g_ptr_array_new ();
  GError *failure = NULL;

  self->core = core;
  self->forward_fd = open_forward ();

  if (self->config->kind != P_LAUNCHER_SSH || !self->config->reuse_connections)
    return TRUE;

  self->control_dir = g_dir_make_tmp ("processing-glib-XXXXXX", &local_error);
  if (self->control_dir == NULL || strlen (self->control_dir) + 16 > MAX_CONTROL_PATH)
    {
      g_debug ("Workers do not share connections: %s",
               local_error ? local_error->message : "the directory's path is too long for a socket");
      if (self->control_dir != NULL)
        g_rmdir (self->control_dir);
      g_clear_pointer (&self->control_dir, g_free);
      return TRUE;
    }

  for (guint i = 0; i < self->seats->len; i++)
    {
      Seat *seat = &g_array_index (self->seats, Seat, i);

      if (seat_connection (self, seat) != NULL)
        continue;
      if (!connection_start (self, seat, FALSE, error))
        return FALSE;
      g_ptr_array_add (connections, seat_connection (self, seat));
    }

  /* Here, not in the pool's context: it runs no one else yet. */
  for (;;)
    {
      g_autofree GPollFD *fds = g_new0 (GPollFD, connections->len);
      guint n_fds = 0;

      for (guint i = 0; i < connections->len; i++)
        {
          Connection *connection = connections->pdata[i];

          connection_update (connection);
          if (connection->state == CONNECTION_GONE && failure == NULL)
            failure = connection_failure (self, connection);
          if (connection->state == CONNECTION_CONNECTING)
            fds[n_fds++] = (GPollFD) { connection->output.fd, G_IO_IN | G_IO_HUP | G_IO_ERR, 0 };
        }

      if (n_fds == 0 || failure != NULL)
        break;

      if (g_get_monotonic_time () >= deadline)
        {
          for (guint i = 0; i < connections->len && failure == NULL; i++)
            if (((Connection *) connections->pdata[i])->state == CONNECTION_CONNECTING)
              failure = connection_failure (self, connections->pdata[i]);
          break;
        }

      g_poll (fds, n_fds, CONNECT_POLL_MSEC);
      for (guint i = 0; i < connections->len; i++)
        {
          Connection *connection = connections->pdata[i];

          if (connection->state == CONNECTION_CONNECTING)
            client_output_read (&connection->output);
        }
    }

  for (guint i = 0; i < connections->len; i++)
    {
      Connection *connection = connections->pdata[i];

      client_output_watch (&connection->output);
      g_subprocess_wait_async (connection->subprocess, NULL, on_connection_exited, connection);
    }

  if (failure != NULL)
    {
      g_propagate_error (error, failure);
      return FALSE;
    }

  return TRUE;
}

/* At the pool's end, once its workers are gone: the connections end.
 * TRUE once they have, and their directory is removed. */
gboolean
p_launch_stop (PLaunch *self)
{
  gboolean stopped = TRUE;

  self->stopping = TRUE;

  for (guint h = 0; h < self->hosts->len; h++)
    {
      Host *host = self->hosts->pdata[h];

      for (guint i = 0; i < host->connections->len; i++)
        {
          Connection *connection = host->connections->pdata[i];

          if (connection == NULL || connection->reaped)
            continue;

          /* The workers that used it are gone: nothing to wait for. */
          g_subprocess_force_exit (connection->subprocess);
          stopped = FALSE;
        }
    }

  if (stopped && self->control_dir != NULL)
    {
      g_rmdir (self->control_dir);
      g_clear_pointer (&self->control_dir, g_free);
    }

  return stopped;
}

/* }}} */
/* {{{ Starting a worker */

/* The first seat no live worker takes: the one a worker that died or
 * retires left, so that its replacement runs on the same host. */
static gboolean
find_free_seat (PLaunch *self,
                PCore   *core,
                guint   *seat)
{
  g_autofree gboolean *taken = g_new0 (gboolean, self->seats->len);

  for (guint i = 0; i < core->workers->len; i++)
    {
      PWorkerSlot *slot = g_ptr_array_index (core->workers, i);
      Launched *launched = g_hash_table_lookup (self->launched, slot->process);

      if (launched != NULL &&
          (slot->process->state == P_PROCESS_STARTING || slot->process->state == P_PROCESS_READY))
        taken[launched->seat] = TRUE;
    }

  for (guint i = 0; i < self->seats->len; i++)
    if (!taken[i])
      {
        *seat = i;
        return TRUE;
      }

  return FALSE;
}

/* "NAME=VALUE" for everything the worker must know beside its program:
 * its channel (the link's own: docs/protocol.md, section 15), and what
 * the pool tells every worker. */
static GPtrArray *
worker_environment (PCore *core)
{
  GPtrArray *env = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (env, g_strdup_printf ("%s=%s:%" G_GSIZE_FORMAT,
                                         P_CHANNEL_ENV, P_CHANNEL_STDIO, core->max_message_size));
  for (guint i = 0; core->worker_env != NULL && core->worker_env[i] != NULL; i++)
    g_ptr_array_add (env, g_strdup (core->worker_env[i]));

  return env;
}

/* The client's command line: ssh runs a command line for the remote
 * shell, srun runs argv. `env` sets the worker's environment on the
 * remote side either way, however the client treats the local one. */
static GPtrArray *
client_argv (PLaunch *self,
             PCore   *core,
             Seat    *seat)
{
  g_autoptr(GPtrArray) env = worker_environment (core);
  g_autoptr(GPtrArray) command = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (command, g_strdup ("env"));
  for (guint i = 0; i < env->len; i++)
    g_ptr_array_add (command, g_strdup (env->pdata[i]));
  g_ptr_array_add (command, g_strdup (self->config->worker_path ? self->config->worker_path
                                                                : core->worker_argv[0]));
  for (guint i = 1; core->worker_argv[i] != NULL; i++)
    g_ptr_array_add (command, g_strdup (core->worker_argv[i]));

  for (guint i = 0; self->config->command[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (self->config->command[i]));

  if (self->config->kind == P_LAUNCHER_SSH)
    {
      Host *host = self->hosts->pdata[seat->host];
      GString *line = g_string_new ("exec");

      for (guint i = 0; ssh_options[i] != NULL; i++)
        g_ptr_array_add (argv, g_strdup (ssh_options[i]));

      /* The host's shared connection when it is there, else one of its
       * own (ssh falls back to that by itself). */
      if (self->control_dir != NULL && seat_connection (self, seat) != NULL)
        {
          g_ptr_array_add (argv, g_strdup ("-o"));
          g_ptr_array_add (argv, g_strdup ("ControlMaster=no"));
          g_ptr_array_add (argv, g_strdup ("-o"));
          g_ptr_array_add (argv, g_strdup_printf ("ControlPath=%s", seat_connection (self, seat)->control_path));
        }
      g_ptr_array_add (argv, g_strdup ("--"));
      g_ptr_array_add (argv, g_strdup (host->destination));

      for (guint i = 0; i < command->len; i++)
        {
          g_autofree char *quoted = g_shell_quote (command->pdata[i]);

          g_string_append_c (line, ' ');
          g_string_append (line, quoted);
        }
      g_ptr_array_add (argv, g_string_free (line, FALSE));
    }
  else
    {
      /* -u: what the worker writes leaves at once, not by lines. */
      g_ptr_array_add (argv, g_strdup ("-u"));
      g_ptr_array_add (argv, g_strdup ("-n1"));
      g_ptr_array_add (argv, g_strdup ("-N1"));
      g_ptr_array_add (argv, g_strdup ("--job-name=processing-glib-worker"));
      for (guint i = 0; self->config->srun_args[i] != NULL; i++)
        g_ptr_array_add (argv, g_strdup (self->config->srun_args[i]));
      for (guint i = 0; i < command->len; i++)
        g_ptr_array_add (argv, g_strdup (command->pdata[i]));
    }

  g_ptr_array_add (argv, NULL);
  return argv;
}

/* On the pool's thread: starts a worker in a free seat. srun's workers
 * have no start-up time-out: a step may wait for resources for as long
 * as Slurm makes it. */
PProcess *
p_launch_spawn (PLaunch                  *self,
                PCore                    *core,
                guint                     startup_timeout_sec,
                const PProcessCallbacks  *callbacks,
                gpointer                  user_data,
                GError                  **error)
{
  g_autoptr(GPtrArray) argv = NULL;
  Launched *launched;
  PProcess *process;
  guint index;
  Seat *seat;

  if (!find_free_seat (self, core, &index))
    {
      g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_WORKER_START,
                           _("Every worker’s place is taken"));
      return NULL;
    }
  seat = &g_array_index (self->seats, Seat, index);

  /* A connection that ended is made again, for the next workers; this
   * one does not wait for it. */
  if (self->control_dir != NULL && !self->stopping)
    {
      Connection *connection = seat_connection (self, seat);

      if (connection == NULL || connection->reaped)
        {
          g_autoptr(GError) local_error = NULL;

          if (!connection_start (self, seat, TRUE, &local_error))
            g_debug ("%s", local_error->message);
        }
    }

  argv = client_argv (self, core, seat);
  process = p_process_spawn_linked ((const char * const *) argv->pdata, core->max_message_size,
                                    self->config->kind == P_LAUNCHER_SRUN ? 0 : startup_timeout_sec,
                                    callbacks, user_data, error);
  if (process == NULL)
    return NULL;

  launched = g_new0 (Launched, 1);
  launched->seat = index;
  client_output_init (&launched->output, p_process_get_client_stderr (process), self->forward_fd);
  client_output_watch (&launched->output);
  g_hash_table_insert (self->launched, process, launched);

  return process;
}

static char *
describe_status (PLaunch *self,
                 int      wait_status)
{
  if (WIFSIGNALED (wait_status))
    return g_strdup_printf (_("%s was killed by signal %d (%s)"), self->client_name,
                            WTERMSIG (wait_status), g_strsignal (WTERMSIG (wait_status)));

  return g_strdup_printf (_("%s exited with status %d"), self->client_name,
                          WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : wait_status);
}

/* Why a worker that exited by itself (the pool did not kill it) is gone:
 * before it announced itself, what its client said (ssh's "Could not
 * resolve hostname", the remote shell's "No such file", srun's errors);
 * after, that its link ended, and the client's last word on it. */
GError *
p_launch_describe_death (PLaunch  *self,
                         PProcess *process)
{
  Launched *launched = g_hash_table_lookup (self->launched, process);
  Seat *seat = &g_array_index (self->seats, Seat, launched->seat);
  g_autofree char *status = describe_status (self, process->wait_status);
  g_autofree char *where = NULL;
  g_autofree char *said = NULL;
  g_autofree char *prefix = g_strdup_printf ("%s:", self->client_name);

  if (self->config->kind == P_LAUNCHER_SSH)
    where = g_strdup_printf (_("on “%s”"), ((Host *) self->hosts->pdata[seat->host])->destination);
  else
    where = g_strdup (_("in a Slurm job step"));

  if (!process->announced)
    {
      said = client_output_describe (&launched->output, 4, NULL);
      return g_error_new (P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED, "%s: %s", where, said ? said : status);
    }

  said = client_output_describe (&launched->output, 1, prefix);
  if (said != NULL)
    return g_error_new (P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED,
                        _("The worker %s died or lost its link: %s (%s)"), where, status, said);

  return g_error_new (P_POOL_ERROR, P_POOL_ERROR_WORKER_DIED,
                      _("The worker %s died or lost its link: %s"), where, status);
}

/* The worker was reaped: its seat is free. */
void
p_launch_forget (PLaunch  *self,
                 PProcess *process)
{
  g_hash_table_remove (self->launched, process);
}

/* }}} */
