/* p-reply-area-private.h: memory a worker shares with its pool, where it
 * holds replies back (docs/protocol.md, section 12)
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The reply area: memory the pool shares with a worker, in which the
 * worker keeps the replies it holds back to send several in one write, so
 * that they outlive it. */
#define P_REPLY_AREA_CAPACITY ((gsize) 64 * 1024)
#define P_REPLY_AREA_MIN_CAPACITY ((gsize) 4096)
#define P_REPLY_AREA_MAX_CAPACITY ((gsize) 16 * 1024 * 1024)

typedef struct
{
  guint64 stream_offset;   /* where in the worker's stream the held bytes start */
  guint32 length;          /* how many are held; stored after them */
  guint32 reserved;
  guint8 data[];           /* @capacity bytes */
} PReplyArea;

PReplyArea   *p_reply_area_new        (gsize             capacity,
                                       int              *fd,
                                       GError          **error);
PReplyArea   *p_reply_area_map_env    (const char       *value,
                                       gsize            *capacity);
void          p_reply_area_unmap      (PReplyArea       *area,
                                       gsize             capacity);
const guint8 *p_reply_area_get_unsent (const PReplyArea *area,
                                       gsize             capacity,
                                       guint64           received,
                                       gsize            *length);

G_END_DECLS
