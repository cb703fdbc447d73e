/* p-worker-output-private.c: what a worker sends
 *
 * Replies, one frame at a time on the channel: held in the reply area
 * (docs/protocol.md, section 12) to leave together while other tasks wait
 * to run, or sent at once; errors made fit for the channel; and the
 * running task's progress, at most one report per PROGRESS_INTERVAL_USEC.
 * The worker's other rooms are in p-worker.c.
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "p-worker-private.h"
#include "p-error.h"
#include "p-i18n-private.h"
#include "p-message-writer-private.h"
#include "p-sealed-private.h"

/* {{{ Writing: replies that leave together, or at once
 *
 * A reply is never kept only in this process's memory while the next task
 * runs: that task could kill the worker, and the pool would then fail a
 * task that had finished and send the one that killed the worker to
 * another. It is written to the channel, or, while other tasks wait,
 * copied to the reply area, which the pool reads after a death. */

/* Writes the queued frame, waiting for room as needed. */
static gboolean
write_output_locked (PWorker  *self,
                     GError  **error)
{
  while (!p_frame_queue_is_empty (&self->output))
    {
      GOutputVector vectors[16];
      gsize n_vectors = p_frame_queue_peek (&self->output, vectors, G_N_ELEMENTS (vectors));
      int fd = p_frame_queue_peek_fd (&self->output);
      g_autoptr(GSocketControlMessage) fd_message = NULL;
      gsize written = 0;

      /* A sealed message's descriptor, along its first byte. */
      if (fd >= 0 && (fd_message = p_fd_message_new (fd, error)) == NULL)
        {
          p_frame_queue_clear (&self->output);
          p_frame_queue_init (&self->output);
          return FALSE;
        }

      if (p_worker_link_send (&self->link, vectors, n_vectors, fd_message, &written, error) != G_POLLABLE_RETURN_OK)
        {
          p_frame_queue_clear (&self->output);
          p_frame_queue_init (&self->output);
          return FALSE;
        }

      self->bytes_sent += written;
      p_frame_queue_advance (&self->output, written);
    }

  return TRUE;
}

/* Writes the replies held in the area, in one system call as a rule. */
static gboolean
send_held_locked (PWorker  *self,
                  GError  **error)
{
  gsize length;
  gsize done = 0;

  if (self->n_held == 0)
    return TRUE;

  length = self->reply_area->length;
  self->n_held = 0;

  while (done < length)
    {
      GOutputVector vector = { self->reply_area->data + done, length - done };
      gsize written = 0;

      if (p_worker_link_send (&self->link, &vector, 1, NULL, &written, error) != G_POLLABLE_RETURN_OK)
        return FALSE;

      done += written;
    }

  /* They are on the channel: no longer the end of what it carries. A
   * death before this line makes the pool find them there as well as
   * here, which it sees from the offsets. */
  self->bytes_sent += length;
  g_atomic_int_set ((gint *) &self->reply_area->length, 0);

  return TRUE;
}

/* Copies @frame to the area, behind the replies held there. */
static void
hold_locked (PWorker *self,
             PFrame  *frame)
{
  gsize length = self->reply_area->length;

  if (self->n_held == 0)
    {
      self->reply_area->stream_offset = self->bytes_sent;
      self->held_since = g_get_monotonic_time ();
    }

  p_frame_copy_to (frame, self->reply_area->data + length);
  /* Last: the pool reads only as many bytes as it says. */
  g_atomic_int_set ((gint *) &self->reply_area->length, length + p_frame_get_size (frame));
  self->n_held++;
}

/* Sends @frame, or holds it in the reply area when @may_hold (another
 * task waits to run) so that several leave in one write. Fails when the
 * pool is gone. The task thread sends its replies without holding
 * self->mutex, which the reader thread needs meanwhile to queue what
 * arrives; write_mutex keeps the frames of the two threads apart. */
static gboolean
send_frame (PWorker   *self,
            PFrame    *frame,
            gboolean   may_hold,
            GError   **error)
{
  gsize size = p_frame_get_size (frame);
  gboolean sent = TRUE;
  gboolean first_held = FALSE;

  /* Nobody to read it. */
  if (g_atomic_int_get (&self->link_lost))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, _("The link to the pool ended"));
      return FALSE;
    }

  g_mutex_lock (&self->write_mutex);
  /* A descriptor cannot be held: what carries one leaves now. */
  if (may_hold && self->reply_area != NULL && size <= self->reply_area_capacity &&
      p_frame_get_fd (frame) < 0)
    {
      if (self->reply_area->length + size > self->reply_area_capacity)
        sent = send_held_locked (self, error);

      if (sent)
        {
          hold_locked (self, frame);
          if (self->n_held >= MAX_HELD_REPLIES ||
              g_get_monotonic_time () - self->held_since >= REPLY_DELAY_USEC)
            sent = send_held_locked (self, error);
          first_held = self->n_held == 1;
        }
    }
  else
    {
      /* Behind those held: the area is always the end of the stream. */
      sent = send_held_locked (self, error);
      if (sent)
        {
          p_frame_queue_push (&self->output, frame);
          sent = write_output_locked (self, error);
        }
    }
  g_mutex_unlock (&self->write_mutex);

  /* It sends them if the next task runs long. */
  if (first_held)
    p_worker_wake_reader (self);

  return sent;
}

static void
set_output_error (PWorker *self,
                  GError  *error)
{
  g_mutex_lock (&self->mutex);
  if (self->output_error == NULL)
    self->output_error = g_steal_pointer (&error);
  g_mutex_unlock (&self->mutex);
  g_clear_error (&error);
}

void
p_worker_send_reply (PWorker  *self,
                     PFrame   *frame,
                     gboolean  may_hold)
{
  GError *error = NULL;

  if (!send_frame (self, frame, may_hold, &error))
    set_output_error (self, error);
}

/* The same, at once, from a thread that holds self->mutex. */
void
p_worker_send_reply_locked (PWorker *self,
                            PFrame  *frame)
{
  if (self->output_error == NULL)
    send_frame (self, frame, FALSE, &self->output_error);
}

/* Sends what is held: before the task thread idles, and at the end. */
void
p_worker_send_held (PWorker *self)
{
  GError *error = NULL;
  gboolean sent;

  g_mutex_lock (&self->write_mutex);
  sent = send_held_locked (self, &error);
  g_mutex_unlock (&self->write_mutex);

  if (!sent)
    set_output_error (self, error);
}

/* The reader's part, with self->mutex held: what waited too long leaves.
 * Returns when to look again, or G_MAXINT64. */
gint64
p_worker_send_late_held_locked (PWorker *self)
{
  gint64 deadline = G_MAXINT64;

  /* The task thread is writing: not to be waited for, with the mutex
   * that queues what arrives held. */
  if (!g_mutex_trylock (&self->write_mutex))
    return g_get_monotonic_time () + REPLY_DELAY_USEC;

  if (self->n_held > 0 && g_get_monotonic_time () - self->held_since >= REPLY_DELAY_USEC)
    {
      if (self->output_error == NULL)
        send_held_locked (self, &self->output_error);
      else
        self->n_held = 0;
    }
  if (self->n_held > 0)
    deadline = self->held_since + REPLY_DELAY_USEC;
  g_mutex_unlock (&self->write_mutex);

  return deadline;
}

/* @error as it can cross the channel: in a domain the pool accepts (see
 * docs/protocol.md), else as a P_POOL_ERROR_FAILED that names it; in
 * UTF-8; and short enough for a frame, with room for a chunk's others. */
GError *
p_worker_sendable_error (PWorker      *self,
                         const GError *error)
{
  const char *domain = g_quark_to_string (error->domain);
  g_autofree char *message = g_utf8_make_valid (error->message, -1);
  gsize max_length = self->max_message_size / 4;

  if (strlen (message) > max_length)
    {
      char *end = message + max_length;

      /* At the start of a character. */
      while (end > message && (*end & 0xC0) == 0x80)
        end--;
      *end = '\0';
    }

  if (!p_error_domain_is_valid (domain))
    {
      g_autofree char *valid_domain = g_utf8_make_valid (domain, MIN (strlen (domain), 128));

      return g_error_new (P_POOL_ERROR, P_POOL_ERROR_FAILED,
                          /* Translators: a task's error message, then the
                           * code and the GError domain it came with. */
                          _("%s (error %d of domain “%s”)"),
                          message, error->code, valid_domain);
    }

  return g_error_new_literal (error->domain, error->code, message);
}

PFrame *
p_worker_encode_error (PWorker      *self,
                       guint64       id,
                       const GError *error)
{
  g_autoptr(GError) sendable = p_worker_sendable_error (self, error);

  return p_message_encode_error (id, sendable, self->max_message_size);
}

/* A reply too large for the channel becomes an error. */
PFrame *
p_worker_check_reply (PWorker *self,
                      guint64  id,
                      PFrame  *frame,
                      GError  *error)
{
  g_autoptr(GError) owned_error = error;

  return frame != NULL ? frame : p_worker_encode_error (self, id, owned_error);
}

/* }}} */
/* {{{ Progress */

/* The worker that serves tasks in this process, for
 * p_worker_report_progress(). */
static PWorker *serving_worker;

void
p_worker_begin_serving (PWorker *self)
{
  g_atomic_pointer_set (&serving_worker, self);
}

void
p_worker_end_serving (PWorker *self)
{
  g_atomic_pointer_compare_and_exchange (&serving_worker, self, NULL);
}

/* With self->mutex held: the report that waited goes now, or says when. */
gint64
p_worker_send_waiting_progress_locked (PWorker *self)
{
  gint64 due;

  if (self->progress_waiting == NULL)
    return G_MAXINT64;

  due = self->progress_sent_at + PROGRESS_INTERVAL_USEC;
  if (g_get_monotonic_time () < due)
    return due;

  self->progress_sent_at = g_get_monotonic_time ();
  p_worker_send_reply_locked (self, self->progress_waiting);
  g_clear_pointer (&self->progress_waiting, p_frame_unref);

  return G_MAXINT64;
}

/**
 * p_worker_report_progress:
 * @fraction: how much of the running task is done, from 0 to 1
 * @message: (nullable): what it is doing, for people, or %NULL
 *
 * Reports the progress of the task that runs, which the caller sees as
 * #PResult:progress and #PResult:progress-message of its result, in its
 * main context. Call it from a task function, in any thread, as often as
 * suits: at most one report every 50 ms goes to the pool (a later one
 * replaces one that waits), so that a chatty task cannot flood the
 * channel. Outside a task, it does nothing.
 *
 * The progress of a map's chunks is not reported: a map's #PResult shows
 * the share of its items done, and a #PMapIter its #PMapIter:completed.
 *
 * Since: 0.1
 */
void
p_worker_report_progress (double      fraction,
                          const char *message)
{
  g_autofree char *valid = NULL;
  PWorker *self;
  PFrame *frame;

  g_return_if_fail (fraction >= 0.0 && fraction <= 1.0);

  self = g_atomic_pointer_get (&serving_worker);
  if (self == NULL)
    return;

  /* A GVariant string is UTF-8, and a report is short. */
  valid = g_utf8_make_valid (message != NULL ? message : "", MIN (strlen (message != NULL ? message : ""), 4096));

  g_mutex_lock (&self->mutex);
  if (self->task_running && self->output_error == NULL)
    {
      frame = p_message_encode_progress (self->running_id, fraction, valid);
      g_clear_pointer (&self->progress_waiting, p_frame_unref);

      if (g_get_monotonic_time () - self->progress_sent_at < PROGRESS_INTERVAL_USEC)
        {
          /* The reader sends it when it is due. */
          self->progress_waiting = frame;
          p_worker_wake_reader (self);
        }
      else
        {
          self->progress_sent_at = g_get_monotonic_time ();
          p_worker_send_reply_locked (self, frame);
          p_frame_unref (frame);
        }
    }
  g_mutex_unlock (&self->mutex);
}

/* }}} */
