/* p-frame-reader-private.c: frames read from a stream, as messages
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "p-frame-reader-private.h"
#include "p-error.h"
#include "p-glib-workarounds-private.h"
#include "p-i18n-private.h"
#include "p-sealed-private.h"
#include "p-variant-layout-private.h"

/* Bodies up to this size are parsed in place in the shared read buffer;
 * larger ones are read straight into an allocation of their own, which
 * then becomes the message's GBytes without a copy. */
#define DIRECT_BODY_THRESHOLD ((gsize) 32 * 1024)
#define READ_BUFFER_SIZE      ((gsize) 64 * 1024)
#define MIN_READ_SPACE        ((gsize) 4 * 1024)
/* A large body's allocation grows as its bytes arrive, so that a length
 * prefix alone cannot make us allocate the whole limit. */
#define INITIAL_BODY_ALLOCATION ((gsize) 16 * 1024 * 1024)

struct _PFrameReader
{
  PDirection direction;
  gsize max_message_size;

  /* Small frames accumulate here; [start, end) is unparsed. */
  guint8 *buffer;
  gsize allocated;
  gsize start;
  gsize end;

  /* A large body being read into its own allocation. */
  guint8 *body;
  gsize body_size;
  gsize body_padded;
  gsize body_allocated;
  gsize body_filled;
  PMessageKind body_kind;

  /* Descriptors received, for the sealed messages to come, in order. */
  GArray *fds;
  gboolean fds_lost;       /* the kernel dropped some (MSG_CTRUNC) */
  gboolean fds_overflow;   /* too many came with no message to take them */

  gboolean failed;
};

PFrameReader *
p_frame_reader_new (PDirection direction,
                    gsize      max_message_size)
{
  PFrameReader *self = g_new0 (PFrameReader, 1);

  p_glib_pin_variant_types ();

  self->direction = direction;
  self->max_message_size = max_message_size;
  self->allocated = READ_BUFFER_SIZE;
  self->buffer = g_malloc (self->allocated);

  return self;
}

void
p_frame_reader_free (PFrameReader *self)
{
  if (self == NULL)
    return;

  g_free (self->buffer);
  g_free (self->body);
  if (self->fds != NULL)
    {
      for (guint i = 0; i < self->fds->len; i++)
        close (g_array_index (self->fds, int, i));
      g_array_unref (self->fds);
    }
  g_free (self);
}

/* Where the next read should go, and how much it may read. */
guint8 *
p_frame_reader_get_space (PFrameReader *self,
                          gsize        *size)
{
  gsize wanted = MIN_READ_SPACE;

  /* A large body takes what comes until it is whole; what follows it, read
   * before it is popped, goes to the buffer. */
  if (self->body != NULL && self->body_filled < self->body_padded)
    {
      if (self->body_filled == self->body_allocated)
        {
          self->body_allocated = MIN (self->body_allocated * 2, self->body_padded);
          self->body = g_realloc (self->body, self->body_allocated + P_BODY_SLACK);
        }

      *size = self->body_allocated - self->body_filled;
      return self->body + self->body_filled;
    }

  /* A small frame whose header is known must fit whole (frames fed and
   * not popped yet may be whole already). */
  if (self->end - self->start >= P_FRAME_HEADER_SIZE)
    {
      guint32 header[2];
      gsize buffered = self->end - self->start;

      memcpy (header, self->buffer + self->start, sizeof header);
      if (header[0] <= DIRECT_BODY_THRESHOLD && buffered < P_FRAME_HEADER_SIZE + p_align_up (header[0], 8))
        wanted = MAX (wanted, P_FRAME_HEADER_SIZE + p_align_up (header[0], 8) - buffered);
    }

  if (self->allocated - self->end < wanted)
    {
      /* Keep frames 8-aligned in the buffer: start is always a multiple
       * of 8 because every frame's size is. */
      memmove (self->buffer, self->buffer + self->start, self->end - self->start);
      self->end -= self->start;
      self->start = 0;

      if (self->allocated - self->end < wanted)
        {
          self->allocated = MAX (self->allocated * 2, self->end + wanted);
          self->buffer = g_realloc (self->buffer, self->allocated);
        }
    }

  *size = self->allocated - self->end;
  return self->buffer + self->end;
}

void
p_frame_reader_commit (PFrameReader *self,
                       gsize         n_bytes)
{
  if (self->body != NULL && self->body_filled < self->body_padded)
    {
      g_assert (n_bytes <= self->body_allocated - self->body_filled);
      self->body_filled += n_bytes;
    }
  else
    {
      g_assert (n_bytes <= self->allocated - self->end);
      self->end += n_bytes;
    }
}

void
p_frame_reader_feed (PFrameReader *self,
                     const guint8 *data,
                     gsize         size)
{
  while (size > 0)
    {
      gsize space;
      guint8 *dest = p_frame_reader_get_space (self, &space);
      gsize n = MIN (space, size);

      memcpy (dest, data, n);
      p_frame_reader_commit (self, n);
      data += n;
      size -= n;
    }
}

/* TRUE when no partial frame is buffered: an end of stream here is clean. */
gboolean
p_frame_reader_is_idle (PFrameReader *self)
{
  return self->body == NULL && self->start == self->end;
}

static inline PMessage *
reader_decode (PFrameReader  *self,
               PMessage      *received,
               GError       **error)
{
  PMessage *message = p_message_decode (received, error);
  int fd;

  if (message == NULL ||
      (message->kind != P_MESSAGE_SEALED && message->kind != P_MESSAGE_SEALED_RESULT))
    return message;

  /* Its descriptor is the next one received. */
  if (self->fds == NULL || self->fds->len == 0)
    {
      g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                           self->fds_lost ? _("A sealed message lost its descriptor (too many open files?)")
                                          : _("A sealed message came without a descriptor"));
      p_message_free (message);
      return NULL;
    }
  fd = g_array_index (self->fds, int, 0);
  g_array_remove_index (self->fds, 0);

  return p_sealed_open (message, fd, self->direction, self->max_message_size, error);
}

/* Takes @fd for a sealed message to come. More than that many waiting is
 * a peer that sends descriptors for nothing: they are closed, and the
 * next message fails. */
#define MAX_WAITING_FDS 64

void
p_frame_reader_add_fd (PFrameReader *self,
                       int           fd)
{
  if (self->fds == NULL)
    self->fds = g_array_new (FALSE, FALSE, sizeof (int));

  if (self->fds->len >= MAX_WAITING_FDS)
    {
      close (fd);
      self->fds_overflow = TRUE;
      return;
    }

  g_array_append_val (self->fds, fd);
}

/* Reads what @socket_fd has, without blocking, and the descriptors that
 * came along: how many bytes, 0 at the end of the stream, -1 with @error
 * (G_IO_ERROR_WOULD_BLOCK: nothing yet). @space: how many it could take. */
gssize
p_frame_reader_receive (PFrameReader  *self,
                        int            socket_fd,
                        gsize         *space,
                        GError       **error)
{
  union
  {
    struct cmsghdr header;
    char buffer[CMSG_SPACE (16 * sizeof (int))];
  } control;
  struct msghdr msg = { 0, };
  struct iovec vector;
  struct cmsghdr *cmsg;
  gssize n_read;

  vector.iov_base = p_frame_reader_get_space (self, space);
  vector.iov_len = *space;
  msg.msg_iov = &vector;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buffer;
  msg.msg_controllen = sizeof control.buffer;

  do
    n_read = recvmsg (socket_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n_read < 0 && errno == EINTR);

  if (n_read < 0)
    {
      int saved_errno = errno;

      g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), g_strerror (saved_errno));
      return -1;
    }

  for (cmsg = CMSG_FIRSTHDR (&msg); cmsg != NULL; cmsg = CMSG_NXTHDR (&msg, cmsg))
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
      {
        gsize n_fds = (cmsg->cmsg_len - CMSG_LEN (0)) / sizeof (int);

        for (gsize i = 0; i < n_fds; i++)
          {
            int fd;

            memcpy (&fd, CMSG_DATA (cmsg) + i * sizeof (int), sizeof fd);
            p_frame_reader_add_fd (self, fd);
          }
      }
  if (msg.msg_flags & MSG_CTRUNC)
    self->fds_lost = TRUE;

  if (n_read > 0)
    p_frame_reader_commit (self, n_read);

  return n_read;
}

/* Returns TRUE and a message when one is complete, FALSE without an error
 * when more bytes are needed, FALSE with an error on a malformed stream
 * (after which the reader only fails). */
gboolean
p_frame_reader_pop (PFrameReader  *self,
                    PMessage     **message,
                    GError       **error)
{
  g_autoptr(GError) too_large = NULL;
  guint32 header[2];
  gsize available;
  gsize padded;

  /* An empty buffer restarts at its (aligned) beginning. */
  if (self->body == NULL && self->start == self->end)
    self->start = self->end = 0;

  if (self->failed)
    {
      g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                           _("The channel is broken"));
      return FALSE;
    }

  if (self->fds_overflow)
    {
      self->failed = TRUE;
      g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                           _("Descriptors came that no message takes"));
      return FALSE;
    }

  if (self->body != NULL)
    {
      PMessage *received;

      if (self->body_filled < self->body_padded)
        return FALSE;

      if (!p_bytes_are_zero (self->body + self->body_size, self->body_padded - self->body_size))
        goto bad_padding;

      memset (self->body + self->body_padded, 0, P_BODY_SLACK);
      received = p_message_new (self->body_kind, NULL, 0);
      received->bytes = g_bytes_new_take (g_steal_pointer (&self->body), self->body_size);
      *message = reader_decode (self, received, error);
      self->failed = *message == NULL;
      return *message != NULL;
    }

  available = self->end - self->start;
  if (available < P_FRAME_HEADER_SIZE)
    return FALSE;

  memcpy (header, self->buffer + self->start, sizeof header);

  if (!p_message_kind_is_valid (header[1], self->direction))
    {
      self->failed = TRUE;
      g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                   _("Unknown message kind %u"), header[1]);
      return FALSE;
    }

  if (!p_message_size_check (header[0], self->max_message_size, &too_large))
    {
      self->failed = TRUE;
      g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL, too_large->message);
      return FALSE;
    }

  padded = p_align_up (header[0], 8);

  if (padded > DIRECT_BODY_THRESHOLD)
    {
      gsize have = MIN (available - P_FRAME_HEADER_SIZE, padded);

      self->body_kind = header[1];
      self->body_size = header[0];
      self->body_padded = padded;
      self->body_allocated = MAX (MIN (padded, INITIAL_BODY_ALLOCATION), have);
      self->body = g_malloc (self->body_allocated + P_BODY_SLACK);
      memcpy (self->body, self->buffer + self->start + P_FRAME_HEADER_SIZE, have);
      self->body_filled = have;
      self->start += P_FRAME_HEADER_SIZE + have;

      return p_frame_reader_pop (self, message, error);
    }

  if (available < P_FRAME_HEADER_SIZE + padded)
    return FALSE;

  {
    const guint8 *data = self->buffer + self->start + P_FRAME_HEADER_SIZE;
    PMessage *received;

    if (!p_bytes_are_zero (data + header[0], padded - header[0]))
      goto bad_padding;

    /* The hot path's TASKs and RESULTs carry their bodies inline. */
    if (header[1] == P_MESSAGE_TASK || header[1] == P_MESSAGE_RESULT)
      received = p_message_new (header[1], data, header[0]);
    else
      {
        guint8 *copy = g_malloc (header[0] + P_BODY_SLACK);

        memcpy (copy, data, header[0]);
        memset (copy + header[0], 0, P_BODY_SLACK);
        received = p_message_new (header[1], NULL, 0);
        received->bytes = g_bytes_new_take (copy, header[0]);
      }
    self->start += P_FRAME_HEADER_SIZE + padded;
    if (self->start == self->end)
      self->start = self->end = 0;

    *message = reader_decode (self, received, error);
    self->failed = *message == NULL;
    return *message != NULL;
  }

bad_padding:
  self->failed = TRUE;
  g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                       _("Frame padding is not zero"));
  return FALSE;
}
