/* test-support.h: what the suites and the fuzz targets share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "p-chunk-results-private.h"
#include "p-deferred-value-private.h"
#include "p-frame-private.h"
#include "p-frame-queue-private.h"
#include "p-frame-reader-private.h"
#include "p-message-private.h"
#include "p-message-writer-private.h"
#include "p-normal-form-private.h"
#include "p-protocol-private.h"
#include "p-variant-layout-private.h"

G_BEGIN_DECLS

/* The largest message the suites make. */
#define TEST_MAX_MESSAGE_SIZE ((gsize) 64 * 1024 * 1024)

/* Message bodies, as GLib builds them. */
GVariant *message_new_task               (guint64             id,
                                          const char         *function,
                                          GVariant           *args);
GVariant *message_new_chunk              (guint64             id,
                                          const char         *function,
                                          GVariant           *items,
                                          gboolean            stop_at_first_error);
GVariant *message_new_id                 (guint64             id);
GVariant *message_new_result             (guint64             id,
                                          GVariant           *value);
GVariant *message_new_error              (guint64             id,
                                          const GError       *error);
GVariant *message_new_chunk_result       (guint64             id,
                                          GVariant          **values,
                                          gsize               n_values,
                                          GVariant           *errors);
GVariant *message_dup_body               (const PMessage     *message);
PFrame   *frame_new_from_segments        (GBytes * const     *segments,
                                          guint               n_segments);
gboolean  variant_is_normal_form_walking (GVariant           *value);

/* Frames. */
GBytes   *encode                         (PMessageKind        kind,
                                          GVariant           *body);
GBytes   *raw_frame                      (guint32             size,
                                          guint32             kind,
                                          const guint8       *body,
                                          gsize               body_size);
const char *body_name                    (GVariant           *body);
GBytes   *joined                         (PFrame             *frame);
void      assert_same_frame              (PFrame             *direct,
                                          GBytes             *reference);
gboolean  fd_is_open                     (int                 fd);

/* Random values, and the verdicts on them. */
char     *random_type                    (GRand              *rand,
                                          int                 depth);
GVariant *random_value                   (GRand              *rand,
                                          const GVariantType *type,
                                          int                 depth);
GBytes   *damaged_copy                   (GRand              *rand,
                                          GBytes             *bytes,
                                          gssize              type_char_at);
void      assert_same_verdict            (const GVariantType *type,
                                          GBytes             *bytes,
                                          gboolean            expect_normal);
void      assert_envelope_verdict        (PMessageKind        kind,
                                          GBytes             *body_bytes,
                                          gboolean            expect_normal);

G_END_DECLS
