/* p-result.h: the result of a task submitted to a pool
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

G_BEGIN_DECLS

#define P_TYPE_RESULT (p_result_get_type ())

P_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PResult, p_result, P, RESULT, GObject)

P_AVAILABLE_IN_0_1
gboolean  p_result_ready      (PResult  *self);
P_AVAILABLE_IN_0_1
gboolean  p_result_successful (PResult  *self);
P_AVAILABLE_IN_0_1
gboolean  p_result_wait       (PResult  *self,
                               gint64    timeout_usec);
P_AVAILABLE_IN_0_1
GVariant *p_result_get        (PResult  *self,
                               gint64    timeout_usec,
                               GError  **error);
P_AVAILABLE_IN_0_1
double    p_result_get_progress (PResult *self);
P_AVAILABLE_IN_0_1
char     *p_result_dup_progress_message (PResult *self);
P_AVAILABLE_IN_0_1
gboolean  p_result_cancel     (PResult  *self);

G_END_DECLS
