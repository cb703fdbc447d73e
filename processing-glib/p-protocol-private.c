/* p-protocol-private.c: the protocol's rules, beyond each message's type
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "p-protocol-private.h"
#include "p-error.h"
#include "p-i18n-private.h"

/* {{{ Messages: their kinds, directions and size */

const GVariantType *
p_message_kind_get_body_type (PMessageKind kind)
{
  /* Literals known valid: G_VARIANT_TYPE() would check them every time. */
  switch (kind)
    {
    case P_MESSAGE_TASK:         return (const GVariantType *) "(tsv)";
    case P_MESSAGE_CHUNK:        return (const GVariantType *) "(tsvb)";
    case P_MESSAGE_CANCEL:
    case P_MESSAGE_RECALL:
    case P_MESSAGE_RECALLED:     return (const GVariantType *) "(t)";
    case P_MESSAGE_HELLO:        return (const GVariantType *) "(uxas)";
    case P_MESSAGE_RESULT:       return (const GVariantType *) "(tv)";
    case P_MESSAGE_ERROR:        return (const GVariantType *) "(tsis)";
    case P_MESSAGE_CHUNK_RESULT: return (const GVariantType *) "(tva(usis))";
    case P_MESSAGE_SEALED:       return (const GVariantType *) "(ut)";
    case P_MESSAGE_SEALED_RESULT: return (const GVariantType *) "(tstt)";
    case P_MESSAGE_FEATURES:     return (const GVariantType *) "(a{sv})";
    case P_MESSAGE_PROGRESS:     return (const GVariantType *) "(tds)";
    default:                     return NULL;
    }
}

gboolean
p_message_kind_is_valid (PMessageKind kind,
                         PDirection   direction)
{
  switch (kind)
    {
    case P_MESSAGE_TASK:
    case P_MESSAGE_CHUNK:
    case P_MESSAGE_CANCEL:
    case P_MESSAGE_RECALL:
      return direction == P_DIRECTION_TO_WORKER;

    case P_MESSAGE_SEALED:
      return TRUE;

    case P_MESSAGE_HELLO:
    case P_MESSAGE_RESULT:
    case P_MESSAGE_ERROR:
    case P_MESSAGE_CHUNK_RESULT:
    case P_MESSAGE_RECALLED:
    case P_MESSAGE_SEALED_RESULT:
    case P_MESSAGE_FEATURES:
    case P_MESSAGE_PROGRESS:
      return direction == P_DIRECTION_TO_POOL;

    default:
      return FALSE;
    }
}

/* Fails with G_IO_ERROR_MESSAGE_TOO_LARGE when a body of @size bytes is
 * over the limit. */
gboolean
p_message_size_check (gsize    size,
                      gsize    max_message_size,
                      GError **error)
{
  if (size <= max_message_size)
    return TRUE;

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
               _("Message of %zu bytes is over the limit of %zu bytes"),
               size, max_message_size);
  return FALSE;
}

/* }}} */
/* {{{ What a message's fields must say, beyond its type */

/* An error domain's name, as a GQuark's string: the pool interns it, so a
 * worker must not be able to make up arbitrary ones. */
gboolean
p_error_domain_is_valid (const char *domain)
{
  gsize length = 0;

  for (const char *p = domain; *p != '\0'; p++, length++)
    if (length >= 128 || !(g_ascii_isalnum (*p) || strchr ("-_.:", *p) != NULL))
      return FALSE;

  return length > 0 && length < 128;
}

/* A CHUNK's items are an array. */
gboolean
p_chunk_message_holds_array (GVariant *body)
{
  g_autoptr(GVariant) boxed = g_variant_get_child_value (body, 2);
  g_autoptr(GVariant) items = g_variant_get_variant (boxed);

  return g_variant_is_of_type (items, G_VARIANT_TYPE_ARRAY);
}

/* A CHUNK_RESULT for a chunk of @n_items: @values (what its variant
 * holds) is an array; failures in item order; every
 * item once when the chunk does not stop at its first failure; the items
 * up to and including the first failure when it does. */
gboolean
p_chunk_result_is_valid (GVariant   *values,
                         GVariant   *errors,
                         guint       n_items,
                         PChunkRule  rule)
{
  gsize n_values;
  gsize n_errors = g_variant_n_children (errors);
  guint32 first_index = 0;
  guint32 previous = 0;

  if (!g_variant_is_of_type (values, G_VARIANT_TYPE_ARRAY))
    return FALSE;
  n_values = g_variant_n_children (values);

  for (gsize i = 0; i < n_errors; i++)
    {
      const char *domain;
      guint32 index;

      g_variant_get_child (errors, i, "(u&sis)", &index, &domain, NULL, NULL);
      if (index >= n_items || (i > 0 && index <= previous) || !p_error_domain_is_valid (domain))
        return FALSE;
      if (i == 0)
        first_index = index;
      previous = index;
    }

  if (n_values + n_errors == n_items)
    return rule != P_CHUNK_RULE_MAP || n_errors == 0 || (n_errors == 1 && first_index == n_values);

  return rule != P_CHUNK_RULE_IMAP && n_errors == 1 && first_index == n_values;
}

/* }}} */
/* {{{ The environment a pool gives its worker */

/* "FD:PPID:MAX_MESSAGE_SIZE": the channel's descriptor, the pool's pid
 * and the message size limit. */
gboolean
p_channel_parse_env (const char *value,
                     int        *fd,
                     GPid       *parent_pid,
                     gsize      *max_message_size)
{
  g_auto(GStrv) parts = NULL;
  guint64 numbers[3];

  if (value == NULL)
    return FALSE;

  parts = g_strsplit (value, ":", -1);
  if (g_strv_length (parts) != 3)
    return FALSE;

  for (guint i = 0; i < 3; i++)
    if (!g_ascii_string_to_unsigned (parts[i], 10, 0, G_MAXUINT32, &numbers[i], NULL))
      return FALSE;

  if (numbers[2] < P_MIN_MAX_MESSAGE_SIZE || numbers[2] > P_MAX_MAX_MESSAGE_SIZE)
    return FALSE;

  *fd = (int) numbers[0];
  *parent_pid = (GPid) numbers[1];
  *max_message_size = numbers[2];

  return TRUE;
}

/* }}} */
