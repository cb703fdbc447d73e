/* p-variant-layout-private.c: how GVariant lays out a serialized value
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "p-variant-layout-private.h"

/* Alignment and fixed size (0: variable) of a type, as the specification
 * defines them. */
void
p_variant_type_layout (const GVariantType *type,
                       gsize              *alignment,
                       gsize              *fixed_size)
{
  const char *type_string = g_variant_type_peek_string (type);

  switch (type_string[0])
    {
    case 's': case 'o': case 'g':
      *alignment = 1;
      *fixed_size = 0;
      return;

    case 'v':
      *alignment = 8;
      *fixed_size = 0;
      return;

    case 'a': case 'm':
      p_variant_type_layout (g_variant_type_element (type), alignment, fixed_size);
      *fixed_size = 0;
      return;

    case '(': case '{':
      {
        gsize offset = 0;
        gboolean fixed = TRUE;

        *alignment = 1;
        for (const GVariantType *member = g_variant_type_first (type);
             member != NULL;
             member = g_variant_type_next (member))
          {
            gsize member_alignment, member_size;

            p_variant_type_layout (member, &member_alignment, &member_size);
            *alignment = MAX (*alignment, member_alignment);
            fixed = fixed && member_size > 0;
            offset = p_align_up (offset, member_alignment) + member_size;
          }

        *fixed_size = fixed ? MAX (p_align_up (offset, *alignment), 1) : 0;
      }
      return;

    default:
      *alignment = *fixed_size = p_variant_basic_size (type_string[0]);
      return;
    }
}

/* How deep a value of this type nests: 1 for a basic type or a variant,
 * one more per container around its deepest member. That is how many
 * levels GLib checks against its limit. With @as_glib_type_depth, it counts
 * as GLib does a variant's child's type (g_variant_type_string_get_depth_()),
 * where the unit tuple is 0 deep and a dictionary entry's key is left out. */
gsize
p_variant_type_depth (const GVariantType *type,
                      gboolean            as_glib_type_depth)
{
  const char *type_string = g_variant_type_peek_string (type);
  gsize deepest = 0;
  gboolean no_member = TRUE;

  switch (type_string[0])
    {
    case 'a': case 'm':
      return 1 + p_variant_type_depth (g_variant_type_element (type), as_glib_type_depth);

    case '(': case '{':
      for (const GVariantType *member = g_variant_type_first (type);
           member != NULL;
           member = g_variant_type_next (member))
        if (!as_glib_type_depth || type_string[0] == '(' || member != g_variant_type_first (type))
          {
            /* Not in MAX(), which would recurse twice: 2^depth calls. */
            gsize member_depth = p_variant_type_depth (member, as_glib_type_depth);

            deepest = MAX (deepest, member_depth);
            no_member = FALSE;
          }
      return as_glib_type_depth && no_member ? 0 : 1 + deepest;

    default:
      return 1;
    }
}
