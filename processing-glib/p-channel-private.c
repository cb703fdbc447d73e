/* p-channel-private.c: framing of GVariant messages on a stream
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "p-channel-private.h"
#include "p-i18n-private.h"
#include "p-error.h"

/* Bodies up to this size are parsed in place in the shared read buffer;
 * larger ones are read straight into an allocation of their own, which
 * then becomes the message's GBytes without a copy. */
#define DIRECT_BODY_THRESHOLD ((gsize) 32 * 1024)
#define READ_BUFFER_SIZE      ((gsize) 64 * 1024)
#define MIN_READ_SPACE        ((gsize) 4 * 1024)
/* A large body's allocation grows as its bytes arrive, so that a length
 * prefix alone cannot make us allocate the whole limit. */
#define INITIAL_BODY_ALLOCATION ((gsize) 16 * 1024 * 1024)

static inline gsize
pad8 (gsize size)
{
  return (size + 7) & ~(gsize) 7;
}

const GVariantType *
p_message_kind_get_body_type (PMessageKind kind)
{
  switch (kind)
    {
    case P_MESSAGE_TASK:         return G_VARIANT_TYPE ("(tsv)");
    case P_MESSAGE_CHUNK:        return G_VARIANT_TYPE ("(tsvb)");
    case P_MESSAGE_CANCEL:       return G_VARIANT_TYPE ("(t)");
    case P_MESSAGE_HELLO:        return G_VARIANT_TYPE ("(uxas)");
    case P_MESSAGE_RESULT:       return G_VARIANT_TYPE ("(tv)");
    case P_MESSAGE_ERROR:        return G_VARIANT_TYPE ("(tsis)");
    case P_MESSAGE_CHUNK_RESULT: return G_VARIANT_TYPE ("(tava(usis))");
    default:                     return NULL;
    }
}

gboolean
p_message_kind_is_valid (PMessageKind kind,
                         PDirection   direction)
{
  switch (kind)
    {
    case P_MESSAGE_TASK:
    case P_MESSAGE_CHUNK:
    case P_MESSAGE_CANCEL:
      return direction == P_DIRECTION_TO_WORKER;

    case P_MESSAGE_HELLO:
    case P_MESSAGE_RESULT:
    case P_MESSAGE_ERROR:
    case P_MESSAGE_CHUNK_RESULT:
      return direction == P_DIRECTION_TO_POOL;

    default:
      return FALSE;
    }
}

/* Serializes @body straight into a frame: one copy of the data at most. */
GBytes *
p_message_encode (PMessageKind  kind,
                  GVariant     *body,
                  gsize         max_message_size,
                  GError      **error)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (body);
  g_autoptr(GVariant) normal = NULL;
  guint32 header[2];
  guint8 *frame;
  gsize size;

  g_assert (p_message_kind_get_body_type (kind) != NULL);
  g_assert (g_variant_is_of_type (owned, p_message_kind_get_body_type (kind)));

  /* Cheap for values built in this process (they are trusted); values
   * made from untrusted bytes are checked, and fixed if need be. */
  if (!g_variant_is_normal_form (owned))
    normal = g_variant_get_normal_form (owned);
  else
    normal = g_variant_ref (owned);

  size = g_variant_get_size (normal);
  if (size > max_message_size)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                   _("Message of %" G_GSIZE_FORMAT " bytes is over the limit of %" G_GSIZE_FORMAT " bytes"),
                   size, max_message_size);
      return NULL;
    }

  frame = g_malloc (P_FRAME_HEADER_SIZE + pad8 (size));
  header[0] = (guint32) size;
  header[1] = (guint32) kind;
  memcpy (frame, header, sizeof header);
  g_variant_store (normal, frame + P_FRAME_HEADER_SIZE);
  memset (frame + P_FRAME_HEADER_SIZE + size, 0, pad8 (size) - size);

  return g_bytes_new_take (frame, P_FRAME_HEADER_SIZE + pad8 (size));
}

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

  gboolean failed;
};

PFrameReader *
p_frame_reader_new (PDirection direction,
                    gsize      max_message_size)
{
  PFrameReader *self = g_new0 (PFrameReader, 1);

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
  g_free (self);
}

/* Where the next read should go, and how much it may read. */
guint8 *
p_frame_reader_get_space (PFrameReader *self,
                          gsize        *size)
{
  gsize wanted = MIN_READ_SPACE;

  if (self->body != NULL)
    {
      if (self->body_filled == self->body_allocated)
        {
          self->body_allocated = MIN (self->body_allocated * 2, self->body_padded);
          self->body = g_realloc (self->body, self->body_allocated);
        }

      *size = self->body_allocated - self->body_filled;
      return self->body + self->body_filled;
    }

  /* A small frame whose header is known must fit whole. */
  if (self->end - self->start >= P_FRAME_HEADER_SIZE)
    {
      guint32 header[2];

      memcpy (header, self->buffer + self->start, sizeof header);
      if (header[0] <= DIRECT_BODY_THRESHOLD)
        wanted = MAX (wanted, P_FRAME_HEADER_SIZE + pad8 (header[0]) - (self->end - self->start));
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
  if (self->body != NULL)
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

static gboolean
padding_is_zero (const guint8 *padding,
                 gsize         size)
{
  for (gsize i = 0; i < size; i++)
    if (padding[i] != 0)
      return FALSE;

  return TRUE;
}

static GVariant *
decode_body (PMessageKind   kind,
             GBytes        *bytes,
             GError       **error)
{
  g_autoptr(GVariant) body = NULL;

  body = g_variant_ref_sink (g_variant_new_from_bytes (p_message_kind_get_body_type (kind), bytes, FALSE));

  if (!g_variant_is_normal_form (body))
    {
      g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                   _("Message of kind %u is not a %s in normal form"),
                   (guint) kind, g_variant_get_type_string (body));
      return NULL;
    }

  return g_steal_pointer (&body);
}

/* Returns TRUE and a message when one is complete, FALSE without an error
 * when more bytes are needed, FALSE with an error on a malformed stream
 * (after which the reader only fails). */
gboolean
p_frame_reader_pop (PFrameReader  *self,
                    PMessageKind  *kind,
                    GVariant     **body,
                    GError       **error)
{
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

  if (self->body != NULL)
    {
      g_autoptr(GBytes) bytes = NULL;

      if (self->body_filled < self->body_padded)
        return FALSE;

      if (!padding_is_zero (self->body + self->body_size, self->body_padded - self->body_size))
        goto bad_padding;

      bytes = g_bytes_new_take (g_steal_pointer (&self->body), self->body_size);
      *kind = self->body_kind;
      *body = decode_body (self->body_kind, bytes, error);
      self->failed = *body == NULL;
      return *body != NULL;
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

  if (header[0] > self->max_message_size)
    {
      self->failed = TRUE;
      g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                   _("Message of %u bytes is over the limit of %" G_GSIZE_FORMAT " bytes"),
                   header[0], self->max_message_size);
      return FALSE;
    }

  padded = pad8 (header[0]);

  if (padded > DIRECT_BODY_THRESHOLD)
    {
      gsize have = MIN (available - P_FRAME_HEADER_SIZE, padded);

      self->body_kind = header[1];
      self->body_size = header[0];
      self->body_padded = padded;
      self->body_allocated = MAX (MIN (padded, INITIAL_BODY_ALLOCATION), have);
      self->body = g_malloc (self->body_allocated);
      memcpy (self->body, self->buffer + self->start + P_FRAME_HEADER_SIZE, have);
      self->body_filled = have;
      self->start += P_FRAME_HEADER_SIZE + have;

      return p_frame_reader_pop (self, kind, body, error);
    }

  if (available < P_FRAME_HEADER_SIZE + padded)
    return FALSE;

  {
    const guint8 *data = self->buffer + self->start + P_FRAME_HEADER_SIZE;
    g_autoptr(GBytes) bytes = NULL;

    if (!padding_is_zero (data + header[0], padded - header[0]))
      goto bad_padding;

    bytes = g_bytes_new (data, header[0]);
    self->start += P_FRAME_HEADER_SIZE + padded;
    if (self->start == self->end)
      self->start = self->end = 0;

    *kind = header[1];
    *body = decode_body (header[1], bytes, error);
    self->failed = *body == NULL;
    return *body != NULL;
  }

bad_padding:
  self->failed = TRUE;
  g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                       _("Frame padding is not zero"));
  return FALSE;
}

gboolean
p_channel_parse_env (const char *value,
                     int        *fd,
                     GPid       *parent_pid,
                     gsize      *max_message_size)
{
  g_auto(GStrv) parts = NULL;
  guint64 numbers[3];

  if (value == NULL)
    return FALSE;

  parts = g_strsplit (value, ":", -1);
  if (g_strv_length (parts) != 3)
    return FALSE;

  for (guint i = 0; i < 3; i++)
    if (!g_ascii_string_to_unsigned (parts[i], 10, 0, G_MAXUINT32, &numbers[i], NULL))
      return FALSE;

  if (numbers[2] < P_MIN_MAX_MESSAGE_SIZE || numbers[2] > P_MAX_MAX_MESSAGE_SIZE)
    return FALSE;

  *fd = (int) numbers[0];
  *parent_pid = (GPid) numbers[1];
  *max_message_size = numbers[2];

  return TRUE;
}
