/* p-result-queue.h: results in the order they become ready
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (PROCESSING_GLIB_INSIDE) && !defined (PROCESSING_GLIB_COMPILATION)
# error "Only <processing-glib/processing-glib.h> can be included directly."
#endif

#include <glib-object.h>

#include "p-version-macros.h"
#include "p-result.h"

G_BEGIN_DECLS

#define P_TYPE_RESULT_QUEUE (p_result_queue_get_type ())

P_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PResultQueue, p_result_queue, P, RESULT_QUEUE, GObject)

P_AVAILABLE_IN_0_1
PResultQueue *p_result_queue_new         (void);
P_AVAILABLE_IN_0_1
void          p_result_queue_add         (PResultQueue *self,
                                          PResult      *result);
P_AVAILABLE_IN_0_1
PResult      *p_result_queue_pop         (PResultQueue *self,
                                          gint64        timeout_usec);
P_AVAILABLE_IN_0_1
guint         p_result_queue_get_pending (PResultQueue *self);

G_END_DECLS
