/* p-frame-queue-private.h: frames waiting to be written
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "p-frame-private.h"

G_BEGIN_DECLS

/* Frames waiting to be written: many frames per system call, large
 * segments never copied. */
typedef struct
{
  GPtrArray *frames;       /* PFrame; those from @head on are not written yet */
  guint head;
  guint head_segment;      /* of the head frame, the first not written yet */
  gsize head_written;      /* bytes of that segment already written */
  gsize size;              /* bytes not written yet */
  guint n_frames;          /* frames pushed since it was last empty */
} PFrameQueue;

void     p_frame_queue_init     (PFrameQueue       *self);
void     p_frame_queue_clear    (PFrameQueue       *self);
void     p_frame_queue_push     (PFrameQueue       *self,
                                 PFrame            *frame);
gboolean p_frame_queue_is_empty (const PFrameQueue *self);
gsize    p_frame_queue_peek     (const PFrameQueue *self,
                                 GOutputVector     *vectors,
                                 gsize              max_vectors);
int      p_frame_queue_peek_fd  (const PFrameQueue *self);
void     p_frame_queue_advance  (PFrameQueue       *self,
                                 gsize              written);

G_END_DECLS
