/* p-message-writer-private.h: messages written as frames
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "p-chunk-results-private.h"
#include "p-frame-private.h"
#include "p-protocol-private.h"

G_BEGIN_DECLS

/* Any message, as GLib serializes its body: the rare kinds. */
GBytes *p_message_encode               (PMessageKind         kind,
                                        GVariant            *body,
                                        gsize                max_message_size,
                                        GError             **error);
PFrame *p_message_encode_id            (PMessageKind         kind,
                                        guint64              id);
PFrame *p_message_encode_error         (guint64              id,
                                        const GError        *error,
                                        gsize                max_message_size);
PFrame *p_message_encode_hello         (guint32              version,
                                        gint64               pid,
                                        const char * const  *functions,
                                        gsize                max_message_size);
PFrame *p_message_encode_features      (GVariant            *features);
PFrame *p_message_encode_progress      (guint64              id,
                                        double               fraction,
                                        const char          *message);

/* The hot path's kinds, written directly (the same bytes). */
PFrame *p_message_encode_task          (guint64              id,
                                        const char          *function,
                                        GVariant            *args,
                                        gsize                max_message_size,
                                        GError             **error);
PFrame *p_message_encode_task_bytes    (guint64              id,
                                        const char          *function,
                                        GBytes              *bytes,
                                        gsize                max_message_size,
                                        GError             **error);
PFrame *p_message_encode_task_item     (guint64              id,
                                        const char          *function,
                                        GVariant            *items,
                                        gsize                index,
                                        gsize                max_message_size,
                                        GError             **error);
PFrame *p_message_encode_chunk_items   (guint64              id,
                                        const char          *function,
                                        GVariant            *all_items,
                                        gsize                first,
                                        gsize                n,
                                        gboolean             stop_at_first_error,
                                        gsize                max_message_size,
                                        GError             **error);
PFrame *p_message_encode_result        (guint64              id,
                                        GVariant            *value,
                                        gsize                max_message_size,
                                        GError             **error);
PFrame *p_message_encode_chunk_result  (guint64              id,
                                        PChunkResults       *results,
                                        GVariant            *errors,
                                        gsize                max_message_size,
                                        GError             **error);
PFrame *p_message_encode_chunk_result_array (guint64          id,
                                             GVariant        *values,
                                             GVariant        *errors,
                                             gsize            max_message_size,
                                             GError         **error);

G_END_DECLS
