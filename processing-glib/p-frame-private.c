/* p-frame-private.c: a frame ready to be written
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
#include <unistd.h>

#include "p-frame-private.h"

/* A frame in one piece, taking @bytes. */
PFrame *
p_frame_new_from_bytes (GBytes *bytes)
{
  PFrame *frame = p_frame_alloc (0);

  frame->n_segments = 1;
  frame->one_segment.shared = bytes;
  frame->one_segment.data = g_bytes_get_data (bytes, &frame->one_segment.size);
  frame->size = frame->one_segment.size;

  return frame;
}

PFrame *
p_frame_ref (PFrame *frame)
{
  g_atomic_ref_count_inc (&frame->ref_count);
  return frame;
}

/* NULL is let be: the queue's written frames are NULLs it then drops. */
void
p_frame_unref (PFrame *frame)
{
  if (frame == NULL || !g_atomic_ref_count_dec (&frame->ref_count))
    return;

  for (guint i = 0; i < frame->n_segments; i++)
    g_clear_pointer (&frame->segments[i].shared, g_bytes_unref);
  if (frame->segments != &frame->one_segment)
    g_free (frame->segments);
  if (frame->own != frame->inline_bytes)
    g_free (frame->own);
  if (frame->fd >= 0)
    close (frame->fd);
  g_slice_free1 (frame->allocation_size, frame);
}

gsize
p_frame_get_size (PFrame *frame)
{
  return frame->size;
}

/* The descriptor that goes with the frame; the frame keeps it. */
int
p_frame_get_fd (PFrame *frame)
{
  return frame->fd;
}

/* Copies the bytes of @frame to @dest, which has room for them. */
gsize
p_frame_copy_to (PFrame *frame,
                 guint8 *dest)
{
  for (guint i = 0; i < frame->n_segments; i++)
    {
      memcpy (dest, frame->segments[i].data, frame->segments[i].size);
      dest += frame->segments[i].size;
    }

  return frame->size;
}
