/* p-normal-form-private.c: whether a GVariant is in normal form, and deep
 * enough to travel
 *
 * GLib 2.74 checks an array of fixed-size items one item at a time, with a
 * function call per byte of an "ay": the payloads this protocol carries are
 * mostly such arrays. This check walks the containers that may hold them,
 * checks their framing itself (the layout is fixed by the GVariant
 * specification) and leaves everything else to g_variant_is_normal_form().
 * tests/fuzz/fuzz-normal-form.c holds it to GLib's answer.
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "p-normal-form-private.h"
#include "p-i18n-private.h"
#include "p-variant-layout-private.h"

/* Below P_NORMAL_FORM_GLIB_SIZE, GLib's own check is used as it is (where
 * it gives the same answer: see glib_check_is_exact()). */
static const PWalkOptions default_options = { P_NORMAL_FORM_GLIB_SIZE, FALSE };

static gboolean
glib_check_is_exact (GVariant *value,
                     guint     depth)
{
  return strchr (g_variant_get_type_string (value), 'v') == NULL &&
         depth + p_variant_type_depth (g_variant_get_type (value), FALSE) <= P_VARIANT_MAX_DEPTH;
}

static gboolean variant_is_normal (GVariant *value, guint depth, const PWalkOptions *options);

/* Checks that @child sits at @offset in its container's bytes, after zero
 * padding from @previous_end, and is itself normal; returns its end. */
static gboolean
check_member (const guint8       *data,
              gsize               size,
              gsize               previous_end,
              gsize               offset,
              GVariant           *child,
              guint               depth,
              const PWalkOptions *options,
              gsize              *end)
{
  gsize child_size = g_variant_get_size (child);

  if (offset < previous_end || offset > size || child_size > size - offset ||
      (offset > previous_end && !p_bytes_are_zero (data + previous_end, offset - previous_end)))
    return FALSE;

  /* A child GLib could not find in the container's bytes (bad framing)
   * comes from elsewhere. */
  if (child_size > 0 && (const guint8 *) g_variant_get_data (child) != data + offset)
    return FALSE;

  *end = offset + child_size;
  return variant_is_normal (child, depth + 1, options);
}

static gboolean
container_is_normal (GVariant           *value,
                     guint               depth,
                     const PWalkOptions *options)
{
  const GVariantType *type = g_variant_get_type (value);
  const char *type_string = g_variant_get_type_string (value);
  const guint8 *data = g_variant_get_data (value);
  gsize size = g_variant_get_size (value);
  gsize n_children = g_variant_n_children (value);
  g_autofree gsize *ends = NULL;
  gsize n_offsets = 0;
  gsize end = 0;
  gboolean normal = TRUE;

  switch (type_string[0])
    {
    case 'v':
      {
        g_autoptr(GVariant) child = g_variant_get_child_value (value, 0);
        const char *child_type = g_variant_get_type_string (child);
        gsize type_length = strlen (child_type);

        /* The child's bytes, a zero byte, the child's type; and no deeper
         * than GLib allows (GLib, not knowing how deep this value sits in
         * the message, may have given the child anyway). */
        return p_variant_keeps_child (depth, p_variant_type_depth (g_variant_get_type (child), TRUE)) &&
               check_member (data, size, 0, 0, child, depth, options, &end) &&
               size == end + 1 + type_length &&
               data[end] == '\0' &&
               memcmp (data + end + 1, child_type, type_length) == 0;
      }

    case 'm':
      {
        g_autoptr(GVariant) child = NULL;
        gsize alignment, fixed_size;

        if (n_children == 0)
          return size == 0;

        child = g_variant_get_child_value (value, 0);
        p_variant_type_layout (g_variant_type_element (type), &alignment, &fixed_size);

        /* A variable-size child is followed by a zero byte. */
        return check_member (data, size, 0, 0, child, depth, options, &end) &&
               (fixed_size > 0 ? size == end : (size == end + 1 && data[end] == '\0'));
      }

    case 'a':
      {
        const GVariantType *element = g_variant_type_element (type);
        g_autoptr(GBytes) bytes = NULL;
        gsize alignment, fixed_size, offset_size, items_end, n_items;

        /* Fixed-size items (tuples of basic items) hold no bulk; too deep,
         * only an empty array is normal. */
        p_variant_type_layout (element, &alignment, &fixed_size);
        if (fixed_size > 0)
          return glib_check_is_exact (value, depth) ? g_variant_is_normal_form (value) : size == 0;

        if (size == 0)
          return TRUE;

        /* Items each aligned, then the end offset of every item: the last
         * offset says where the table begins. Read here rather than with
         * g_variant_get_child_value(), which in GLib 2.74 checks the table
         * up to each item again on untrusted data: quadratic. */
        offset_size = p_variant_offset_size (size);
        items_end = p_variant_read_offset (data + size - offset_size, offset_size);
        if (items_end > size || (size - items_end) % offset_size != 0)
          return FALSE;

        n_items = (size - items_end) / offset_size;
        if (n_items == 0 || size != p_variant_container_size (items_end, n_items))
          return FALSE;

        bytes = g_variant_get_data_as_bytes (value);
        for (gsize i = 0; i < n_items; i++)
          {
            gsize start = p_align_up (end, alignment);
            gsize item_end = p_variant_read_offset (data + items_end + i * offset_size, offset_size);
            g_autoptr(GBytes) item_bytes = NULL;
            g_autoptr(GVariant) item = NULL;

            if (start > item_end || item_end > items_end ||
                (start > end && !p_bytes_are_zero (data + end, start - end)))
              return FALSE;

            item_bytes = g_bytes_new_from_bytes (bytes, start, item_end - start);
            item = g_variant_ref_sink (g_variant_new_from_bytes (element, item_bytes, FALSE));
            if (!variant_is_normal (item, depth + 1, options))
              return FALSE;

            end = item_end;
          }

        return TRUE;
      }

    case '(': case '{':
      {
        gsize i = 0;
        gsize alignment, fixed_size;

        /* Every member of a fixed-size tuple is there: too deep is
         * never normal. */
        p_variant_type_layout (type, &alignment, &fixed_size);
        if (fixed_size > 0)
          return glib_check_is_exact (value, depth) && g_variant_is_normal_form (value);

        /* Members each aligned; the end offset of every variable-size
         * member but the last, in reverse order. */
        ends = g_new (gsize, n_children + 1);
        for (const GVariantType *member = g_variant_type_first (type);
             member != NULL && normal;
             member = g_variant_type_next (member), i++)
          {
            g_autoptr(GVariant) child = g_variant_get_child_value (value, i);
            gsize member_alignment, member_size;

            p_variant_type_layout (member, &member_alignment, &member_size);
            normal = check_member (data, size, end, p_align_up (end, member_alignment), child, depth, options, &end);
            if (member_size == 0 && g_variant_type_next (member) != NULL)
              ends[n_offsets++] = end;
          }

        /* Stored last first. */
        for (gsize j = 0; j < n_offsets / 2; j++)
          {
            gsize swap = ends[j];

            ends[j] = ends[n_offsets - 1 - j];
            ends[n_offsets - 1 - j] = swap;
          }
      }
      break;

    default:
      g_assert_not_reached ();
    }

  if (!normal || size != p_variant_container_size (end, n_offsets))
    return FALSE;

  {
    gsize offset_size = p_variant_offset_size (size);

    for (gsize i = 0; i < n_offsets; i++)
      if (p_variant_read_offset (data + end + i * offset_size, offset_size) != ends[i])
        return FALSE;
  }

  return TRUE;
}

/* Whether a value of this type may hold an array of fixed-size basic
 * items, directly or in a variant. */
static gboolean
may_hold_bulk (const char *type_string)
{
  for (const char *p = type_string; *p != '\0'; p++)
    if (*p == 'v' || (*p == 'a' && p_variant_basic_size (p[1]) > 0))
      return TRUE;

  return FALSE;
}

static gboolean
variant_is_normal (GVariant           *value,
                   guint               depth,
                   const PWalkOptions *options)
{
  const char *type_string = g_variant_get_type_string (value);
  gsize size = g_variant_get_size (value);

  /* As GLib: nothing is normal this deep. */
  if (depth >= P_VARIANT_MAX_DEPTH)
    return FALSE;

  /* An array of fixed-size basic items is normal when it holds a whole
   * number of them (and booleans are 0 or 1). */
  if (type_string[0] == 'a' && p_variant_basic_size (type_string[1]) > 0)
    {
      const guint8 *data;

      if (size % p_variant_basic_size (type_string[1]) != 0)
        return FALSE;
      if (type_string[1] != 'b')
        return TRUE;

      data = g_variant_get_data (value);
      for (gsize i = 0; i < size; i++)
        if (data[i] > 1)
          return FALSE;

      return TRUE;
    }

  /* At the top, GLib counts depth as we do. */
  if (!g_variant_is_container (value) ||
      ((depth == 0 || glib_check_is_exact (value, depth)) &&
       (size < options->min_walk_size ||
        !(options->walk_every_container || may_hold_bulk (type_string)))))
    return g_variant_is_normal_form (value);

  return container_is_normal (value, depth, options);
}

/* g_variant_is_normal_form(), without its cost in GLib 2.74 for arrays of
 * fixed-size items. */
gboolean
p_variant_is_normal_form (GVariant *value)
{
  return variant_is_normal (value, 0, &default_options);
}

/* The same for @value found @depth levels down in a message (GLib limits
 * the depth of the whole); NULL @options for the usual ones. */
gboolean
p_variant_is_normal_form_full (GVariant           *value,
                               guint               depth,
                               const PWalkOptions *options)
{
  return variant_is_normal (value, depth, options != NULL ? options : &default_options);
}

/* The normal form of @value, a new reference: free for trusted values,
 * those built here or received. */
GVariant *
p_variant_dup_normal_form (GVariant *value)
{
  const char *type_string = g_variant_get_type_string (value);

  /* Any number is (GLib reads a short one as zero, and so does
   * writer_value()): only a boolean can be 2. */
  if (type_string[1] == '\0' && type_string[0] != 'b' && p_variant_basic_size (type_string[0]) > 0)
    return g_variant_ref (value);

  return p_variant_is_normal_form (value) ? g_variant_ref (value) : g_variant_get_normal_form (value);
}

/* Whether @value reaches more than @levels levels down, itself included:
 * by its type, or where it holds variants, by what they hold. It never
 * looks further down than @levels. */
static gboolean
value_deeper_than (GVariant *value,
                   gsize     levels)
{
  gsize n_children;

  if (levels == 0)
    return TRUE;
  if (strchr (g_variant_get_type_string (value), 'v') == NULL)
    return p_variant_type_depth (g_variant_get_type (value), FALSE) > levels;

  n_children = g_variant_n_children (value);
  for (gsize i = 0; i < n_children; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (value, i);

      if (value_deeper_than (child, levels - 1))
        return TRUE;
    }

  return FALSE;
}

/* Fails if @value, placed at @depth in a message, would nest deeper than
 * GLib reads (G_VARIANT_MAX_RECURSION_DEPTH): the receiver would refuse
 * the whole message as not in normal form. Cheap unless @value holds
 * variants. */
gboolean
p_variant_check_depth (GVariant  *value,
                       gsize      depth,
                       GError   **error)
{
  const char *type_string = g_variant_get_type_string (value);

  g_assert (depth < P_VARIANT_MAX_DEPTH);

  /* The usual case, a number or a string, at once. */
  if (G_LIKELY ((type_string[1] == '\0' && type_string[0] != 'v') ||
                !value_deeper_than (value, P_VARIANT_MAX_DEPTH - depth)))
    return TRUE;

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               _("A value of type “%s” nests deeper than a message can carry (GVariant reads %d levels)"),
               type_string, P_VARIANT_MAX_DEPTH);
  return FALSE;
}

