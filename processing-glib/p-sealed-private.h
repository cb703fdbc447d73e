/* p-sealed-private.h: large values in shared memory (version 3)
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "p-frame-private.h"
#include "p-message-private.h"

G_BEGIN_DECLS

PFrame                *p_frame_new_sealed             (PFrame       *frame,
                                                       GError      **error);
PFrame                *p_frame_seal_if_large          (PFrame       *frame);
PFrame                *p_message_encode_sealed_result (guint64       id,
                                                       GVariant     *value,
                                                       GError      **error);
PMessage              *p_sealed_open                  (PMessage     *received,
                                                       int           fd,
                                                       PDirection    direction,
                                                       gsize         max_message_size,
                                                       GError      **error);

GSocketControlMessage *p_fd_message_new               (int           fd,
                                                       GError      **error);

G_END_DECLS
