/* p-reply-area-private.c: memory a worker shares with its pool, where it
 * holds replies back (docs/protocol.md, section 12)
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* memfd_create() */
#define _GNU_SOURCE

#include "config.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>

#include "p-reply-area-private.h"

static gsize
reply_area_size (gsize capacity)
{
  return sizeof (PReplyArea) + capacity;
}

/* The pool's side: an area for one worker, and the descriptor that the
 * worker maps it from (close-on-exec; the launcher passes it on). */
PReplyArea *
p_reply_area_new (gsize    capacity,
                  int     *fd,
                  GError **error)
{
  PReplyArea *area;
  int saved_errno;
  int area_fd;

  g_assert (capacity >= P_REPLY_AREA_MIN_CAPACITY && capacity <= P_REPLY_AREA_MAX_CAPACITY);

  area_fd = memfd_create ("processing-glib-replies", MFD_CLOEXEC);
  if (area_fd < 0)
    goto failed;

  if (ftruncate (area_fd, reply_area_size (capacity)) != 0)
    goto failed;

  area = mmap (NULL, reply_area_size (capacity), PROT_READ | PROT_WRITE, MAP_SHARED, area_fd, 0);
  if (area == MAP_FAILED)
    goto failed;

  *fd = area_fd;
  return area;

failed:
  saved_errno = errno;
  if (area_fd >= 0)
    close (area_fd);
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               "%s", g_strerror (saved_errno));
  return NULL;
}

/* The worker's side: the area @value ("FD:CAPACITY") names, or NULL if
 * there is none to be had; the worker then sends each reply at once. The
 * descriptor is closed either way, so that what a task starts does not
 * inherit it. */
PReplyArea *
p_reply_area_map_env (const char *value,
                      gsize      *capacity)
{
  g_auto(GStrv) parts = NULL;
  guint64 fd, size;
  struct stat st;
  PReplyArea *area;

  if (value == NULL)
    return NULL;

  parts = g_strsplit (value, ":", -1);
  if (parts[0] == NULL || !g_ascii_string_to_unsigned (parts[0], 10, 0, G_MAXINT, &fd, NULL))
    return NULL;

  area = MAP_FAILED;
  /* Beyond the file, the memory would fault: the size is checked. */
  if (g_strv_length (parts) == 2 &&
      g_ascii_string_to_unsigned (parts[1], 10, P_REPLY_AREA_MIN_CAPACITY, P_REPLY_AREA_MAX_CAPACITY,
                                  &size, NULL) &&
      fstat ((int) fd, &st) == 0 &&
      S_ISREG (st.st_mode) &&
      (guint64) st.st_size >= reply_area_size (size))
    area = mmap (NULL, reply_area_size (size), PROT_READ | PROT_WRITE, MAP_SHARED, (int) fd, 0);
  close ((int) fd);

  if (area == MAP_FAILED)
    return NULL;

  *capacity = size;
  return area;
}

void
p_reply_area_unmap (PReplyArea *area,
                    gsize       capacity)
{
  if (area != NULL)
    munmap (area, reply_area_size (capacity));
}

/* After the worker died, having written @received bytes that the pool
 * read: the bytes the area held that never reached the channel, which
 * continue its stream. NULL when there are none, or when the area does
 * not describe the end of that stream (a worker that wrote garbage). */
const guint8 *
p_reply_area_get_unsent (const PReplyArea *area,
                         gsize             capacity,
                         guint64           received,
                         gsize            *length)
{
  guint64 start = area->stream_offset;
  guint32 held = g_atomic_int_get ((const gint *) &area->length);

  *length = 0;
  if (held == 0 || held > capacity || received < start || received - start >= held)
    return NULL;

  *length = held - (received - start);
  return area->data + (received - start);
}
