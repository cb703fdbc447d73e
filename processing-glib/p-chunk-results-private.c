/* p-chunk-results-private.c: a map chunk's results, gathered by the
 * worker and joined by the pool
 *
 * A chunk's results travel as an "aT" when they all have one type T, so
 * that the pool checks and reads them without a variant around each (an
 * "ax" of a million squares is checked in constant time); otherwise as an
 * "av".
 *
 * Copyright 2026 The processing-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "p-chunk-results-private.h"
#include "p-frame-private.h"
#include "p-normal-form-private.h"
#include "p-variant-layout-private.h"

/* {{{ Gathering a chunk's results, in the worker
 *
 * Results of one fixed-size type, the common case (numbers, tuples of
 * numbers), are packed into an "aT" at once and their GVariants dropped:
 * the worker then frees each result in the iteration that made it, from
 * the allocator's warm caches, rather than a chunk's worth at the end, and
 * the frame is written with one copy. Anything else is kept as given.
 */

struct _PChunkResults
{
  gsize n_values;
  GVariantType *packed_type;   /* the fixed-size type of every result so far, */
  gsize packed_size;           /* its size, */
  gboolean packed_any_bytes;   /* whether any bytes of that size are normal, */
  GByteArray *packed;          /* their serializations end to end; */
  GPtrArray *values;           /* or the results as given */
};

PChunkResults *
p_chunk_results_new (void)
{
  PChunkResults *self = g_new0 (PChunkResults, 1);

  self->values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  return self;
}

void
p_chunk_results_free (PChunkResults *self)
{
  g_clear_pointer (&self->packed_type, g_variant_type_free);
  g_clear_pointer (&self->packed, g_byte_array_unref);
  g_ptr_array_unref (self->values);
  g_free (self);
}

gsize
p_chunk_results_get_count (PChunkResults *self)
{
  return self->n_values;
}

/* The results so far as an "aT" sharing their packed bytes, when they are
 * all of one fixed-size type T; else NULL. */
GVariant *
p_chunk_results_dup_packed (PChunkResults *self)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GVariantType) array_type = NULL;

  if (self->packed_type == NULL)
    return NULL;

  bytes = g_bytes_new_with_free_func (self->packed->data, self->packed->len,
                                      (GDestroyNotify) g_byte_array_unref,
                                      g_byte_array_ref (self->packed));
  array_type = g_variant_type_new_array (self->packed_type);

  return g_variant_ref_sink (g_variant_new_from_bytes (array_type, bytes, TRUE));
}

/* The results as given, when they are not packed. */
GVariant **
p_chunk_results_peek_values (PChunkResults *self)
{
  g_assert (self->packed_type == NULL);

  return (GVariant **) self->values->pdata;
}

/* The packed results become GVariants again: a result of another type came. */
static void
chunk_results_unpack (PChunkResults *self)
{
  g_autoptr(GBytes) all = g_byte_array_free_to_bytes (g_steal_pointer (&self->packed));
  g_autoptr(GVariantType) type = g_steal_pointer (&self->packed_type);
  gsize alignment, size;

  self->packed_any_bytes = FALSE;

  p_variant_type_layout (type, &alignment, &size);

  for (gsize i = 0; i < self->n_values; i++)
    {
      g_autoptr(GBytes) slice = g_bytes_new_from_bytes (all, i * size, size);

      g_ptr_array_add (self->values, g_variant_ref_sink (g_variant_new_from_bytes (type, slice, TRUE)));
    }
}

/* Adds @value, taking its reference, floating or not. */
gboolean
p_chunk_results_add (PChunkResults  *self,
                     GVariant       *value,
                     GError        **error)
{
  g_autoptr(GVariant) owned = g_variant_take_ref (value);
  const GVariantType *type = g_variant_get_type (owned);

  /* A number like the ones before: its bytes, at once (one lock of the
   * value rather than one per accessor, no type comparison). */
  if (self->packed_any_bytes && g_variant_type_peek_string (type)[0] == g_variant_type_peek_string (self->packed_type)[0])
    {
      gsize end = self->packed->len;

      g_byte_array_set_size (self->packed, end + self->packed_size);
      g_variant_store (owned, self->packed->data + end);
      self->n_values++;
      return TRUE;
    }

  /* Results go in an array in the body's variant, each in a variant of
   * its own if their types differ: four levels down at most. */
  if (!p_variant_check_depth (owned, 4, error))
    return FALSE;

  if (self->n_values == 0)
    {
      gsize alignment, fixed_size;

      p_variant_type_layout (type, &alignment, &fixed_size);
      if (fixed_size > 0)
        {
          self->packed_type = g_variant_type_copy (type);
          self->packed_size = fixed_size;
          /* Numbers: no normal form to check, that is most of the cost. */
          self->packed_any_bytes = g_variant_type_is_basic (type) &&
                                   !g_variant_type_equal (type, G_VARIANT_TYPE_BOOLEAN);
          self->packed = g_byte_array_new ();
        }
    }
  else if (self->packed_type != NULL && !g_variant_type_equal (type, self->packed_type))
    chunk_results_unpack (self);

  if (self->packed_type != NULL && self->packed_any_bytes)
    {
      g_byte_array_set_size (self->packed, self->packed_size);
      g_variant_store (owned, self->packed->data);
    }
  else if (self->packed_type != NULL)
    {
      g_autoptr(GVariant) normal = p_variant_dup_normal_form (owned);

      g_byte_array_append (self->packed, g_variant_get_data (normal), g_variant_get_size (normal));
    }
  else
    g_ptr_array_add (self->values, g_steal_pointer (&owned));

  self->n_values++;
  return TRUE;
}

/* }}} */
/* {{{ Reading and joining them, in the pool */

/* The type every one of @values has, unless it is "v" (an "av" holds
 * boxed values); NULL when they differ or there are none. */
const GVariantType *
p_variant_common_type (GVariant **values,
                       gsize      n_values)
{
  const GVariantType *type = n_values > 0 ? g_variant_get_type (values[0]) : NULL;

  for (gsize i = 1; i < n_values && type != NULL; i++)
    if (!g_variant_type_equal (g_variant_get_type (values[i]), type))
      type = NULL;

  if (type != NULL && g_variant_type_equal (type, G_VARIANT_TYPE_VARIANT))
    return NULL;

  return type;
}

/* The @index-th value of a chunk's results ("av" or "aT"). */
GVariant *
p_chunk_values_get (GVariant *values,
                    gsize     index)
{
  GVariant *child = g_variant_get_child_value (values, index);
  GVariant *value;

  if (!g_variant_is_of_type (values, G_VARIANT_TYPE ("av")))
    return child;

  value = g_variant_get_variant (child);
  g_variant_unref (child);

  return value;
}


/* How p_variant_join_boxed() reads one of its arrays. */
typedef struct
{
  GVariant *array;
  gsize n_items;
  const guint8 *data;      /* of a fixed-size array, read in place */
  gsize fixed_size;
  const char *item_type;   /* NULL: items are variants already */
  gsize item_type_length;
} JoinSource;

/* The @index-th item's bytes; @hold keeps them alive when needed. */
static const guint8 *
join_item (const JoinSource  *source,
           gsize              index,
           gsize             *size,
           GVariant         **hold)
{
  if (source->fixed_size > 0)
    {
      *size = source->fixed_size;
      *hold = NULL;
      return source->data + index * source->fixed_size;
    }

  *hold = g_variant_get_child_value (source->array, index);
  *size = g_variant_get_size (*hold);
  return g_variant_get_data (*hold);
}

/* Zeros up to the next item's 8-alignment; its offset. */
static inline gsize
join_pad (guint8 *data,
          gsize   end)
{
  gsize aligned = p_align_up (end, 8);

  memset (data + end, 0, aligned - end);
  return aligned;
}

/* Items [0, @n) of an array of fixed-size numbers, each boxed: its bytes,
 * a zero byte, its type, and zeros up to the next 8-alignment (written
 * whole: the next item, or the caller, writes over what lies past it). */
static gsize
join_numbers (guint8           *data,
              gsize             end,
              const JoinSource *source,
              gsize             n,
              guint8           *offsets,
              gsize             offset_size)
{
  gsize size = source->fixed_size;
  gsize stride = p_align_up (size + 2, 8);
  guint8 tail[8] = { 0, source->item_type[0] };

  for (gsize i = 0; i < n; i++, offsets += offset_size)
    {
      memcpy (data + end, source->data + i * size, size);
      memcpy (data + end + size, tail, stride - size);
      p_variant_write_offset (offsets, end + size + 2, offset_size);
      end += stride;
    }

  return end;
}

/* The same for 8-byte numbers, the usual case, with stores of a known size. */
static gsize
join_numbers_8 (guint8           *data,
                gsize             end,
                const JoinSource *source,
                gsize             n,
                guint8           *offsets,
                gsize             offset_size)
{
  guint8 tail[8] = { 0, source->item_type[0] };

  for (gsize i = 0; i < n; i++, offsets += offset_size)
    {
      memcpy (data + end, source->data + i * 8, 8);
      memcpy (data + end + 8, tail, 8);
      p_variant_write_offset (offsets, end + 10, offset_size);
      end += 16;
    }

  return end;
}

static GVariant *
join_tree (GVariant **boxed,
           gsize      n_items)
{
  GVariant *array = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARIANT, boxed, n_items));

  for (gsize i = 0; i < n_items; i++)
    g_variant_unref (boxed[i]);

  return array;
}

/* One "av" of every item of @arrays, each boxed in a variant ("av" items
 * are variants already): a map's result. Small items are serialized here
 * rather than built from a million GVariants; large ones stay where they
 * were received, referenced by a tree of GVariants that GLib serializes
 * only if someone asks for its bytes. Trusted arrays only. */
GVariant *
p_variant_join_boxed (GVariant **arrays,
                      guint      n_arrays)
{
  g_autofree JoinSource *sources = g_new0 (JoinSource, MAX (n_arrays, 1));
  gsize end = 0, n_items = 0, size, offset_size, k = 0;
  guint8 *data, *offsets;

  for (guint a = 0; a < n_arrays; a++)
    {
      const char *array_type = g_variant_get_type_string (arrays[a]);

      sources[a].array = arrays[a];
      sources[a].n_items = g_variant_n_children (arrays[a]);
      if (array_type[2] == '\0' && p_variant_basic_size (array_type[1]) > 0)
        {
          sources[a].fixed_size = p_variant_basic_size (array_type[1]);
          sources[a].data = g_variant_get_data (arrays[a]);
        }
      if (strcmp (array_type, "av") != 0)
        {
          sources[a].item_type = array_type + 1;
          sources[a].item_type_length = strlen (array_type + 1);
        }
      n_items += sources[a].n_items;
    }

  if (n_items == 0)
    return g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARIANT, NULL, 0));

  /* Where everything goes: items 8-aligned, each followed by its type. */
  for (guint a = 0; a < n_arrays; a++)
    {
      if (sources[a].fixed_size > 0 && sources[a].n_items > 0)
        {
          gsize span = sources[a].fixed_size + 1 + sources[a].item_type_length;

          end = p_align_up (end, 8) + (sources[a].n_items - 1) * p_align_up (span, 8) + span;
          continue;
        }

      for (gsize i = 0; i < sources[a].n_items; i++)
        {
          /* Its size only: a sealed result's box is not serialized, and
           * asking for its bytes would copy it. */
          g_autoptr(GVariant) item = g_variant_get_child_value (sources[a].array, i);
          gsize item_size = g_variant_get_size (item);

          end = p_align_up (end, 8) + item_size + (sources[a].item_type != NULL ? 1 + sources[a].item_type_length : 0);
        }
    }

  if (end / n_items >= P_FRAME_SHARE_THRESHOLD)
    {
      g_autofree GVariant **boxed = g_new (GVariant *, n_items);

      for (guint a = 0; a < n_arrays; a++)
        for (gsize i = 0; i < sources[a].n_items; i++)
          {
            g_autoptr(GVariant) item = g_variant_get_child_value (sources[a].array, i);

            boxed[k++] = sources[a].item_type != NULL ? g_variant_ref_sink (g_variant_new_variant (item))
                                                      : g_steal_pointer (&item);
          }

      return join_tree (boxed, n_items);
    }

  size = p_variant_container_size (end, n_items);
  offset_size = p_variant_offset_size (size);
  /* Not zeroed: what is written covers it, padding included. */
  data = g_malloc (size);
  offsets = data + size - n_items * offset_size;

  end = 0;
  for (guint a = 0; a < n_arrays; a++)
    {
      const JoinSource *source = &sources[a];

      /* Numbers, most often: a million of them in a map. */
      if (source->fixed_size > 0 && source->n_items > 0)
        {
          gsize last = k + source->n_items - 1 == n_items - 1 ? source->n_items - 1 : source->n_items;

          end = join_pad (data, end);
          if (source->fixed_size == 8)
            end = join_numbers_8 (data, end, source, last, offsets + k * offset_size, offset_size);
          else
            end = join_numbers (data, end, source, last, offsets + k * offset_size, offset_size);

          /* The very last item: exactly its bytes, the offsets follow. */
          if (last < source->n_items)
            {
              memcpy (data + end, source->data + last * source->fixed_size, source->fixed_size);
              end += source->fixed_size;
              data[end++] = '\0';
              data[end++] = source->item_type[0];
              p_variant_write_offset (offsets + (k + last) * offset_size, end, offset_size);
            }
          k += source->n_items;
          continue;
        }

      for (gsize i = 0; i < source->n_items; i++)
        {
          g_autoptr(GVariant) hold = NULL;
          gsize item_size;
          const guint8 *item = join_item (source, i, &item_size, &hold);

          end = join_pad (data, end);
          if (item_size > 0)
            memcpy (data + end, item, item_size);
          end += item_size;
          if (source->item_type != NULL)
            {
              data[end++] = '\0';
              memcpy (data + end, source->item_type, source->item_type_length);
              end += source->item_type_length;
            }

          p_variant_write_offset (offsets + k * offset_size, end, offset_size);
          k++;
        }
    }

  return g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("av"), data, size, TRUE, g_free, data));
}

/* }}} */
