/* p-frame-queue-private.c: frames waiting to be written
 *
 * An array rather than a GQueue: no list node to allocate and free per
 * frame, and the write vectors are read off it in order.
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "p-frame-queue-private.h"

void
p_frame_queue_init (PFrameQueue *self)
{
  *self = (PFrameQueue) { g_ptr_array_new_with_free_func ((GDestroyNotify) p_frame_unref), 0, };
}

void
p_frame_queue_clear (PFrameQueue *self)
{
  g_clear_pointer (&self->frames, g_ptr_array_unref);
  *self = (PFrameQueue) { NULL, 0, };
}

void
p_frame_queue_push (PFrameQueue *self,
                    PFrame      *frame)
{
  g_ptr_array_add (self->frames, p_frame_ref (frame));
  self->size += frame->size;
  self->n_frames++;
}

gboolean
p_frame_queue_is_empty (const PFrameQueue *self)
{
  return self->size == 0;
}

/* The next bytes to write, as up to @max_vectors vectors; how many. */
gsize
p_frame_queue_peek (const PFrameQueue *self,
                    GOutputVector     *vectors,
                    gsize              max_vectors)
{
  gsize n_vectors = 0;
  guint first_segment = self->head_segment;
  gsize skip = self->head_written;

  for (guint i = self->head; i < self->frames->len && n_vectors < max_vectors; i++)
    {
      const PFrame *frame = self->frames->pdata[i];

      /* A descriptor goes with the first byte of a write: its frame
       * starts the next one. */
      if (frame->fd >= 0 && i > self->head)
        break;

      for (guint k = first_segment; k < frame->n_segments && n_vectors < max_vectors; k++)
        {
          vectors[n_vectors].buffer = frame->segments[k].data + skip;
          vectors[n_vectors].size = frame->segments[k].size - skip;
          n_vectors++;
          skip = 0;
        }
      first_segment = 0;
    }

  return n_vectors;
}

/* The descriptor to send with the bytes p_frame_queue_peek() gives, or -1:
 * the head frame's, before any of its bytes left. */
int
p_frame_queue_peek_fd (const PFrameQueue *self)
{
  const PFrame *frame;

  if (self->size == 0)
    return -1;

  frame = self->frames->pdata[self->head];
  return self->head_segment == 0 && self->head_written == 0 ? frame->fd : -1;
}

/* @written bytes left: the frames they finish are let go. */
void
p_frame_queue_advance (PFrameQueue *self,
                       gsize        written)
{
  g_assert (written <= self->size);

  self->size -= written;
  while (written > 0)
    {
      PFrame *frame = self->frames->pdata[self->head];
      gsize left = frame->segments[self->head_segment].size - self->head_written;

      if (written < left)
        {
          self->head_written += written;
          return;
        }

      written -= left;
      self->head_written = 0;
      if (++self->head_segment == frame->n_segments)
        {
          g_clear_pointer (&self->frames->pdata[self->head], p_frame_unref);
          self->head++;
          self->head_segment = 0;
        }
    }

  /* Written up: the array starts again, its allocation kept; behind, its
   * written part goes once it is most of it. */
  if (self->size == 0)
    {
      g_ptr_array_set_size (self->frames, 0);
      self->head = 0;
      self->n_frames = 0;
    }
  else if (self->head >= 64 && self->head >= self->frames->len / 2)
    {
      g_ptr_array_remove_range (self->frames, 0, self->head);
      self->head = 0;
    }
}
