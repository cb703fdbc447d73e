/* p-sealed-private.c: large values in shared memory (version 3)
 *
 * A body or a value of P_SEALED_MIN_SIZE bytes or more is written once to
 * a memfd, sealed against writing and shrinking, and its descriptor goes
 * along a small frame: one copy instead of two through the socket each
 * way, and none when a worker returns (part of) what it was given, which
 * it sends back in the pool's own memfd.
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* memfd_create() */
#define _GNU_SOURCE

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixfdmessage.h>

#include "p-sealed-private.h"
#include "p-error.h"
#include "p-glib-workarounds-private.h"
#include "p-i18n-private.h"
#include "p-message-writer-private.h"
#include "p-normal-form-private.h"
#include "p-variant-layout-private.h"

/* {{{ Mappings */

/* A sealed file mapped, alive as long as a GBytes made of it. */
typedef struct
{
  gatomicrefcount ref_count;
  int fd;                  /* kept to send it back (in workers); else -1 */
  const guint8 *data;
  gsize length;
  gboolean copied;         /* read into memory: the process ran out of mappings */
} Mapping;

/* A worker's mappings that keep their descriptor, to find the one a
 * returned value lies in. Few: those of the tasks in hand. */
static GMutex kept_mappings_mutex;
static GPtrArray *kept_mappings;

static void
mapping_unref (gpointer data)
{
  Mapping *mapping = data;

  if (!g_atomic_ref_count_dec (&mapping->ref_count))
    return;

  if (mapping->fd >= 0)
    {
      g_mutex_lock (&kept_mappings_mutex);
      g_ptr_array_remove_fast (kept_mappings, mapping);
      g_mutex_unlock (&kept_mappings_mutex);
      close (mapping->fd);
    }
  if (mapping->copied)
    g_free ((gpointer) mapping->data);
  else
    munmap ((gpointer) mapping->data, mapping->length);
  g_free (mapping);
}

static gboolean
pread_all (int     fd,
           guint8 *data,
           gsize   size)
{
  gsize done = 0;

  while (done < size)
    {
      gssize n = pread (fd, data + done, size - done, done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            errno = EIO;
          return FALSE;
        }
      done += n;
    }

  return TRUE;
}

/* @fd, taken, mapped if it is sealed and holds at least @needed bytes. */
static Mapping *
mapping_new (int        fd,
             gsize      needed,
             gboolean   keep_fd,
             GError   **error)
{
  const int required_seals = F_SEAL_WRITE | F_SEAL_SHRINK;
  int seals = fcntl (fd, F_GET_SEALS);
  Mapping *mapping;
  struct stat st;
  void *data;

  if (seals < 0 || (seals & required_seals) != required_seals)
    {
      close (fd);
      g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                           _("A sealed message came with a descriptor that is not sealed"));
      return NULL;
    }

  if (fstat (fd, &st) != 0 || st.st_size <= 0 || (guint64) st.st_size < needed)
    {
      close (fd);
      g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                           _("A sealed message is larger than its descriptor’s file"));
      return NULL;
    }

  mapping = g_new0 (Mapping, 1);
  data = mmap (NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED)
    {
      /* Out of mappings (vm.max_map_count), say, with a result in each:
       * the bytes are read instead. */
      data = g_try_malloc (st.st_size);
      if (data == NULL || !pread_all (fd, data, st.st_size))
        {
          int saved_errno = errno;

          g_free (data);
          g_free (mapping);
          close (fd);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       _("Could not map a sealed message: %s"), g_strerror (saved_errno));
          return NULL;
        }
      mapping->copied = TRUE;
    }

  g_atomic_ref_count_init (&mapping->ref_count);
  mapping->data = data;
  mapping->length = st.st_size;
  mapping->fd = -1;
  if (keep_fd)
    {
      mapping->fd = fd;
      g_mutex_lock (&kept_mappings_mutex);
      if (kept_mappings == NULL)
        kept_mappings = g_ptr_array_new ();
      g_ptr_array_add (kept_mappings, mapping);
      g_mutex_unlock (&kept_mappings_mutex);
    }
  else
    close (fd);

  return mapping;
}

static GBytes *
mapping_range (Mapping *mapping,
               gsize    offset,
               gsize    size)
{
  g_atomic_ref_count_inc (&mapping->ref_count);
  return g_bytes_new_with_free_func (mapping->data + offset, size, mapping_unref, mapping);
}

/* }}} */
/* {{{ Sealing */

/* A sealed memfd of @vectors, then P_BODY_SLACK zeros (a reader may look a
 * few bytes past a body); -1 on an error. */
static int
sealed_file_new (const GOutputVector  *vectors,
                 gsize                 n_vectors,
                 GError              **error)
{
  gsize total = 0, offset = 0;
  int fd;

  for (gsize i = 0; i < n_vectors; i++)
    total += vectors[i].size;

  fd = memfd_create ("processing-glib-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0 || ftruncate (fd, total + P_BODY_SLACK) != 0)
    goto failed;

  for (gsize i = 0; i < n_vectors; i++)
    for (gsize done = 0; done < vectors[i].size;)
      {
        gssize n = pwrite (fd, (const guint8 *) vectors[i].buffer + done, vectors[i].size - done, offset);

        if (n < 0 && errno == EINTR)
          continue;
        if (n <= 0)
          goto failed;
        done += n;
        offset += n;
      }

  if (fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
    goto failed;

  return fd;

failed:
  {
    int saved_errno = errno;

    if (fd >= 0)
      close (fd);
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                 _("Could not make a sealed message: %s"), g_strerror (saved_errno));
    return -1;
  }
}

static PFrame *
sealed_frame_new (PMessageKind  kind,
                  GVariant     *body,
                  int           fd)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (body);
  g_autoptr(GBytes) bytes = p_message_encode (kind, owned, G_MAXUINT32, NULL);
  PFrame *frame;

  g_assert (bytes != NULL);
  frame = p_frame_new_from_bytes (g_steal_pointer (&bytes));
  frame->fd = fd;

  return frame;
}

/* @frame (a TASK or a CHUNK; a CHUNK_RESULT) as a SEALED message: its
 * body goes to a sealed memfd. NULL on an error (out of descriptors, say):
 * send @frame. */
PFrame *
p_frame_new_sealed (PFrame  *frame,
                    GError **error)
{
  g_autofree GOutputVector *vectors = g_new (GOutputVector, frame->n_segments);
  guint32 header[2];
  gsize skip = P_FRAME_HEADER_SIZE;
  gsize n_vectors = 0;
  gsize left;
  int fd;

  g_assert (frame->fd < 0 && frame->segments[0].size >= P_FRAME_HEADER_SIZE);
  memcpy (header, frame->segments[0].data, sizeof header);

  /* The body, without the header nor the padding. */
  left = header[0];
  for (guint i = 0; i < frame->n_segments && left > 0; i++)
    {
      vectors[n_vectors].buffer = frame->segments[i].data + skip;
      vectors[n_vectors].size = MIN (frame->segments[i].size - skip, left);
      left -= vectors[n_vectors].size;
      skip = 0;
      n_vectors++;
    }
  g_assert (left == 0);

  fd = sealed_file_new (vectors, n_vectors, error);
  if (fd < 0)
    return NULL;

  return sealed_frame_new (P_MESSAGE_SEALED,
                           g_variant_new ("(ut)", header[1], (guint64) header[0]),
                           fd);
}

/* @frame, or a SEALED message of it when it is that large, may be sealed,
 * and a sealed file can be made (else it goes in the stream): a new
 * reference. */
PFrame *
p_frame_seal_if_large (PFrame *frame)
{
  g_autoptr(GError) error = NULL;
  PFrame *sealed;

  if (frame->size < P_FRAME_HEADER_SIZE + P_SEALED_MIN_SIZE || frame->stream_only)
    return p_frame_ref (frame);

  sealed = p_frame_new_sealed (frame, &error);
  if (sealed == NULL)
    {
      g_debug ("A large message goes in the stream: %s", error->message);
      return p_frame_ref (frame);
    }

  return sealed;
}

/* A RESULT of @value as a SEALED_RESULT: in the memfd of the task it came
 * from when it lies in one, else in a new one. NULL on an error. */
PFrame *
p_message_encode_sealed_result (guint64    id,
                                GVariant  *value,
                                GError   **error)
{
  const guint8 *data = g_variant_get_data (value);
  gsize size = g_variant_get_size (value);
  GOutputVector vector = { data, size };
  guint64 offset = 0;
  int fd = -1;

  /* As deep as a RESULT's value may go, whichever way it is sent. */
  if (!p_variant_check_depth (value, 2, error))
    return NULL;

  g_mutex_lock (&kept_mappings_mutex);
  for (guint i = 0; kept_mappings != NULL && i < kept_mappings->len; i++)
    {
      Mapping *mapping = kept_mappings->pdata[i];

      /* Followed by P_BODY_SLACK bytes of the file, as any sealed value. */
      if (data >= mapping->data && data + size + P_BODY_SLACK <= mapping->data + mapping->length)
        {
          fd = fcntl (mapping->fd, F_DUPFD_CLOEXEC, 3);
          offset = data - mapping->data;
          break;
        }
    }
  g_mutex_unlock (&kept_mappings_mutex);

  if (fd < 0)
    {
      fd = sealed_file_new (&vector, 1, error);
      if (fd < 0)
        return NULL;
      offset = 0;
    }

  return sealed_frame_new (P_MESSAGE_SEALED_RESULT,
                           g_variant_new ("(tstt)", id, g_variant_get_type_string (value),
                                          offset, (guint64) size),
                           fd);
}

/* }}} */
/* {{{ Descriptors on the channel */

/* A control message that sends a copy of @fd (the caller keeps its own);
 * NULL with @error when no descriptor is left. */
GSocketControlMessage *
p_fd_message_new (int      fd,
                  GError **error)
{
  g_autoptr(GUnixFDList) fd_list = NULL;
  int copy = fcntl (fd, F_DUPFD_CLOEXEC, 3);

  if (copy < 0)
    {
      int saved_errno = errno;

      g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), g_strerror (saved_errno));
      return NULL;
    }

  fd_list = g_unix_fd_list_new_from_array (&copy, 1);
  return g_unix_fd_message_new_with_fd_list (fd_list);
}

/* }}} */
/* {{{ Opening a sealed message */

/* The message a SEALED message (@received, taken) stands for: its own
 * body, or a SEALED_RESULT's value, in @fd (taken), checked as a message
 * that came through the stream would be. */
PMessage *
p_sealed_open (PMessage    *received,
               int          fd,
               PDirection   direction,
               gsize        max_message_size,
               GError     **error)
{
  g_autoptr(PMessage) sealed = received;
  g_autoptr(GBytes) bytes = NULL;
  Mapping *mapping;

  if (sealed->kind == P_MESSAGE_SEALED)
    {
      guint32 kind;
      guint64 size;
      PMessage *inner;

      g_variant_get (sealed->body, "(ut)", &kind, &size);
      if ((direction == P_DIRECTION_TO_WORKER ? kind != P_MESSAGE_TASK && kind != P_MESSAGE_CHUNK
                                                    : kind != P_MESSAGE_CHUNK_RESULT) ||
          size > max_message_size)
        {
          close (fd);
          g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                       _("A sealed message of kind %u and %llu bytes cannot be taken"),
                       kind, (unsigned long long) size);
          return NULL;
        }

      /* A worker keeps the descriptor to send (part of) it back. */
      mapping = mapping_new (fd, size + P_BODY_SLACK, direction == P_DIRECTION_TO_WORKER, error);
      if (mapping == NULL)
        return NULL;

      inner = p_message_new (kind, NULL, 0);
      inner->bytes = mapping_range (mapping, 0, size);
      inner->sealed = TRUE;
      mapping_unref (mapping);
      return p_message_decode (inner, error);
    }
  else
    {
      g_autoptr(GVariant) value = NULL;
      const char *type_string;
      guint64 id, offset, size;
      gsize alignment, fixed_size;
      PMessage *result;

      g_variant_get (sealed->body, "(t&stt)", &id, &type_string, &offset, &size);
      if (!g_variant_type_string_is_valid (type_string) ||
          !g_variant_type_is_definite ((const GVariantType *) type_string) ||
          size > max_message_size || offset > G_MAXUINT64 - size - P_BODY_SLACK)
        {
          close (fd);
          g_set_error_literal (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                               _("A sealed result does not say where its value is"));
          return NULL;
        }
      p_variant_type_layout ((const GVariantType *) type_string, &alignment, &fixed_size);

      mapping = mapping_new (fd, offset + size + P_BODY_SLACK, FALSE, error);
      if (mapping == NULL)
        return NULL;
      bytes = mapping_range (mapping, offset, size);
      mapping_unref (mapping);

      value = g_variant_ref_sink (g_variant_new_from_bytes ((const GVariantType *) type_string, bytes, FALSE));
      if ((fixed_size > 0 && fixed_size != size) || (offset & (alignment - 1)) != 0 ||
          !p_variant_is_normal_form (value))
        {
          g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                       /* Translators: %u is the number of a kind of message, %s
                        * a GVariant type string such as “(tsv)”. */
                       _("Message of kind %u is not a %s in normal form"),
                       (guint) P_MESSAGE_SEALED_RESULT, type_string);
          return NULL;
        }

      result = p_message_new (P_MESSAGE_RESULT, NULL, 0);
      result->id = id;
      result->sealed = TRUE;
      result->value = g_variant_ref_sink (g_variant_new_from_bytes ((const GVariantType *) type_string, bytes, TRUE));
      return result;
    }
}

/* }}} */
