/* p-result-private.h: completing a PResult
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "p-deferred-value-private.h"
#include "p-result.h"
#include "p-sink-private.h"

typedef struct _PCore PCore;

G_BEGIN_DECLS

/* Called once, in the thread that completes the result, with no lock
 * held. */
typedef void (*PResultReadyFunc) (PResult  *result,
                                  gpointer  user_data);

PResult   *p_result_new                   (GObject          *pool,
                                           PResultReadyFunc  ready_func,
                                           gpointer          ready_data);
PSinkLink *p_result_get_link              (PResult          *self);
void       p_result_return_value          (PResult          *self,
                                           GVariant         *value);
void       p_result_return_deferred_value (PResult          *self,
                                           PDeferredValue   *deferred);
void       p_result_return_error          (PResult          *self,
                                           GError           *error);
void       p_result_report_progress       (PResult          *self,
                                           double            fraction,
                                           const char       *message);
void       p_result_return_chunks         (PResult          *self,
                                           GVariant        **chunk_values,
                                           guint             n_chunks,
                                           guint             n_items);

/* What p_result_cancel() cancels: @job_id in @core. Set once, by whoever
 * submitted the work. */
void       p_result_set_job               (PResult          *self,
                                           PCore            *core,
                                           guint64           job_id);

G_END_DECLS
