/* normal-form-oracle.c: what normal form is, by GLib's own serializer
 *
 * The tests and the fuzz target hold p_variant_is_normal_form() to this.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "normal-form-oracle.h"

/* A copy made of new values, which GLib serializes in normal form. */
static GVariant *
tree_copy (GVariant *value)
{
  const GVariantType *type = g_variant_get_type (value);
  g_autofree GVariant **children = NULL;
  GVariant *copy = NULL;
  gsize n;

  if (!g_variant_is_container (value))
    {
      g_autoptr(GBytes) bytes = g_variant_get_data_as_bytes (value);
      return g_variant_new_from_bytes (type, bytes, TRUE);
    }

  n = g_variant_n_children (value);
  children = g_new (GVariant *, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (value, i);
      children[i] = g_variant_ref_sink (tree_copy (child));
    }

  switch (g_variant_type_peek_string (type)[0])
    {
    case 'v': copy = g_variant_new_variant (children[0]); break;
    case 'm': copy = g_variant_new_maybe (g_variant_type_element (type), n ? children[0] : NULL); break;
    case 'a': copy = g_variant_new_array (g_variant_type_element (type), children, n); break;
    case '(': copy = g_variant_new_tuple (children, n); break;
    case '{': copy = g_variant_new_dict_entry (children[0], children[1]); break;
    default: g_assert_not_reached ();
    }

  for (gsize i = 0; i < n; i++)
    g_variant_unref (children[i]);

  return copy;
}

/* As the frame reader does: zeros after the data, for GLib 2.74's reads
 * past the end of malformed tuples. */
GBytes *
normal_form_with_slack (GBytes *bytes)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  guint8 *copy = g_malloc0 (size + 8);

  if (size > 0)
    memcpy (copy, data, size);
  return g_bytes_new_take (copy, size);
}

/* GLib accepts it, and it is what serializing its value gives. (GLib 2.74
 * accepts a few byte strings its own serializer never writes, such as no
 * bytes at all for a tuple of empty arrays, which needs its framing
 * offsets; our check refuses those.) */
gboolean
normal_form_oracle (const GVariantType *type,
                    GBytes             *unpadded)
{
  g_autoptr(GBytes) bytes = normal_form_with_slack (unpadded);
  g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new_from_bytes (type, bytes, FALSE));
  g_autoptr(GVariant) untrusted = g_variant_ref_sink (g_variant_new_from_bytes (type, bytes, FALSE));
  g_autoptr(GVariant) copy = NULL;
  g_autoptr(GBytes) reserialized = NULL;

  if (!g_variant_is_normal_form (value))
    return FALSE;

  /* Copied from a value GLib does not trust yet, whose children it gives
   * as a reader of the message would get them. This matters once: for a
   * variant whose child's type is deeper than GLib's limit (129 at most),
   * GLib 2.74's check of normal form computes "limit - depth" unsigned, so
   * it wraps around and passes, while g_variant_get_child_value() gives a
   * unit tuple in the child's place. Our check refuses such a value. */
  copy = g_variant_ref_sink (tree_copy (untrusted));
  reserialized = g_variant_get_data_as_bytes (copy);

  return g_bytes_equal (reserialized, bytes);
}
