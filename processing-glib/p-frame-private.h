/* p-frame-private.h: a frame ready to be written
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Values at least this large are shared, not copied, into a frame, and
 * a map's results of that size are joined by reference. */
#define P_FRAME_SHARE_THRESHOLD (16 * 1024)

/* A segment of a frame: bytes of the frame's own, or shared with a value. */
typedef struct
{
  GBytes *shared;          /* or NULL: in the frame's own bytes */
  const guint8 *data;
  gsize size;
} PFrameSegment;

/* A frame ready to be written: a header and a body (docs/protocol.md),
 * as bytes of its own and, for large values, segments shared with them,
 * written with one writev(). Immutable once made; a chunk keeps its frame
 * to send it again should its worker die. Made by p-message-writer-private.c
 * and p-sealed-private.c. */
typedef struct
{
  gatomicrefcount ref_count;
  guint n_segments;
  gsize allocation_size;
  gsize size;
  PFrameSegment *segments; /* &one_segment, or an allocation of their own */
  guint8 *own;             /* the bytes written, not shared: inline_bytes or allocated */
  int fd;                  /* sent along its first byte (a sealed message's); -1 for none */
  gboolean stream_only;    /* never sealed, however large (p_frame_seal_if_large()) */
  PFrameSegment one_segment;
  guint8 inline_bytes[];   /* a frame in one piece: its bytes, in the same allocation */
} PFrame;

/* A frame with @inline_size bytes of its own after it, no segment yet. A
 * slice, as it is mostly made in one thread and freed in another (see
 * p-glib-workarounds-private.h, "GSlice"). */
static inline PFrame *
p_frame_alloc (gsize inline_size)
{
  PFrame *frame = g_slice_alloc (sizeof (PFrame) + inline_size);

  g_atomic_ref_count_init (&frame->ref_count);
  frame->allocation_size = sizeof (PFrame) + inline_size;
  frame->n_segments = 0;
  frame->size = 0;
  frame->segments = &frame->one_segment;
  frame->own = inline_size > 0 ? frame->inline_bytes : NULL;
  frame->fd = -1;
  frame->stream_only = FALSE;

  return frame;
}

PFrame *p_frame_new_from_bytes (GBytes *bytes);
PFrame *p_frame_ref            (PFrame *frame);
void    p_frame_unref          (PFrame *frame);
gsize   p_frame_get_size       (PFrame *frame);
int     p_frame_get_fd         (PFrame *frame);
gsize   p_frame_copy_to        (PFrame *frame,
                                guint8 *dest);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PFrame, p_frame_unref)

G_END_DECLS
