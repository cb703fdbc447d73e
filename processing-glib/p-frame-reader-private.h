/* p-frame-reader-private.h: frames read from a stream, as messages
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "p-message-private.h"

G_BEGIN_DECLS

/* Takes bytes as they come (read into the space it gives, or fed) and
 * descriptors, and pops whole messages, checked: the only way into the
 * library for what a peer sends. */
typedef struct _PFrameReader PFrameReader;

PFrameReader *p_frame_reader_new       (PDirection      direction,
                                        gsize           max_message_size);
void          p_frame_reader_free      (PFrameReader   *self);
guint8       *p_frame_reader_get_space (PFrameReader   *self,
                                        gsize          *size);
void          p_frame_reader_commit    (PFrameReader   *self,
                                        gsize           n_bytes);
void          p_frame_reader_feed      (PFrameReader   *self,
                                        const guint8   *data,
                                        gsize           size);
void          p_frame_reader_add_fd    (PFrameReader   *self,
                                        int             fd);
gssize        p_frame_reader_receive   (PFrameReader   *self,
                                        int             socket_fd,
                                        gsize          *space,
                                        GError        **error);
gboolean      p_frame_reader_pop       (PFrameReader   *self,
                                        PMessage      **message,
                                        GError        **error);
gboolean      p_frame_reader_is_idle   (PFrameReader   *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PFrameReader, p_frame_reader_free)

G_END_DECLS
