/* p-message-private.h: a message as received, checked and read
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <string.h>

#include <gio/gio.h>

#include "p-glib-workarounds-private.h"
#include "p-protocol-private.h"

G_BEGIN_DECLS

/* A message as received. A TASK's and a RESULT's fields are read in
 * place, without a GVariant of the whole body; every other kind keeps its
 * body, in normal form and trusted.
 *
 * A TASK's or RESULT's value of a basic type, in an inline body, is
 * checked but not made: p_message_dup_value() makes it in the thread that
 * uses it, so that its GVariant and GBytes are allocated and freed by one
 * thread (see p-glib-workarounds-private.h, "one thread allocates").
 *
 * A small TASK's or RESULT's body is stored inline, in the message's own
 * allocation, which the value made from it keeps alive past
 * p_message_free(): one allocation where there were a message, a buffer
 * and the buffer's GBytes. */
typedef struct
{
  PMessageKind kind;
  guint64 id;              /* every kind but HELLO and FEATURES */
  const char *name;        /* TASK, CHUNK: the function; ERROR: the domain; in the body; else NULL */
  GVariant *value;         /* TASK: the arguments; RESULT: the value; NULL if deferred or another kind */
  GVariant *body;          /* every kind but TASK and RESULT; else NULL */
  GBytes *bytes;           /* the body's, unless it is inline: see p_message_ref_bytes() */
  GList link;              /* for whoever queues it; data is the message */
  gboolean sealed;         /* its value, or its body, is in shared memory */

  /*< private >*/
  gatomicrefcount ref_count;
  const GVariantType *deferred_type;   /* a value not made yet: in the inline body */
  gsize deferred_start;
  gsize deferred_size;
  gsize inline_size;
  guint64 inline_body[];   /* 8-aligned, then P_BODY_SLACK zeros */
} PMessage;

PMessage           *p_message_decode             (PMessage       *received,
                                                  GError        **error);
GBytes             *p_message_ref_bytes          (const PMessage *message);
GVariant           *p_message_dup_boxed_value    (const PMessage *message);
GVariant           *p_message_dup_value          (const PMessage *message);
void                p_message_free               (PMessage       *message);

/* The storage of a message, which outlives p_message_free() while a value
 * made from its inline body holds it (see p-deferred-value-private.h). */
PMessage           *p_message_storage_ref        (PMessage       *message);
void                p_message_storage_unref      (PMessage       *message);

/* A message of @kind; its body, when it is not given here, is the @bytes
 * the caller sets. */
static inline PMessage *
p_message_new (PMessageKind  kind,
               const guint8 *inline_body,
               gsize         inline_size)
{
  gsize storage_size = inline_body != NULL ? inline_size + P_BODY_SLACK : 0;
  PMessage *message = g_malloc (sizeof (PMessage) + storage_size);

  memset (message, 0, sizeof *message);
  message->kind = kind;
  message->link.data = message;
  g_atomic_ref_count_init (&message->ref_count);

  if (inline_body != NULL)
    {
      message->inline_size = inline_size;
      memcpy (message->inline_body, inline_body, inline_size);
      memset ((guint8 *) message->inline_body + inline_size, 0, P_BODY_SLACK);
    }

  return message;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PMessage, p_message_free)

G_END_DECLS
