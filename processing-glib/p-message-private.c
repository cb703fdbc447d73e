/* p-message-private.c: a message as received, checked and read
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "p-message-private.h"
#include "p-deferred-value-private.h"
#include "p-error.h"
#include "p-glib-workarounds-private.h"
#include "p-i18n-private.h"
#include "p-normal-form-private.h"
#include "p-variant-layout-private.h"

/* {{{ Envelopes
 *
 * A TASK "(tsv)" and a RESULT "(tv)" are most of the traffic. Their
 * framing is checked here field by field, as the specification lays it
 * out, and their value is found in place: GLib's check of the envelope
 * and a GVariant for each field on the way to the value cost more than
 * the rest of a small task. The test /channel/envelope-differential holds
 * this to GLib's verdict on the whole body.
 */

typedef struct
{
  gsize value_start;
  gsize value_size;
  const GVariantType *value_type;   /* in the body's bytes: not nul-terminated */
  gsize variant_end;                /* the value, a zero byte, its type: the "v" */
} EnvelopeValue;

/* g_variant_serialiser_is_string(): nul-terminated UTF-8, no other nul. */
static gboolean
string_is_normal (const guint8 *data,
                  gsize         size)
{
  return size > 0 && data[size - 1] == '\0' &&
         g_utf8_validate_len ((const char *) data, size - 1, NULL);
}

/* A basic value's bytes, of the right size already. */
static gboolean
basic_is_normal (char          type_char,
                 const guint8 *data,
                 gsize         size)
{
  switch (type_char)
    {
    case 'b':
      return data[0] < 2;
    case 's':
      return string_is_normal (data, size);
    case 'o':
      return string_is_normal (data, size) && g_variant_is_object_path ((const char *) data);
    case 'g':
      return string_is_normal (data, size) && g_variant_is_signature ((const char *) data);
    default:
      return TRUE;
    }
}

/* Finds the value in a TASK or RESULT body; FALSE when the envelope
 * around it is not in normal form (the value itself is not checked). */
static gboolean
envelope_locate (PMessageKind   kind,
                 const guint8  *data,
                 gsize          size,
                 EnvelopeValue *located)
{
  gsize variant_start, variant_end, separator, alignment, fixed_size;
  const char *type_string, *type_end;

  g_assert (kind == P_MESSAGE_TASK || kind == P_MESSAGE_RESULT);

  if (kind == P_MESSAGE_RESULT)
    {
      /* (tv): the id, then the variant up to the end; no offsets. */
      if (size < 8)
        return FALSE;
      variant_start = 8;
      variant_end = size;
    }
  else
    {
      /* (tsv): the id, the name, zeros up to 8-alignment, the variant,
       * then the name's end: the one framing offset, as small as the
       * size allows. */
      gsize offset_size = p_variant_offset_size (size);
      gsize name_end;

      if (size < 8 + offset_size)
        return FALSE;
      variant_end = size - offset_size;
      name_end = p_variant_read_offset (data + variant_end, offset_size);
      if (name_end < 8 || name_end > variant_end ||
          size != p_variant_container_size (variant_end, 1) ||
          !string_is_normal (data + 8, name_end - 8))
        return FALSE;

      variant_start = p_align_up (name_end, 8);
      if (variant_start > variant_end || !p_bytes_are_zero (data + name_end, variant_start - name_end))
        return FALSE;
    }

  /* The variant: its value, a zero byte, then its type up to the end
   * (type strings hold no zero byte: the last one is the separator). */
  for (separator = variant_end; separator > variant_start && data[separator - 1] != '\0'; separator--)
    ;
  if (separator == variant_start)
    return FALSE;
  separator--;

  type_string = (const char *) data + separator + 1;
  located->value_start = variant_start;
  located->value_size = separator - variant_start;
  located->value_type = (const GVariantType *) type_string;
  located->variant_end = variant_end;

  /* The usual case, a number or a string, in short. */
  if (separator + 2 == variant_end && strchr ("bynqiuxthdsog", type_string[0]) != NULL)
    {
      fixed_size = p_variant_basic_size (type_string[0]);
      return fixed_size == 0 || fixed_size == located->value_size;
    }

  if (!g_variant_type_string_scan (type_string, (const char *) data + variant_end, &type_end) ||
      type_end != (const char *) data + variant_end ||
      !g_variant_type_is_definite ((const GVariantType *) type_string))
    return FALSE;

  /* As GLib: a fixed-size value has its size, and the variant, at depth 1,
   * holds nothing that would nest too deep. */
  p_variant_type_layout (located->value_type, &alignment, &fixed_size);
  return (fixed_size == 0 || fixed_size == located->value_size) &&
         p_variant_keeps_child (1, p_variant_type_depth (located->value_type, TRUE));
}

/* }}} */

/* {{{ Messages */

/* A message's storage outlives p_message_free() while a value made from
 * its inline body holds it. (Not a g_atomic_rc_box(), which costs more:
 * see docs/performance.md.) */
PMessage *
p_message_storage_ref (PMessage *message)
{
  g_atomic_ref_count_inc (&message->ref_count);
  return message;
}

void
p_message_storage_unref (PMessage *message)
{
  if (g_atomic_ref_count_dec (&message->ref_count))
    g_free (message);
}

static const guint8 *
message_body_data (const PMessage *message,
                   gsize          *size)
{
  if (message->bytes != NULL)
    return g_bytes_get_data (message->bytes, size);

  *size = message->inline_size;
  return (const guint8 *) message->inline_body;
}

/* @size bytes at @offset of the body, shared. */
static GBytes *
message_body_range (const PMessage *message,
                    gsize           offset,
                    gsize           size)
{
  if (message->bytes != NULL)
    return g_bytes_new_from_bytes (message->bytes, offset, size);

  g_assert (offset + size <= message->inline_size);
  return g_bytes_new_with_free_func ((const guint8 *) message->inline_body + offset, size,
                                     (GDestroyNotify) p_message_storage_unref,
                                     p_message_storage_ref ((PMessage *) message));
}

/* The whole body, shared. */
GBytes *
p_message_ref_bytes (const PMessage *message)
{
  if (message->bytes != NULL)
    return g_bytes_ref (message->bytes);

  return message_body_range (message, 0, message->inline_size);
}

static GVariant *
envelope_value_new (const PMessage      *message,
                    const EnvelopeValue *located,
                    gboolean             trusted)
{
  g_autoptr(GBytes) bytes = message_body_range (message, located->value_start, located->value_size);

  return g_variant_ref_sink (g_variant_new_from_bytes (located->value_type, bytes, trusted));
}

/* Reads the value of a TASK or RESULT body: FALSE when the body is not
 * in normal form. A basic value in an inline body is deferred, any other
 * is made, sharing the body's bytes. */
static gboolean
envelope_read_value (PMessage *message)
{
  gsize size;
  const guint8 *data = message_body_data (message, &size);
  g_autoptr(GVariant) value = NULL;
  EnvelopeValue located;
  char type_char;

  if (!envelope_locate (message->kind, data, size, &located))
    return FALSE;

  type_char = g_variant_type_peek_string (located.value_type)[0];
  if (strchr ("vam({", type_char) == NULL)
    {
      if (!basic_is_normal (type_char, data + located.value_start, located.value_size))
        return FALSE;

      if (message->bytes == NULL)
        {
          message->deferred_type = located.value_type;
          message->deferred_start = located.value_start;
          message->deferred_size = located.value_size;
        }
      else
        message->value = envelope_value_new (message, &located, TRUE);
      return TRUE;
    }

  /* The value sits at depth 2: body, variant, value. GLib's own check
   * marks a small one trusted; after ours, it is made again, trusted. */
  value = envelope_value_new (message, &located, FALSE);
  if (!p_variant_is_normal_form_full (value, 2, NULL))
    return FALSE;
  if (located.value_size > P_NORMAL_FORM_GLIB_SIZE)
    {
      g_clear_pointer (&value, g_variant_unref);
      value = envelope_value_new (message, &located, TRUE);
    }

  message->value = g_steal_pointer (&value);
  return TRUE;
}

/* A TASK's arguments or a RESULT's value, made now if it was deferred
 * (each call makes another). */
GVariant *
p_message_dup_value (const PMessage *message)
{
  g_assert (message->kind == P_MESSAGE_TASK || message->kind == P_MESSAGE_RESULT);

  if (message->value != NULL)
    return g_variant_ref (message->value);

  return p_deferred_value_take (p_message_defer_value (message));
}

/* A TASK's or RESULT's value in its variant, as it is in the body: a
 * serialized "v" that shares the body's bytes (g_variant_new_variant()
 * would be serialized again, copying a large value, when it is read). */
GVariant *
p_message_dup_boxed_value (const PMessage *message)
{
  gsize size;
  const guint8 *data = message_body_data (message, &size);
  g_autoptr(GBytes) bytes = NULL;
  EnvelopeValue located;
  gboolean found;

  g_assert (message->kind == P_MESSAGE_TASK || message->kind == P_MESSAGE_RESULT);

  /* Its value alone is in shared memory: boxed without a copy. */
  if (message->sealed && message->kind == P_MESSAGE_RESULT)
    return g_variant_ref_sink (g_variant_new_variant (message->value));

  found = envelope_locate (message->kind, data, size, &located);
  g_assert (found);

  bytes = message_body_range (message, located.value_start, located.variant_end - located.value_start);
  return g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARIANT, bytes, TRUE));
}

void
p_message_free (PMessage *message)
{
  if (message == NULL)
    return;

  g_clear_pointer (&message->value, g_variant_unref);
  g_clear_pointer (&message->body, g_variant_unref);
  g_clear_pointer (&message->bytes, g_bytes_unref);
  p_message_storage_unref (message);
}

/* }}} */
/* {{{ Decoding */

/* Checks and reads @message, a body as received (owned); NULL when it
 * is malformed. */
PMessage *
p_message_decode (PMessage  *received,
                  GError   **error)
{
  g_autoptr(PMessage) message = received;
  PMessageKind kind = message->kind;
  const GVariantType *type = p_message_kind_get_body_type (kind);
  gsize size;
  const guint8 *data = message_body_data (message, &size);
  gboolean normal;

  if (kind == P_MESSAGE_TASK || kind == P_MESSAGE_RESULT)
    normal = envelope_read_value (message);
  else
    {
      message->body = g_variant_ref_sink (g_variant_new_from_bytes (type, message->bytes, FALSE));
      normal = p_variant_is_normal_form (message->body);
    }

  if (!normal)
    {
      g_set_error (error, P_POOL_ERROR, P_POOL_ERROR_PROTOCOL,
                   /* Translators: %u is the number of a kind of message, %s a
                    * GVariant type string such as “(tsv)”. */
                   _("Message of kind %u is not a %s in normal form"),
                   (guint) kind, g_variant_type_peek_string (type));
      return NULL;
    }

  /* Checked: trusted from now on, so that no later use checks it again
   * (the fields a worker sends back, say). GLib's own check marks it so;
   * after ours, it is made again, trusted. */
  if (message->body != NULL && size > P_NORMAL_FORM_GLIB_SIZE)
    {
      g_clear_pointer (&message->body, g_variant_unref);
      message->body = g_variant_ref_sink (g_variant_new_from_bytes (type, message->bytes, TRUE));
    }

  /* Every kind but HELLO and FEATURES is a tuple that starts with its "t"
   * id (at least 8 bytes, being in normal form); in a TASK, a CHUNK and an
   * ERROR, a string follows it, which normal form ends with its only nul. */
  if (kind != P_MESSAGE_HELLO && kind != P_MESSAGE_FEATURES)
    memcpy (&message->id, data, sizeof message->id);
  if (kind == P_MESSAGE_TASK || kind == P_MESSAGE_CHUNK || kind == P_MESSAGE_ERROR)
    message->name = (const char *) data + sizeof (guint64);

  return g_steal_pointer (&message);
}

/* }}} */
