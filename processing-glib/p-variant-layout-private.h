/* p-variant-layout-private.h: how GVariant lays out a serialized value
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <string.h>

#include <glib.h>

G_BEGIN_DECLS

/* The serialization format is fixed by the GVariant specification (GLib's
 * docs, "GVariant Serialization"): the normal-form check, the envelope
 * parser, the frame writer and the joining of a map's results read and
 * write it directly, with these. */

/* GLib's G_VARIANT_MAX_RECURSION_DEPTH (private in gvariant-serialiser.h):
 * nothing nested this deep is in normal form. */
#define P_VARIANT_MAX_DEPTH 128

/* The size of a fixed-size basic type ("y", "x", …); 0 for any other. */
static inline gsize
p_variant_basic_size (char type_char)
{
  switch (type_char)
    {
    case 'b': case 'y':
      return 1;
    case 'n': case 'q':
      return 2;
    case 'i': case 'u': case 'h':
      return 4;
    case 'x': case 't': case 'd':
      return 8;
    default:
      return 0;
    }
}

/* @alignment is a power of two. */
static inline gsize
p_align_up (gsize offset,
            gsize alignment)
{
  return (offset + alignment - 1) & ~(alignment - 1);
}

/* How many bytes each framing offset of a container of @container_size
 * bytes takes. */
static inline gsize
p_variant_offset_size (gsize container_size)
{
  if (container_size > G_MAXUINT32)
    return 8;
  if (container_size > G_MAXUINT16)
    return 4;
  if (container_size > G_MAXUINT8)
    return 2;
  return container_size > 0 ? 1 : 0;
}

/* The size of a container whose items take @body_size bytes and which
 * needs @n_offsets framing offsets: offsets are as small as they can be. */
static inline gsize
p_variant_container_size (gsize body_size,
                          gsize n_offsets)
{
  if (body_size + n_offsets <= G_MAXUINT8)
    return body_size + n_offsets;
  if (body_size + 2 * n_offsets <= G_MAXUINT16)
    return body_size + 2 * n_offsets;
  if (body_size + 4 * n_offsets <= G_MAXUINT32)
    return body_size + 4 * n_offsets;
  return body_size + 8 * n_offsets;
}

/* Framing offsets are little-endian, whatever the host is. */
static inline gsize
p_variant_read_offset (const guint8 *data,
                       gsize         offset_size)
{
  guint64 value = 0;

  for (gsize i = 0; i < offset_size; i++)
    value |= (guint64) data[i] << (8 * i);

  return value;
}

static inline void
p_variant_write_offset (guint8 *data,
                        gsize   value,
                        gsize   offset_size)
{
  switch (offset_size)
    {
    case 1:
      data[0] = value;
      break;

    case 2:
      {
        guint16 le = GUINT16_TO_LE ((guint16) value);

        memcpy (data, &le, sizeof le);
      }
      break;

    case 4:
      {
        guint32 le = GUINT32_TO_LE ((guint32) value);

        memcpy (data, &le, sizeof le);
      }
      break;

    default:
      {
        guint64 le = GUINT64_TO_LE ((guint64) value);

        g_assert (offset_size == 8);
        memcpy (data, &le, sizeof le);
      }
    }
}

static inline gboolean
p_bytes_are_zero (const guint8 *data,
                  gsize         size)
{
  for (gsize i = 0; i < size; i++)
    if (data[i] != 0)
      return FALSE;

  return TRUE;
}

/* Whether GLib gives a variant at @depth its child of @child_depth, or a
 * unit tuple in its place (g_variant_get_child_value()). */
static inline gboolean
p_variant_keeps_child (gsize depth,
                       gsize child_depth)
{
  return depth + child_depth < P_VARIANT_MAX_DEPTH;
}

void  p_variant_type_layout (const GVariantType *type,
                             gsize              *alignment,
                             gsize              *fixed_size);
gsize p_variant_type_depth  (const GVariantType *type,
                             gboolean            as_glib_type_depth);

G_END_DECLS
