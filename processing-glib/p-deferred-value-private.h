/* p-deferred-value-private.h: a received value made by the thread that
 * uses it
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "p-message-private.h"

G_BEGIN_DECLS

/* A TASK's or RESULT's value of a basic type, checked but not made yet:
 * kept past p_message_free() (it holds the message's storage, no
 * allocation) for the thread that reads it to make, so that one thread
 * allocates and frees its GVariant and GBytes. */
typedef struct _PDeferredValue PDeferredValue;

PDeferredValue *p_message_defer_value (const PMessage *message);
GVariant       *p_deferred_value_take (PDeferredValue *deferred);
void            p_deferred_value_free (PDeferredValue *deferred);

G_END_DECLS
