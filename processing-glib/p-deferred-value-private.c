/* p-deferred-value-private.c: a received value made by the thread that
 * uses it
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "p-deferred-value-private.h"

/* A PDeferredValue is the storage of the message that holds its bytes:
 * a reference to it is all it takes. */

/* The message's deferred value, kept without the rest of the message;
 * NULL when its value was made already (p_message_dup_value() gives it). */
PDeferredValue *
p_message_defer_value (const PMessage *message)
{
  if (message->deferred_type == NULL)
    return NULL;

  return (PDeferredValue *) p_message_storage_ref ((PMessage *) message);
}

/* Makes the value, which takes @deferred. */
GVariant *
p_deferred_value_take (PDeferredValue *deferred)
{
  PMessage *storage = (PMessage *) deferred;
  g_autoptr(GBytes) bytes = g_bytes_new_with_free_func ((const guint8 *) storage->inline_body + storage->deferred_start,
                                                        storage->deferred_size,
                                                        (GDestroyNotify) p_message_storage_unref,
                                                        storage);

  g_assert (storage->deferred_type != NULL);
  return g_variant_ref_sink (g_variant_new_from_bytes (storage->deferred_type, bytes, TRUE));
}

void
p_deferred_value_free (PDeferredValue *deferred)
{
  p_message_storage_unref ((PMessage *) deferred);
}
